package detect

import (
	"bytes"
	"math"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Shared per-player state: what the server told the client that changes how
// far and how fast the player may move or reach — effects, attributes and
// pushes (entity velocity and explosions for the player's own entity). The
// movement and interaction families read it; clientboundKinetics writes it.
//
// Every change is bound to the acknowledgement clock the way serverCaps is
// (docs/DETECTIONS.md, "The acknowledgement clock"): a new value counts as
// soon as it is sent (the client may already use it), the old one until the
// first probe sent after the change is answered (the client may not have it
// yet). Uncertainty widens what is accepted.

// Effects the movement bounds know (pre-1.20.5 ids; from 1.20.5 the
// registry ids are one less).
const (
	effectSpeed         = 1
	effectSlowness      = 2
	effectJumpBoost     = 8
	effectLevitation    = 25
	effectSlowFalling   = 28
	effectDolphinsGrace = 30
)

// trackedEffect indexes kinetics.effects.
type trackedEffect uint8

const (
	teSpeed trackedEffect = iota
	teJumpBoost
	teLevitation
	teSlowFalling
	teDolphinsGrace
	teSlowness // movement prediction (movement_predict.go)
	numTrackedEffects
)

func trackEffect(id, protocol int32) (trackedEffect, bool) {
	if protocol >= mcproto.Protocol1_20_5 {
		id++
	}
	switch id {
	case effectSpeed:
		return teSpeed, true
	case effectJumpBoost:
		return teJumpBoost, true
	case effectLevitation:
		return teLevitation, true
	case effectSlowFalling:
		return teSlowFalling, true
	case effectDolphinsGrace:
		return teDolphinsGrace, true
	case effectSlowness:
		return teSlowness, true
	}
	return 0, false
}

// Attributes the bounds read. Before 1.20.5 only the movement speed is an
// attribute a server can change; the others are fixed (step height 0.6,
// gravity 0.08, scale 1, jump 0.42, block reach 4.5/5).
type trackedAttr uint8

const (
	taMovementSpeed trackedAttr = iota
	taStepHeight
	taGravity
	taScale
	taJumpStrength
	taBlockReach
	numTrackedAttrs
)

// Vanilla attribute defaults (Attributes, Player.createAttributes).
const (
	defaultMovementSpeed = 0.1 // player base walking speed
	defaultStepHeight    = 0.6
	defaultGravity       = 0.08
	defaultScale         = 1.0
	defaultJumpStrength  = 0.42
	defaultBlockReach    = 4.5
	// sprintSpeedFactor is vanilla's sprint modifier (+30 % of base).
	sprintSpeedFactor = 1.3
	// maxAttributeValue bounds a tracked attribute: the largest maximum
	// of the tracked attributes (movement speed 1024).
	maxAttributeValue = 1024
)

var attrDefaults = [numTrackedAttrs]float64{defaultMovementSpeed, defaultStepHeight, defaultGravity, defaultScale, defaultJumpStrength, defaultBlockReach}

// attrRegistryIDs are the registry ids of the tracked attributes from
// 1.20.5, by protocol range (the registry is alphabetical and grew twice).
// A newer protocol than the table knows makes every attribute update for
// the player unknown (kinetics.unknownAttrs).
func attrRegistryIDs(protocol int32) ([numTrackedAttrs]int32, bool) {
	switch {
	case protocol < mcproto.Protocol1_20_5:
		return [numTrackedAttrs]int32{}, false
	case protocol < mcproto.Protocol1_21:
		return [numTrackedAttrs]int32{17, 21, 11, 19, 12, 6}, true
	case protocol < mcproto.Protocol1_21_6:
		return [numTrackedAttrs]int32{21, 27, 13, 24, 14, 6}, true
	case protocol <= mcproto.Protocol26_1:
		return [numTrackedAttrs]int32{22, 28, 14, 25, 15, 6}, true
	}
	return [numTrackedAttrs]int32{}, false
}

// settling is a value bound to the clock: cur is the latest the server
// sent; lo..hi spans the values before it that still count until probe
// seq is answered.
type settling struct {
	cur, lo, hi float64
	seq         uint32
}

func settled(v float64) settling { return settling{cur: v, lo: v, hi: v} }

func (s *settling) set(v float64, seq uint32, acked uint32) {
	if v == s.cur {
		return
	}
	if acked >= s.seq {
		s.lo, s.hi = s.cur, s.cur
	}
	s.lo, s.hi = min(s.lo, s.cur), max(s.hi, s.cur)
	s.cur, s.seq = v, seq
}

func (s *settling) max(acked uint32) float64 {
	if acked < s.seq {
		return max(s.cur, s.hi)
	}
	return s.cur
}

func (s *settling) min(acked uint32) float64 {
	if acked < s.seq {
		return min(s.cur, s.lo)
	}
	return s.cur
}

// Pushes: velocity the server gives the player.
const (
	// unknownPush is the speed (blocks per tick) assumed for a push the
	// edge cannot decode (explosions, the 1.21.9+ velocity vector): more
	// than the largest short-encoded velocity (32767/8000 ≈ 4.1).
	unknownPush = 10
	// pushGrace is how long a push keeps excusing movement after the
	// first probe sent after it is answered: knockback decays ×0.91 per
	// tick in the air, to 15 % in 20 ticks.
	pushGrace = time.Second
	// riptideSpeed is the launch speed of Riptide III (3 × (1+3)/4 blocks
	// per tick); riptideGrace how long after a release a launch excuses.
	riptideSpeed = 3.0
	riptideGrace = 1500 * time.Millisecond
)

// push is the largest velocity the server gave the player that the client
// may still be applying.
type push struct {
	h, up   float64   // horizontal and upward speed, blocks per tick
	seq     uint32    // first probe after the latest push
	settled time.Time // when its answer was seen (zero: not yet)
}

func (k *push) add(h, up float64, seq uint32, now time.Time) {
	if !k.active(0, now) {
		k.h, k.up = 0, 0
	}
	k.h, k.up = max(k.h, h), max(k.up, up)
	k.seq, k.settled = seq, time.Time{}
}

// active reports whether the push may still move the player.
func (k *push) active(acked uint32, now time.Time) bool {
	if k.seq == 0 && k.settled.IsZero() {
		return false
	}
	if acked < k.seq {
		return true
	}
	if k.settled.IsZero() {
		k.settled = now
	}
	return now.Sub(k.settled) < pushGrace
}

// kinetics is the shared state itself (on Player.kin).
type kinetics struct {
	effects [numTrackedEffects]settling // level (amplifier+1), 0: none
	attrs   [numTrackedAttrs]settling
	push    push
	// unknownAttrs: an attribute update for the player that the edge
	// could not read; the movement bounds stand down until the next one
	// it can.
	unknownAttrs bool
}

func (k *kinetics) reset() {
	*k = kinetics{}
	for i := range k.attrs {
		k.attrs[i] = settled(attrDefaults[i])
	}
}

// effect is the highest level (amplifier + 1) of an effect the client may
// have; 0 when none.
func (p *Player) effect(e trackedEffect) float64 { return p.kin.effects[e].max(p.clock.acked) }

// attrHi and attrLo bound an attribute's value on the client.
func (p *Player) attrHi(a trackedAttr) float64 { return p.kin.attrs[a].max(p.clock.acked) }
func (p *Player) attrLo(a trackedAttr) float64 { return p.kin.attrs[a].min(p.clock.acked) }

// pushActive reports a velocity the client may still be applying, with its
// horizontal and upward speeds.
func (p *Player) pushActive(now time.Time) (h, up float64, ok bool) {
	if !p.kin.push.active(p.clock.acked, now) {
		return 0, 0, false
	}
	return p.kin.push.h, p.kin.push.up, true
}

// clientboundKinetics updates kinetics from a server packet addressed to
// the player's own entity.
func (p *Player) clientboundKinetics(pk *clientPacket) {
	proto, seq, acked := p.info.Protocol, p.clock.nextSeq, p.clock.acked
	self := func(id int32) bool { return p.self.haveEntityID && id == p.self.entityID }
	switch pk.kind {
	case packets.KindJoinGame, packets.KindRespawn:
		// A new client player: effects and attributes are sent again.
		// Until the new ones settle the old still count.
		for i := range p.kin.effects {
			p.kin.effects[i].set(0, seq, acked)
		}
	case packets.KindEntityVelocity:
		v, err := packets.DecodeEntityVelocity(pk.data, proto)
		if err != nil || !self(v.EntityID) {
			return
		}
		h, up := float64(unknownPush), float64(unknownPush)
		if v.Known {
			h, up = math.Hypot(v.X, v.Z), max(v.Y, 0)
		}
		p.kin.push.add(h, up, seq, pk.now)
		pk.push = h
	case packets.KindExplosion:
		// Every layout carries the knockback for the receiving player;
		// the edge does not decode them (they changed four times).
		p.kin.push.add(unknownPush, unknownPush, seq, pk.now)
		pk.push = unknownPush
	case packets.KindEntityEffect:
		e, err := packets.DecodeEntityEffect(pk.data, proto)
		if err != nil || !self(e.EntityID) {
			return
		}
		if t, ok := trackEffect(e.EffectID, proto); ok {
			p.kin.effects[t].set(float64(e.Amplifier)+1, seq, acked)
		}
	case packets.KindRemoveEntityEffect:
		e, err := packets.DecodeRemoveEntityEffect(pk.data, proto)
		if err != nil || !self(e.EntityID) {
			return
		}
		if t, ok := trackEffect(e.EffectID, proto); ok {
			p.kin.effects[t].set(0, seq, acked)
		}
	case packets.KindEntityAttributes:
		p.attributes(pk, seq, acked)
	}
}

// attributes reads an attribute update for the player's own entity. What
// it cannot read (a layout or registry it does not know) widens every
// tracked attribute to its maximum until the next update.
func (p *Player) attributes(pk *clientPacket, seq, acked uint32) {
	proto := p.info.Protocol
	r := packets.NewAttributeReader(pk.data, proto)
	if r.Err() != nil || !p.self.haveEntityID || r.EntityID != p.self.entityID {
		return
	}
	ids, haveIDs := attrRegistryIDs(proto)
	p.kin.unknownAttrs = proto >= mcproto.Protocol1_20_5 && !haveIDs
	for {
		a, ok := r.Next()
		if !ok {
			break
		}
		v := min(max(a.Value, 0), maxAttributeValue)
		if proto < mcproto.Protocol1_20_5 {
			if bytes.HasSuffix(a.Key, []byte("movement_speed")) || bytes.HasSuffix(a.Key, []byte("movementSpeed")) {
				p.kin.attrs[taMovementSpeed].set(v, seq, acked)
			}
			continue
		}
		for i, id := range ids {
			if a.ID == id {
				p.kin.attrs[i].set(v, seq, acked)
			}
		}
	}
	if r.Err() != nil {
		p.kin.unknownAttrs = true
	}
}

package detect

import (
	"net/netip"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Recorder keeps a session's packet stream as evidence (edge/internal/record
// implements it). It sees exactly what the engine sees, so replaying a
// recording through an engine reproduces its detections.
type Recorder interface {
	// Packet records one packet the engine received.
	Packet(dir mcproto.Direction, st mcproto.State, kind packets.Kind, data []byte, inflated int, now time.Time)
	// Flagged is called after each detection event, so a recorder that
	// records only on detection can keep what led up to it.
	Flagged(now time.Time)
	// Probed marks that the engine sent a probe at now; replay calls Probe
	// at the same points so the client's recorded answers match.
	Probed(now time.Time)
	// Close ends the recording when the connection ends.
	Close() error
}

// RecorderFactory decides per player whether to record, returning nil for
// no recording.
type RecorderFactory func(info PlayerInfo) Recorder

// PlayerInfo identifies a connection to the engine.
type PlayerInfo struct {
	Protocol int32
	Name     string
	// UUID is the player's UUID. Unless Authenticated, NewPlayer replaces
	// it with the offline UUID of Name (mcproto.OfflineUUID): the UUID a
	// client claims in Login Start is never trusted, and the offline UUID
	// is what an offline backend knows the player by.
	UUID string
	// Authenticated is true when the edge verified that the player owns
	// Name and UUID: an online-mode route, where the edge authenticated
	// the client against the session server (edge/internal/auth; false on
	// passthrough routes). It decides whether detection
	// events name an account and whether the ban action may ban the name
	// and UUID (BanTarget).
	Authenticated bool
	Addr          netip.AddrPort
	Session       string
	// Trace is the span context of the connection's mc.connect span
	// (invalid when the connection is not traced): detection spans link
	// to it.
	Trace trace.SpanContext
}

// withIdentity returns info with the UUID the engine may use: the one given
// when authenticated, the offline UUID of the name otherwise.
func (info PlayerInfo) withIdentity() PlayerInfo {
	if !info.Authenticated {
		info.UUID = ""
		if info.Name != "" {
			info.UUID = mcproto.OfflineUUID(info.Name).String()
		}
	}
	return info
}

// vlEntry is one check's violation level for one player. Players keep only
// the checks that flagged (usually none), so an honest player costs nothing.
type vlEntry struct {
	id   CheckID
	vl   float64
	last time.Time
}

// Player is the engine's view of one connection. It is used by the two relay
// goroutines of that connection under their own lock (conn serialises calls
// with a mutex), never concurrently.
type Player struct {
	e *Engine
	// pol is the policy this packet is judged by: the engine's current one,
	// loaded once at the start of each entry point (Serverbound,
	// Clientbound, Probe).
	pol   *Policy
	info  PlayerInfo
	table *packets.Table
	brand string

	// state both directions update, shared by the check families
	// (state.go)
	playSB, playCB bool // each leg is in play
	self           selfState
	teleports      teleportQueue
	riding         riding
	ticks          ticks
	kin            kinetics      // kinetics.go: effects, attributes, pushes
	setback        *setbackState // setback.go: the edge\'s own teleport in flight
	world          playerWorld   // world.go: the player's world replica, when the edge keeps one
	vls            []vlEntry
	kicked         bool
	rewrite        []byte // Verdict.Packet of a Rewrite, reused

	clock ackClock
	rec   Recorder // nil: not recording

	// The check families, each in its own file, named for what it
	// catches. Each keeps its own bookkeeping.
	floods      floodChecks       // floods.go: packet, byte and inflate rates, undecodable packets
	movement    movementChecks    // movement.go: impossible moves and rotations, flight claims, the position reminder
	prediction  *predictionChecks // movement_predict.go: vanilla physics against the player's world
	timer       timerChecks       // timer.go: the tick balance, probe and keep-alive answers
	combat      combatChecks      // combat.go: reach, hitbox, attack rate, swings
	interaction interactionChecks // interaction.go: digging, placing, item use, the held slot
	inventory   inventoryChecks   // inventory.go: clicks, creative actions, anvil names
	chat        chatChecks        // chat.go: chat, commands and tab-complete
	payloads    payloadChecks     // payloads.go: books, signs, plugin channels, brand, settings
}

// NewPlayer starts tracking a connection that reached login.
func (e *Engine) NewPlayer(info PlayerInfo) *Player {
	if info.Session == "" {
		info.Session = strconv.FormatUint(e.sessions.Add(1), 36)
	}
	info = info.withIdentity()
	p := &Player{e: e, pol: e.policy.Load(), info: info, table: packets.Lookup(info.Protocol)}
	p.clock.init(info.Protocol, p.table)
	p.kin.reset()
	if e.recorders != nil {
		p.rec = e.recorders(info)
	}
	return p
}

// Close ends the player's tracking (and its recording, if any).
func (p *Player) Close() error {
	if p.rec != nil {
		err := p.rec.Close()
		p.rec = nil
		return err
	}
	return nil
}

// Protocol is the player's protocol version.
func (p *Player) Protocol() int32 { return p.info.Protocol }

// Brand is the client brand, once sent.
func (p *Player) Brand() string { return p.brand }

// SetName records the name once Login Start is decoded; the UUID is kept
// only when the player is authenticated (PlayerInfo.UUID).
func (p *Player) SetName(name, uuid string) {
	p.info.Name, p.info.UUID = name, uuid
	p.info = p.info.withIdentity()
}

// serverPacket is one decoded serverbound packet. Only the field of its kind
// is filled; it lives on the stack of Serverbound.
type serverPacket struct {
	kind     packets.Kind
	state    mcproto.State
	data     []byte
	inflated int // bytes inflated to get this packet (0: it travelled raw)
	now      time.Time

	// Set by Player.classify before the checks run (state.go).
	tick           bool // a client tick: a movement packet (not a teleport answer or the duplicate) or a tick end
	timerTick      bool // the tick the timer counts (on 1.21.2+ clients that end ticks, one per tick end)
	teleportAnswer bool // a position+rotation answering a server teleport

	move      move
	useEntity packets.UseEntity
	action    packets.EntityAction
	slot      packets.HeldItemSlot
	abilities packets.Abilities
	settings  packets.ClientSettings
	plugin    packets.PluginMessage
	chat      packets.Chat
	command   packets.ChatCommand
	tab       packets.TabComplete
	book      packets.EditBook
	sign      packets.UpdateSign
	creative  packets.CreativeSlot
	click     packets.WindowClick
	dig       packets.BlockDig
	place     packets.BlockPlace
	useItem   packets.UseItem
	swing     packets.ArmAnimation
	keepAlive packets.KeepAlive
	teleport  packets.TeleportConfirm
	vehicle   packets.VehicleMove
	closeWin  packets.CloseWindow
	nameItem  packets.NameItem
}

// move is a movement packet of any of the four kinds, normalised.
type move struct {
	x, y, z    float64
	yaw, pitch float32
	hasPos     bool
	hasLook    bool
	onGround   bool
}

// Serverbound runs the checks on one client packet. data is the packet after
// its id; inflated is how many bytes were decompressed to get it (0 when the
// frame was not compressed).
func (p *Player) Serverbound(st mcproto.State, kind packets.Kind, data []byte, inflated int, now time.Time) Verdict {
	if p.kicked {
		return drop
	}
	p.follow()
	// Which state the client is in decides whether a probe can be sent
	// (play-state packets only). From 1.20.2 the client enters play when it
	// acknowledges Finish Configuration and leaves it when it acknowledges
	// Start Configuration.
	switch {
	case st == mcproto.StateConfiguration && kind == packets.KindFinishConfiguration:
		p.playSB = true
	case st == mcproto.StatePlay && kind == packets.KindConfigurationAcknowledged:
		p.playSB = false
	case st == mcproto.StatePlay:
		p.playSB = true
	}
	if p.rec != nil {
		p.rec.Packet(mcproto.Serverbound, st, kind, data, inflated, now)
	}
	pk := serverPacket{kind: kind, state: st, data: data, inflated: inflated, now: now}
	v := p.floods.serverbound(p, &pk)
	if v.Outcome == Kick {
		return v
	}
	if st != mcproto.StatePlay && st != mcproto.StateConfiguration {
		return v
	}
	if err := p.decodeServerbound(&pk); err != nil {
		return worse(v, p.flag(chkMalformed, 1, now, "kind", kind.String(), "error", err.Error()))
	}
	if own, pv := p.clock.serverbound(p, &pk); own {
		return worse(v, pv) // the answer to our own probe never reaches the backend
	}
	if own, sv := p.setbackServerbound(&pk); own {
		return worse(v, sv) // nor the answer to our own setback, nor a move before it
	}
	p.classify(&pk)
	v = worse(v, p.movement.serverbound(p, &pk))
	v = worse(v, p.interaction.serverbound(p, &pk))
	v = worse(v, p.inventory.serverbound(p, &pk))
	v = worse(v, p.timer.serverbound(p, &pk))
	v = worse(v, p.combat.serverbound(p, &pk))
	v = worse(v, p.chat.serverbound(p, &pk))
	v = worse(v, p.payloads.serverbound(p, &pk))
	p.apply(&pk)
	return p.setbackVerdict(v, now)
}

// decodeServerbound fills the field of pk's kind. Kinds without a decoder
// pass untouched: they still count toward the flood limits.
func (p *Player) decodeServerbound(pk *serverPacket) error {
	proto := p.info.Protocol
	var err error
	switch pk.kind {
	case packets.KindPlayerPosition:
		var m packets.PlayerPosition
		if m, err = packets.DecodePlayerPosition(pk.data, proto); err == nil {
			pk.move = move{x: m.X, y: m.Y, z: m.Z, hasPos: true, onGround: m.OnGround()}
		}
	case packets.KindPlayerPositionLook:
		var m packets.PlayerPositionLook
		if m, err = packets.DecodePlayerPositionLook(pk.data, proto); err == nil {
			pk.move = move{x: m.X, y: m.Y, z: m.Z, yaw: m.Yaw, pitch: m.Pitch, hasPos: true, hasLook: true, onGround: m.OnGround()}
		}
	case packets.KindPlayerLook:
		var m packets.PlayerLook
		if m, err = packets.DecodePlayerLook(pk.data, proto); err == nil {
			pk.move = move{yaw: m.Yaw, pitch: m.Pitch, hasLook: true, onGround: m.OnGround()}
		}
	case packets.KindPlayerOnGround:
		var m packets.PlayerOnGround
		if m, err = packets.DecodePlayerOnGround(pk.data, proto); err == nil {
			pk.move = move{onGround: m.OnGround()}
		}
	case packets.KindUseEntity:
		pk.useEntity, err = packets.DecodeUseEntity(pk.data, proto)
	case packets.KindEntityAction:
		pk.action, err = packets.DecodeEntityAction(pk.data, proto)
	case packets.KindHeldItemSlot:
		pk.slot, err = packets.DecodeHeldItemSlot(pk.data, proto)
	case packets.KindAbilities:
		pk.abilities, err = packets.DecodeAbilities(pk.data, proto)
	case packets.KindClientSettings:
		pk.settings, err = packets.DecodeClientSettings(pk.data, proto)
	case packets.KindPluginMessage:
		pk.plugin, err = packets.DecodePluginMessage(pk.data, proto)
	case packets.KindChat:
		pk.chat, err = packets.DecodeChat(pk.data, proto)
	case packets.KindChatCommand:
		pk.command, err = packets.DecodeChatCommand(pk.data, proto)
	case packets.KindChatCommandSigned:
		var c packets.ChatCommandSigned
		c, err = packets.DecodeChatCommandSigned(pk.data, proto)
		pk.command = packets.ChatCommand(c)
	case packets.KindTabComplete:
		pk.tab, err = packets.DecodeTabComplete(pk.data, proto)
	case packets.KindEditBook:
		pk.book, err = packets.DecodeEditBook(pk.data, proto)
	case packets.KindUpdateSign:
		pk.sign, err = packets.DecodeUpdateSign(pk.data, proto)
	case packets.KindCreativeSlot:
		pk.creative, err = packets.DecodeCreativeSlot(pk.data, proto)
	case packets.KindWindowClick:
		pk.click, err = packets.DecodeWindowClick(pk.data, proto)
	case packets.KindBlockDig:
		pk.dig, err = packets.DecodeBlockDig(pk.data, proto)
	case packets.KindBlockPlace:
		pk.place, err = packets.DecodeBlockPlace(pk.data, proto)
	case packets.KindUseItem:
		pk.useItem, err = packets.DecodeUseItem(pk.data, proto)
	case packets.KindArmAnimation:
		pk.swing, err = packets.DecodeArmAnimation(pk.data, proto)
	case packets.KindKeepAlive:
		pk.keepAlive, err = packets.DecodeKeepAlive(pk.data, proto)
	case packets.KindTeleportConfirm:
		pk.teleport, err = packets.DecodeTeleportConfirm(pk.data, proto)
	case packets.KindVehicleMove:
		pk.vehicle, err = packets.DecodeVehicleMove(pk.data, proto)
	case packets.KindCloseWindow:
		pk.closeWin, err = packets.DecodeCloseWindow(pk.data, proto)
	case packets.KindNameItem:
		pk.nameItem, err = packets.DecodeNameItem(pk.data, proto)
	}
	return err
}

// apply updates the shared state after every check has seen the packet, so
// checks compare the new packet with the previous state.
func (p *Player) apply(pk *serverPacket) {
	switch pk.kind {
	case packets.KindPlayerPosition, packets.KindPlayerPositionLook, packets.KindPlayerLook, packets.KindPlayerOnGround:
		m := &pk.move
		if m.hasPos {
			p.self.x, p.self.y, p.self.z, p.self.havePos = m.x, m.y, m.z, true
		}
		if m.hasLook {
			p.self.yaw, p.self.pitch, p.self.haveLook = m.yaw, m.pitch, true
		}
		p.self.onGround = m.onGround
	case packets.KindHeldItemSlot:
		p.self.heldSlot = pk.slot.Slot
	case packets.KindBlockDig, packets.KindBlockPlace:
		p.recordEdit(pk)
	case packets.KindPluginMessage:
		// The first brand that passes the brand rule names the client in
		// events; one that fails is client.brand's evidence, not a name.
		if p.brand == "" && packets.IsBrandChannel(pk.plugin.Channel, p.info.Protocol) {
			if b, err := packets.DecodeBrand(pk.plugin.Data); err == nil {
				p.brand = string(b)
			}
		}
	}
}

// clientPacket is one decoded clientbound packet.
type clientPacket struct {
	kind  packets.Kind
	state mcproto.State
	data  []byte
	now   time.Time

	teleport bool    // a position sync that decoded: a teleport the client must answer (set by clientboundState)
	push     float64 // horizontal speed of a push for the player's own entity (set by clientboundKinetics)
}

// WantClientbound reports whether the engine needs the whole packet of this
// clientbound kind (the relay then inflates it; other compressed packets are
// relayed after reading only their id).
func (p *Player) WantClientbound(st mcproto.State, kind packets.Kind) bool {
	if st != mcproto.StatePlay {
		return false
	}
	switch kind {
	case packets.KindStartConfiguration, packets.KindJoinGame, packets.KindRespawn, packets.KindGameStateChange, packets.KindPlayerAbilitiesClientbound,
		packets.KindSyncPlayerPosition, packets.KindKeepAlive, packets.KindPing, packets.KindTransaction,
		packets.KindSpawnEntity, packets.KindSpawnLivingEntity, packets.KindSpawnPlayer,
		packets.KindEntityRelMove, packets.KindEntityMoveLook, packets.KindEntityLook, packets.KindEntityTeleport,
		packets.KindEntityPositionSync, packets.KindEntityDestroy, packets.KindUpdateHealth, packets.KindHeldItemSlot,
		packets.KindEntityVelocity, packets.KindExplosion, packets.KindEntityEffect, packets.KindRemoveEntityEffect, packets.KindEntityAttributes,
		packets.KindOpenWindow, packets.KindOpenHorseWindow, packets.KindCloseWindow,
		packets.KindSetSlot, packets.KindWindowItems, packets.KindSetPlayerInventory:
		return true
	}
	return false
}

// Clientbound updates the player's state from a server packet and runs the
// checks that watch the server side. Server packets are never dropped for a
// detection; a malformed one is reported and ignored.
func (p *Player) Clientbound(st mcproto.State, kind packets.Kind, data []byte, now time.Time) Verdict {
	if st != mcproto.StatePlay {
		return pass
	}
	p.follow()
	if p.rec != nil {
		p.rec.Packet(mcproto.Clientbound, st, kind, data, 0, now)
	}
	p.playCB = kind != packets.KindStartConfiguration
	if p.info.Protocol < mcproto.Protocol1_20_2 {
		p.playSB = p.playCB // no configuration state: Login Success put both legs in play
	}
	pk := clientPacket{kind: kind, state: st, data: data, now: now}
	p.clientboundState(&pk)
	p.clientboundKinetics(&pk)
	p.movement.clientbound(p, &pk)
	p.interaction.clientbound(p, &pk)
	p.inventory.clientbound(p, &pk)
	p.timer.clientbound(p, &pk)
	p.combat.clientbound(p, &pk)
	if p.kicked {
		// A check watching the server side (a probe that timed out) kicked.
		return Verdict{Outcome: Kick, Reason: kickMessage}
	}
	return pass
}

// Probe appends a probe packet (id + data) to dst when one is due, for the
// relay to send to the client after the frames it is writing.
func (p *Player) Probe(now time.Time, dst []byte) []byte {
	if !p.playCB || !p.playSB || p.kicked {
		return dst
	}
	p.follow()
	n := len(dst)
	dst = p.clock.probe(now, dst)
	if p.rec != nil && len(dst) > n {
		p.rec.Probed(now)
	}
	return dst
}

// flag raises check id against the player: the violation level decays,
// grows by add, and the check's mode and action decide the verdict. details
// are key, value pairs of evidence.
func (p *Player) flag(id CheckID, add float64, now time.Time, details ...string) Verdict {
	c := &p.pol.checks[id]
	if !c.enabled {
		return pass
	}
	var ent *vlEntry
	for i := range p.vls {
		if p.vls[i].id == id {
			ent = &p.vls[i]
			break
		}
	}
	if ent == nil {
		p.vls = append(p.vls, vlEntry{id: id, last: now})
		ent = &p.vls[len(p.vls)-1]
	}
	if c.Decay > 0 {
		ent.vl -= c.Decay * now.Sub(ent.last).Seconds()
		if ent.vl < 0 {
			ent.vl = 0
		}
	}
	ent.vl += add
	ent.last = now

	action := detection.ActionAlert
	v := pass
	enforce := c.mode == ModeEnforce || (c.mode == ModeDefault && !c.Experimental)
	if enforce {
		if c.Action == detection.ActionRewrite {
			// The check fills in Verdict.Packet; without one the relay
			// forwards the packet unchanged.
			action, v = detection.ActionRewrite, Verdict{Outcome: Rewrite}
		}
		if c.Action >= detection.ActionDrop {
			action, v = detection.ActionDrop, drop
		}
		if c.Action == detection.ActionSetback {
			// Serverbound turns this into the edge's teleport (setback.go).
			action, v = detection.ActionSetback, Verdict{Outcome: Setback}
		}
		if c.Action >= detection.ActionKick && (c.KickVL == 0 || ent.vl >= c.KickVL) {
			action = c.Action
			v = Verdict{Outcome: Kick, Reason: kickMessage}
			p.kicked = true
		}
	}
	ev := &detection.Event{
		Schema: detection.SchemaVersion, Check: c.Key, Layer: c.Layer, Severity: c.Severity, Action: action,
		Experimental: c.Experimental, VL: ent.vl, Player: p.info.Name, UUID: p.info.UUID, Authenticated: p.info.Authenticated, Protocol: p.info.Protocol,
		Brand: p.brand, Region: p.e.region, Edge: p.e.instance, Session: p.info.Session, Time: now,
	}
	if p.info.Addr.IsValid() {
		ev.ClientAddr = p.info.Addr.Addr().String()
	}
	if len(details) > 0 {
		ev.Details = make(map[string]string, len(details)/2)
		for i := 0; i+1 < len(details); i += 2 {
			ev.Details[details[i]] = details[i+1]
		}
	}
	if action == detection.ActionBan && p.e.banner != nil {
		p.e.banner.BanPlayer(BanTarget{Name: p.info.Name, UUID: p.info.UUID, Addr: p.info.Addr.Addr(), Authenticated: p.info.Authenticated},
			banReason, "check:"+c.Key, p.pol.banDuration)
	}
	p.e.emit(ev, p.info.Trace)
	if p.rec != nil {
		p.rec.Flagged(now)
	}
	return v
}

// kickMessage is what a player kicked by a check reads. It does not name the
// check: that would tell a cheat developer which rule to dodge. Operators
// see the key in logs, metrics and traces.
const kickMessage = "Disconnected by RustGuard: your client sent packets a vanilla client cannot send"

// banReason is the reason a ban action stores, which the player reads on
// every refused login until it expires: like kickMessage, it does not name
// the check (the ban's source, "check:<key>", tells operators).
const banReason = "Banned by RustGuard: your client sent packets a vanilla client cannot send"

// on reports whether check id runs (so a check can skip its work).
func (p *Player) on(id CheckID) bool { return p.pol.checks[id].enabled }

// param is a check parameter (its default when not configured).
func (p *Player) param(id CheckID, name string) float64 { return p.pol.checks[id].params[name] }

// follow picks up the engine's current policy. A pointer compare per
// packet, no allocation; on a change the parameters layers resolved once
// are resolved again on their next use.
func (p *Player) follow() {
	if pol := p.e.policy.Load(); pol != p.pol {
		p.pol = pol
		p.movement.prm.loaded = false
		p.timer.prm.loaded = false
		p.combat.prm.loaded = false
	}
}

// takeRate spends n from b under the rate and window configured for check id.
func (p *Player) takeRate(id CheckID, b *bucket, n float64, now time.Time) bool {
	c := &p.pol.checks[id]
	return b.take(n, c.rate, c.window, now)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }
func itoa(i int64) string   { return strconv.FormatInt(i, 10) }

// enforcing reports whether check id's flags would take an action rather
// than only alert, so a check can drop quietly where a flag would be unfair.
func enforcing(p *Player, id CheckID) bool {
	c := &p.pol.checks[id]
	return c.enabled && c.Action >= detection.ActionDrop && (c.mode == ModeEnforce || c.mode == ModeDefault && !c.Experimental)
}

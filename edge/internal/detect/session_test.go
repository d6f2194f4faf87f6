package detect

import (
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The tests of every check family drive a Player through a session: one
// player on one protocol with a controlled clock, whose server packets let
// the edge inject its probes and whose probes the test answers like a
// client would. Table tests run one subtest per case and, inside it, one
// per version, so `go test -run 'TestX/case'` runs one case everywhere and
// `-run 'TestX/case/1.20.4'` one version of it.

// testProtocols are the versions the family tests run on: each side of the
// behaviour boundaries the checks care about, and the false-positive
// suite's versions. 1.8 (every tick, swing first, no hands), 1.12.2
// (skipped ticks, plugin-channel books and anvils), 1.16.5 (the last
// window confirmation), 1.20.3 (ping probes, the 1.17 duplicate, players
// spawned as entities, configuration state) and 1.21.4 (tick end, position
// sync, scaled entities).
var testProtocols = []int32{47, 340, 754, 765, 769}

// selfID is the player's own entity id in the join sessions send.
const selfID = 4242

// eachVersion runs f as one subtest per protocol, named by its version.
func eachVersion(t *testing.T, protos []int32, f func(t *testing.T, proto int32)) {
	t.Helper()
	for _, proto := range protos {
		t.Run(packets.VersionName(proto), func(t *testing.T) { f(t, proto) })
	}
}

// recorder is a Sink that keeps every event.
type recorder struct{ events []detection.Event }

func (r *recorder) Detect(e *detection.Event) { r.events = append(r.events, *e) }

func (r *recorder) keys() []string {
	var out []string
	for _, e := range r.events {
		out = append(out, e.Check)
	}
	return out
}

func newTestPlayer(t testing.TB, protocol int32, cfg Config) (*Player, *recorder) {
	t.Helper()
	rec := &recorder{}
	e, err := New(cfg, Options{Sinks: []Sink{rec}})
	if err != nil {
		t.Fatal(err)
	}
	return e.NewPlayer(PlayerInfo{Protocol: protocol, Name: "Steve"}), rec
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// appender is any packet value that encodes itself.
type appender interface {
	AppendData(dst []byte, protocol int32) []byte
}

// raw is packet data given as bytes.
type raw []byte

func (r raw) AppendData(dst []byte, _ int32) []byte { return append(dst, r...) }

// session drives one player through a test.
type session struct {
	t      testing.TB
	p      *Player
	rec    *recorder
	proto  int32
	now    time.Time
	probes [][]byte // probes sent and not answered yet, oldest first
	seen   int      // events flagged() has returned
	digSeq int32    // the last 1.19+ dig sequence sent (interaction_break_test.go)
}

// newSession starts a player on proto that has joined in survival and sent
// nothing yet.
func newSession(t testing.TB, proto int32, cfg Config) *session {
	t.Helper()
	p, rec := newTestPlayer(t, proto, cfg)
	s := &session{t: t, p: p, rec: rec, proto: proto, now: t0}
	s.cb(packets.KindJoinGame, raw(joinPacket(proto, packets.GameModeSurvival)))
	return s
}

// newPlaying starts a player on proto that has joined in game mode gm and
// sent one movement packet, so both legs are in play and probes flow.
func newPlaying(t testing.TB, proto int32, gm uint8, cfg Config) *session {
	t.Helper()
	p, rec := newTestPlayer(t, proto, cfg)
	s := &session{t: t, p: p, rec: rec, proto: proto, now: t0}
	s.cb(packets.KindJoinGame, raw(joinPacket(proto, gm)))
	if !p.self.haveEntityID || p.self.entityID != selfID || p.self.gameMode() != gm {
		t.Fatalf("%d: join not decoded: %+v", proto, p.self)
	}
	s.sb(packets.KindPlayerOnGround, onGround())
	s.answer(-1) // the probe sent after the join, if any
	return s
}

// cb delivers a clientbound packet and lets the edge inject a probe after it.
func (s *session) cb(kind packets.Kind, pk appender) {
	s.p.Clientbound(mcproto.StatePlay, kind, pk.AppendData(nil, s.proto), s.now)
	if pr := s.p.Probe(s.now, nil); len(pr) > 0 {
		s.probes = append(s.probes, pr)
	}
}

// cbRaw delivers clientbound packet data.
func (s *session) cbRaw(kind packets.Kind, data []byte) { s.cb(kind, raw(data)) }

// sb sends a serverbound packet in play.
func (s *session) sb(kind packets.Kind, pk appender) Verdict {
	return s.sbIn(mcproto.StatePlay, kind, pk.AppendData(nil, s.proto))
}

// sbIn sends serverbound packet data in state st.
func (s *session) sbIn(st mcproto.State, kind packets.Kind, data []byte) Verdict {
	return s.p.Serverbound(st, kind, data, 0, s.now)
}

// answer answers the oldest n outstanding probes (all when n < 0).
func (s *session) answer(n int) {
	if n < 0 || n > len(s.probes) {
		n = len(s.probes)
	}
	for _, pr := range s.probes[:n] {
		answerProbe(s.p, s.proto, pr, nil, s.now)
	}
	s.probes = s.probes[n:]
}

// ack sends a probe after everything so far and answers every probe, as a
// client that has processed all it was sent would.
func (s *session) ack() {
	s.t.Helper()
	s.advance(probeInterval)
	if pr := s.p.Probe(s.now, nil); len(pr) > 0 {
		s.probes = append(s.probes, pr)
	}
	if len(s.probes) == 0 {
		s.t.Fatalf("%d: no probe to answer", s.proto)
	}
	s.answer(-1)
}

func (s *session) advance(d time.Duration) { s.now = s.now.Add(d) }

// count is how many events the check with key raised.
func (s *session) count(key string) int {
	n := 0
	for _, e := range s.rec.events {
		if e.Check == key {
			n++
		}
	}
	return n
}

// flagged returns the keys flagged since its last call.
func (s *session) flagged() []string {
	var out []string
	for _, e := range s.rec.events[s.seen:] {
		out = append(out, e.Check)
	}
	s.seen = len(s.rec.events)
	return out
}

// step is one thing that happens in a scripted sequence: a client packet,
// a server packet, or a probe answered, after advance.
type step struct {
	send    appender
	kind    packets.Kind
	recv    []byte
	ack     bool
	advance time.Duration
}

func sendStep(kind packets.Kind, pk appender) step { return step{kind: kind, send: pk} }
func recvStep(kind packets.Kind, b []byte) step    { return step{kind: kind, recv: b} }

// run plays steps and returns the keys flagged and the last verdict.
func (s *session) run(steps []step) ([]string, Verdict) {
	s.t.Helper()
	var v Verdict
	for _, st := range steps {
		s.advance(st.advance)
		switch {
		case st.ack:
			s.ack()
		case st.recv != nil:
			s.cbRaw(st.kind, st.recv)
		default:
			v = s.sb(st.kind, st.send)
		}
	}
	return s.flagged(), v
}

// serverTraffic is a clientbound packet the backend sends every tick
// (a keep-alive stands in for any of them), so probes go out.
func (s *session) serverTraffic() {
	s.cb(packets.KindKeepAlive, packets.KeepAlive{ID: s.now.UnixNano()})
	// The client answers keep-alives at once; the answer goes first so
	// keep-alive order holds.
	s.sb(packets.KindKeepAlive, packets.KeepAlive{ID: s.now.UnixNano()})
}

// settleProbes lets one probe go out after everything sent so far and has
// the client answer it: the client has seen every packet before now.
func (s *session) settleProbes() {
	s.advance(probeInterval)
	s.cb(packets.KindEntityLook, packets.EntityLook{EntityID: 999})
	s.advance(5 * time.Millisecond)
	s.answer(-1)
}

// spawnAt answers the login teleport so the player has a position.
func (s *session) spawnAt(x, y, z float64) {
	s.cb(packets.KindSyncPlayerPosition, packets.SyncPlayerPosition{TeleportID: 1, X: x, Y: y, Z: z})
	if s.proto >= mcproto.Protocol1_9 {
		s.sb(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: 1})
	}
	s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: x, Y: y, Z: z, Flags: packets.MoveOnGround})
	s.answer(-1)
}

// enabled is a config that turns the given checks on in enforce mode
// (experimental ones included).
func enabled(keys ...string) Config {
	c := Config{Checks: map[string]CheckConfig{}}
	for _, k := range keys {
		c.Checks[k] = CheckConfig{Mode: ModeEnforce}
	}
	return c
}

// groundPos is a position packet on the ground.
func groundPos(x, y, z float64) packets.PlayerPosition {
	return packets.PlayerPosition{X: x, Y: y, Z: z, Flags: packets.MoveOnGround}
}

// onGround is a movement packet with nothing but the ground flag.
func onGround() packets.PlayerOnGround { return packets.PlayerOnGround{Flags: packets.MoveOnGround} }

// mcString is a protocol string: VarInt length, then the bytes.
func mcString(b []byte, s string) []byte {
	b = mcproto.AppendVarInt(b, int32(len(s)))
	return append(b, s...)
}

// joinPacket builds a join game that decodes on proto, for the player
// selfID in game mode gm.
func joinPacket(proto int32, gm uint8) []byte {
	j := packets.JoinGame{EntityID: selfID, GameMode: gm, Rest: []byte{0xff, 0, 1}}
	if proto >= mcproto.Protocol1_20_2 {
		m := []byte{1}                                     // one world name
		m = mcproto.AppendString(m, "minecraft:overworld") // the world name
		m = append(m, 20, 10, 8, 0, 1, 0)                  // max players, view, simulation distance, 3 flags
		if proto >= mcproto.Protocol1_20_5 {
			m = append(m, 0) // dimension type registry id
		} else {
			m = mcproto.AppendString(m, "minecraft:overworld")
		}
		m = mcproto.AppendString(m, "minecraft:overworld")
		m = mcproto.AppendInt64(m, 7) // hashed seed
		j.Middle = m
	}
	return j.AppendData(nil, proto)
}

// respawnPacket builds a respawn into game mode gm that decodes on proto.
func respawnPacket(proto int32, gm uint8) []byte {
	var m []byte
	switch {
	case proto < mcproto.Protocol1_14:
		m = []byte{0, 0, 0, 0, 1} // overworld, easy
	case proto < 573: // 1.15: the hashed seed
		m = []byte{0, 0, 0, 0}
	case proto < 735: // 1.16: dimension names
		m = make([]byte, 12)
	case proto < 751 || proto >= mcproto.Protocol1_19: // 1.16.2-1.18.2: the dimension is an NBT compound
		if proto >= mcproto.Protocol1_20_5 {
			m = append(m, 0)
		} else {
			m = mcproto.AppendString(m, "minecraft:overworld")
		}
		m = mcproto.AppendString(m, "minecraft:overworld")
		m = mcproto.AppendInt64(m, 7)
	default:
		m = []byte{10, 0, 0, 1, 0, 1, 'a', 1, 0}
	}
	return packets.Respawn{Middle: m, GameMode: gm, Rest: []byte{0xff, 0, 0, 1}}.AppendData(nil, proto)
}

// gameModePacket builds a game-state change to game mode gm.
func gameModePacket(gm uint8) []byte {
	return mcproto.AppendFloat32([]byte{gameEventChangeGameMode}, float32(gm))
}

// abilitiesPacket builds the clientbound abilities packet.
func abilitiesPacket(flags byte) []byte {
	b := mcproto.AppendFloat32([]byte{flags}, 0.05)
	return mcproto.AppendFloat32(b, 0.1)
}

// itemStack is an item slot on proto: empty, or one item of id 1.
func itemStack(proto int32, present bool) packets.ItemStack {
	var b []byte
	switch {
	case proto >= mcproto.Protocol1_20_5:
		b = []byte{0}
		if present {
			b = []byte{1, 1, 0, 0} // count, id, no components added or removed
		}
	case proto >= mcproto.Protocol1_13_2:
		b = []byte{0}
		if present {
			b = []byte{1, 1, 1, 0} // present, id, count, no NBT
		}
	default:
		b = []byte{0xff, 0xff}
		if present {
			b = []byte{0, 1, 1}
			if proto < mcproto.Protocol1_13 {
				b = append(b, 0, 0) // damage
			}
			b = append(b, 0) // no NBT
		}
	}
	return packets.ItemStack{Present: present, Raw: b}
}

// actionID is the wire number of a normalized entity action on proto.
func actionID(proto, action int32) int32 {
	switch {
	case proto < mcproto.Protocol1_9 && action == packets.ActionOpenInventory:
		return 6
	case proto >= mcproto.Protocol1_21_6:
		return action - 2
	}
	return action
}

// answerProbe feeds the client's answer to one of our probes, built in buf.
func answerProbe(p *Player, protocol int32, probe, buf []byte, now time.Time) []byte {
	_, n, _ := mcproto.ReadVarInt(probe)
	if protocol >= mcproto.Protocol1_17 {
		ping, _ := packets.DecodePing(probe[n:], protocol)
		buf = packets.Pong{ID: ping.ID}.AppendData(buf, protocol)
		p.Serverbound(mcproto.StatePlay, packets.KindPong, buf, 0, now)
		return buf
	}
	tx, _ := packets.DecodeTransaction(probe[n:], protocol)
	tx.Accepted = true
	buf = tx.AppendData(buf, protocol)
	p.Serverbound(mcproto.StatePlay, packets.KindTransaction, buf, 0, now)
	return buf
}

// spawnPlayer spawns another player the way the protocol does it.
func (s *session) spawnPlayer(id int32, x, y, z float64) {
	if s.proto >= mcproto.Protocol1_20_2 {
		ptype, _ := playerTypeID(s.proto)
		s.cb(packets.KindSpawnEntity, packets.SpawnEntity{EntityID: id, Type: ptype, X: x, Y: y, Z: z})
		return
	}
	s.cb(packets.KindSpawnPlayer, packets.SpawnPlayer{EntityID: id, X: x, Y: y, Z: z})
}

// moveEntity moves an entity by a relative move; 1.8 deltas are limited to
// 4 blocks, so longer moves are split.
func (s *session) moveEntity(id int32, dx, dy, dz float64) {
	const maxDelta = 3.9
	for abs(dx) > maxDelta || abs(dy) > maxDelta || abs(dz) > maxDelta {
		sx, sy, sz := clampAbs(dx, maxDelta), clampAbs(dy, maxDelta), clampAbs(dz, maxDelta)
		s.cb(packets.KindEntityRelMove, packets.EntityRelMove{EntityID: id, DX: sx, DY: sy, DZ: sz})
		dx, dy, dz = dx-sx, dy-sy, dz-sz
	}
	s.cb(packets.KindEntityRelMove, packets.EntityRelMove{EntityID: id, DX: dx, DY: dy, DZ: dz})
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func clampAbs(v, m float64) float64 { return max(-m, min(m, v)) }

// attack sends an attack the way the version's vanilla client does: 1.8
// swings first, 1.9+ after.
func (s *session) attack(target int32) Verdict {
	var v Verdict
	if s.proto < mcproto.Protocol1_9 {
		s.sb(packets.KindArmAnimation, packets.ArmAnimation{})
	}
	v = s.sb(packets.KindUseEntity, packets.UseEntity{Target: target, Type: packets.InteractAttack})
	if s.proto >= mcproto.Protocol1_9 {
		s.sb(packets.KindArmAnimation, packets.ArmAnimation{Hand: packets.HandMain})
	}
	return v
}

// openWindowPacket is the server opening container window id (a chest);
// only the id is read.
func openWindowPacket(proto, id int32) []byte {
	if proto >= mcproto.Protocol1_14 {
		b := mcproto.AppendVarInt(nil, id)
		b = mcproto.AppendVarInt(b, 2)
		return mcString(b, `{"text":"Chest"}`)
	}
	b := []byte{byte(id)}
	b = mcString(b, "minecraft:chest")
	b = mcString(b, `{"text":"Chest"}`)
	return append(b, 27)
}

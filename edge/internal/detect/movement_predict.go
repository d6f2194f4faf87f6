package detect

import (
	"math"
	"sync"
	"time"

	"github.com/rustguard/rustguard/edge/internal/detect/predict"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Movement prediction: where the edge holds the player's world, every tick
// packet is compared with vanilla's physics for the inputs an honest client
// could have had (package predict). What the bounds (movement_bounds.go)
// and the kinetics (kinetics.go) track of effects, attributes, pushes,
// teleports, abilities, gliding and riding decides when the prediction
// stands down; docs/DETECTIONS.md, "Movement prediction", lists it.

const chkPrediction CheckID = movementBase + 38

// Prediction defaults.
const (
	// predictionOffset is the default offset (blocks) beyond which a tick
	// flags. Honest traces from mineflayer's physics replay under 0.005
	// on every tested version (predict/testdata); 10 % more speed while
	// walking is 0.02 per tick, hovering 0.08.
	predictionOffset = 0.01
	// predictionMaxAdd caps the violation level one tick adds: a tick far
	// off (a teleport the edge missed) counts like a few subtle ones.
	predictionMaxAdd = 5
	// predictionRederive is the offset up to which the next tick starts
	// from the reported move's velocity rather than the predicted one:
	// float rounding and small unmodelled pushes do not accumulate, while a
	// cheat just under the threshold cannot carry its extra speed into the
	// next prediction (it would then only show as 10 % of one tick's
	// acceleration).
	predictionRederive = 0.001
	// predictionBuffer is the default buffer: misses add offset/offset
	// threshold (at most predictionMaxAdd) to it and a tick within the
	// threshold takes predictionBufferDecay off, and the check flags only
	// while it is above the buffer. An honest client misses alone (float
	// rounding at a block face, one tick relearning a ladder: at most one
	// tick of predictionMaxAdd, twice in a row at worst), a cheater misses
	// on every tick it cheats: 10 % speed fills it in about eight ticks,
	// hovering in three (Grim buffers its prediction the same way).
	predictionBuffer = 10
	// predictionBufferDecay is what each tick within the threshold takes
	// off the buffer: four honest ticks forgive one tick's miss.
	predictionBufferDecay = 0.25
	// predictionSimsPerSecond is the default budget of candidate ticks one
	// player's prediction may simulate per second (predict.Result.Sims),
	// and predictionBurstSeconds how many seconds of it a player may save
	// up. A tick the first candidate fits costs one or two; a report no
	// candidate explains runs them all, on 1.9+ once more for every tick
	// the client may have skipped: up to about 180 µs a packet, which a
	// client sending nonsense positions 20 times a second could otherwise
	// make the edge pay for ever. Over budget, ticks are not judged (the
	// prediction learns afresh once the budget has refilled); such a
	// client has missed hundreds of ticks by then and been flagged.
	predictionSimsPerSecond = 1000
	predictionBurstSeconds  = 10
)

func movementPredictSpecs() []Spec {
	// On, as an alert: the false-positive suite passes with it on, behind
	// the buffer (docs/DETECTIONS.md, "Movement prediction").
	return []Spec{
		{ID: chkPrediction, Key: "movement.prediction", Layer: 6, Severity: detection.SeverityMedium, Action: detection.ActionAlert, Setbacks: true, Decay: 1,
			Description: "a tick packet farther than `offset` blocks from every position vanilla physics reaches from the last tick for any input an honest client may have had (forward/strafe, jump, item use; sprint and sneak as reported), against the player's blocks (only vertically on ticks whose look changed): subtle speed, hovering, walking on water, climbing walls, no slowdown in cobwebs. A miss adds offset/`offset` (at most 5) to a buffer, a tick within `offset` takes 0.25 off, and the check flags only while the buffer is above `buffer` (lone misses of an honest client never get there; a cheat that misses every tick does within a few ticks). Simulates at most `sims_per_second` candidate ticks a second per player, ten seconds of it saved up (0: no limit): an honest tick costs one or two, a report no input explains up to a few thousand, and a client that keeps sending those is judged only as the budget refills. Stands down where the edge cannot know: no world, chunks not held, blocks changed since the last probe or edited by the player, unknown block states, pre-1.13 fences, walls, panes and stairs, bubble columns, powder snow, scaffolding, honey sides, 1.16+ soul sand, water and lava from 1.13, other entities close enough to push, pushes not yet settled, teleports, riding, gliding, riptide, flight rights, changing effects or attributes, a scale other than 1",
			Params:      map[string]float64{"offset": predictionOffset, "buffer": predictionBuffer, "sims_per_second": predictionSimsPerSecond}},
	}
}

// predictionShared is what all players' predictions share (on the
// Engine): the boxes per protocol, loaded on first use, and a pool of
// scratch grids (about 40 KiB each: one per concurrently judged packet,
// not one per player).
type predictionShared struct {
	mu     sync.Mutex
	tables map[int32]*predict.Tables // nil value: the protocol has none
	pool   sync.Pool
}

func (s *predictionShared) tablesFor(protocol int32) *predict.Tables {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tables[protocol]; ok {
		return t
	}
	if s.tables == nil {
		s.tables = make(map[int32]*predict.Tables)
	}
	t, err := predict.LoadTables(protocol)
	if err != nil {
		t = nil // no boxes: the player is judged by the bounds only
	}
	s.tables[protocol] = t
	return t
}

// predictionChecks is one player's prediction state (on Player).
type predictionChecks struct {
	state      predict.State
	tables     *predict.Tables
	loaded     bool
	yaw, pitch float32
	// attacked: an attack since the last tick packet. A 1.9+ client that
	// hits while sprinting slows to 60 % and stops sprinting within the
	// tick, which the candidates do not model.
	attacked bool
	// buffer is what the misses have added, less what good ticks took
	// off; the check flags only above the buffer parameter.
	buffer float64
	// budget is the simulation budget (sims_per_second, up to
	// predictionBurstSeconds of it), paid after each step.
	budget bucket
	w      predictionWorld
	// in is this tick's physics inputs: a field, since the predictor
	// keeps a pointer to them through the step, and a local would be
	// moved to the heap on every tick.
	in predict.Env
}

// predictionWorld reads the player's world for package predict, refusing
// (so the tick is not judged) what readRegion refuses: a recent edit of
// the player's own, or a section changed after the last answered probe.
type predictionWorld struct {
	p   *Player
	now time.Time
}

func (w *predictionWorld) Box(x0, y0, z0, x1, y1, z1 int32, dst []uint16) bool {
	return w.p.world.settledBox(x0, y0, z0, x1, y1, z1, dst, w.now, w.p.clock.clock)
}

// predictionEvent follows the client packets that are not moves.
func (pc *predictionChecks) event(pk *serverPacket) {
	if pc == nil {
		return
	}
	if pk.kind == packets.KindUseEntity && pk.useEntity.Type == packets.InteractAttack {
		pc.attacked = true
	}
}

// predictionClientbound forgets the state where the server moves the
// player: joins, respawns, teleports.
func (pc *predictionChecks) clientbound(pk *clientPacket) {
	if pc == nil {
		return
	}
	switch pk.kind {
	case packets.KindJoinGame, packets.KindRespawn:
		pc.state.Reset()
	case packets.KindSyncPlayerPosition:
		if pk.teleport {
			pc.state.Reset()
		}
	}
}

// reset forgets the state: the next ticks learn afresh.
func (pc *predictionChecks) reset() {
	if pc != nil {
		pc.state.Reset()
	}
}

// judgePrediction runs the prediction on one tick packet. Its state (about
// 200 bytes) is made with the first tick the check can judge: the check is
// experimental, and an idle player should not carry it.
func (p *Player) judgePrediction(pk *serverPacket) Verdict {
	if p.prediction == nil {
		if p.world.w == nil || !p.on(chkPrediction) {
			return pass
		}
		p.prediction = new(predictionChecks)
	}
	return p.prediction.judge(p, pk)
}

// judge runs the prediction on one tick packet.
func (pc *predictionChecks) judge(p *Player, pk *serverPacket) Verdict {
	m := &pk.move
	turning := false
	if m.hasLook {
		turning = m.yaw != pc.yaw || m.pitch != pc.pitch
		pc.yaw, pc.pitch = m.yaw, m.pitch
	}
	attacked := pc.attacked
	pc.attacked = false
	if p.world.w == nil || !p.on(chkPrediction) {
		pc.state.Reset()
		return pass
	}
	if pk.teleportAnswer || !pk.tick {
		if pk.teleportAnswer {
			pc.state.Reset()
		}
		return pass
	}
	var ok bool
	pc.in, ok = pc.env(p, pk.now)
	if !ok || (attacked && p.info.Protocol >= mcproto.Protocol1_9) {
		pc.state.Reset()
		return pass
	}
	if !pc.loaded {
		pc.tables, pc.loaded = p.e.prediction.tablesFor(p.info.Protocol), true
	}
	if pc.tables == nil {
		return pass
	}
	if !pc.afford(p.param(chkPrediction, "sims_per_second"), pk.now) {
		pc.state.Reset()
		return pass
	}
	pred, _ := p.e.prediction.pool.Get().(*predict.Predictor)
	if pred == nil {
		pred = predict.New(0)
	}
	thr := p.param(chkPrediction, "offset")
	pred.Tolerance = min(thr, predictionRederive)
	pc.w = predictionWorld{p: p, now: pk.now}
	rep := predict.Report{X: m.x, Y: m.y, Z: m.z, HasPos: m.hasPos, Yaw: pc.yaw, Pitch: pc.pitch, OnGround: m.onGround, Turning: turning}
	res := pred.Step(&pc.w, pc.tables, &pc.state, &pc.in, &rep)
	pc.w.p = nil
	p.e.prediction.pool.Put(pred)
	pc.budget.tokens -= float64(res.Sims)
	if res.Uncertain != predict.UncertainNone || thr <= 0 {
		return pass
	}
	if res.Offset <= thr {
		pc.buffer = max(0, pc.buffer-predictionBufferDecay)
		return pass
	}
	if p.pusherNear(m.x, m.y, m.z) {
		// Players, mobs, boats and carts push a player they overlap, which
		// the candidates do not model: checked only on a miss (walking the
		// entity table on every tick would cost more than the prediction).
		pc.state.Reset()
		return pass
	}
	add := min(res.Offset/thr, predictionMaxAdd)
	pc.buffer += add
	if pc.buffer <= p.param(chkPrediction, "buffer") {
		return pass
	}
	v := p.flag(chkPrediction, add, pk.now, "offset", ftoa(res.Offset),
		"dx", ftoa(res.ErrX), "dy", ftoa(res.ErrY), "dz", ftoa(res.ErrZ),
		"forward", itoa(int64(res.Forward)), "strafe", itoa(int64(res.Strafe)))
	if v.Outcome != Pass {
		// Dropped or set back: the backend never saw this position, and a
		// setback moves the client; the prediction learns afresh.
		pc.state.Reset()
	}
	return v
}

// afford reports whether any of the simulation budget is left, refilled
// at rate per second (rate 0: no budget, every tick is judged). A step
// is paid for after it ran, when its cost is known: the budget may go
// below zero by one step's cost.
func (pc *predictionChecks) afford(rate float64, now time.Time) bool {
	return rate <= 0 || pc.budget.fill(rate, predictionBurstSeconds, now) > 0
}

// env builds the physics inputs from what the server told the player; ok
// is false where the edge cannot know them well enough to judge.
func (pc *predictionChecks) env(p *Player, now time.Time) (predict.Env, bool) {
	l := &p.movement
	mo := &l.motion
	if p.boundsExempt(now) || mo.gliding {
		return predict.Env{}, false
	}
	if _, _, pushed := p.pushActive(now); pushed {
		return predict.Env{}, false
	}
	if !mo.releaseAt.IsZero() && now.Sub(mo.releaseAt) < riptideGrace && p.info.Protocol >= mcproto.Protocol1_13 {
		return predict.Env{}, false
	}
	caps := &p.self.caps
	caps.settle(p.clock.acked)
	if caps.possible&capMayFly != 0 {
		return predict.Env{}, false
	}
	acked := p.clock.acked
	k := &p.kin
	for _, e := range []trackedEffect{teJumpBoost, teLevitation, teSlowFalling, teDolphinsGrace} {
		if k.effects[e].min(acked) != k.effects[e].max(acked) {
			return predict.Env{}, false
		}
	}
	for _, a := range []trackedAttr{taStepHeight, taGravity, taScale, taJumpStrength} {
		if k.attrs[a].min(acked) != k.attrs[a].max(acked) {
			return predict.Env{}, false
		}
	}
	if p.attrHi(taScale) != defaultScale {
		return predict.Env{}, false
	}
	env := predict.Env{
		Protocol:    p.info.Protocol,
		MoveSpeedLo: p.attrLo(taMovementSpeed),
		MoveSpeedHi: p.attrHi(taMovementSpeed),
		// A client that does not apply Speed is only slower than it may be,
		// which gains it nothing, so the low end is always no Speed. It
		// happens: prismarine-physics (mineflayer) moves with the
		// movement_speed attribute alone and never applies the effect's
		// modifier, which a server that sends no attribute update (as
		// flying-squid) then never gives it (SHARP_EDGES.md, "mineflayer is
		// not vanilla everywhere").
		SpeedLo:       0,
		SpeedHi:       k.effects[teSpeed].max(acked),
		SlowLo:        k.effects[teSlowness].min(acked),
		SlowHi:        k.effects[teSlowness].max(acked),
		JumpBoost:     p.effect(teJumpBoost),
		Levitation:    p.effect(teLevitation),
		SlowFalling:   p.effect(teSlowFalling) > 0,
		DolphinsGrace: p.effect(teDolphinsGrace) > 0,
		Gravity:       p.attrHi(taGravity),
		StepHeight:    p.attrHi(taStepHeight),
		JumpStrength:  p.attrHi(taJumpStrength),
		Sprinting:     triOf(l.sprint),
		Sneaking:      triOf(l.sneak),
	}
	if math.IsNaN(env.MoveSpeedHi) {
		return predict.Env{}, false
	}
	return env, true
}

// pushReach is how close (blocks, feet to feet) another entity must come to
// push the player: half the player's width plus half the widest box the
// entity table assumes for other entities (4, the ghast), and a tick of
// movement.
const pushReach = 0.3 + 2 + 1

// pusherNear reports whether any entity the client may see (players too) is close enough
// to push the player at (x, y, z).
func (p *Player) pusherNear(x, y, z float64) bool {
	acked, next := p.clock.acked, p.clock.nextSeq
	for _, e := range p.combat.ents.m {
		b := e.possible(acked, next)
		if x >= b.min[0]-pushReach && x <= b.max[0]+pushReach && z >= b.min[2]-pushReach && z <= b.max[2]+pushReach &&
			y >= b.min[1]-otherHeight && y <= b.max[1]+otherHeight {
			return true
		}
	}
	return false
}

func triOf(t toggle) predict.Tri {
	switch t {
	case toggleOn:
		return predict.On
	case toggleOff:
		return predict.Off
	}
	return predict.Unknown
}

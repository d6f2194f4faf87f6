package predict

import (
	"fmt"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// Tables are one protocol's block data: classes and exact boxes.
type Tables struct {
	Classes *blocks.Table
	Shapes  *blocks.ShapeTable
}

// LoadTables builds the tables of a protocol (callers keep them per
// protocol: each costs a few hundred microseconds to inflate).
func LoadTables(protocol int32) (*Tables, error) {
	c, err := blocks.ForProtocol(protocol)
	if err != nil {
		return nil, fmt.Errorf("prediction tables: %w", err)
	}
	s, err := blocks.ShapesForProtocol(protocol)
	if err != nil {
		return nil, fmt.Errorf("prediction tables: %w", err)
	}
	return &Tables{Classes: c, Shapes: s}, nil
}

// Uncertain says why a tick could not be judged.
type Uncertain uint8

const (
	UncertainNone        Uncertain = iota
	UncertainChunk                 // a column around the player is not held: vanilla freezes the client there
	UncertainBlock                 // a block state the data does not describe, or a pre-1.13 shape that depends on neighbours
	UncertainUnsupported           // a block whose physics the package does not model (bubble columns, powder snow, scaffolding, honey sides, soul sand with Soul Speed, water and lava from 1.13)
	UncertainFast                  // faster than one grid covers (a long fall, a push)
	UncertainResync                // no previous position or velocity to predict from
	numUncertain
)

var uncertainNames = [numUncertain]string{"none", "chunk", "block", "unsupported", "fast", "resync"}

func (u Uncertain) String() string {
	if u < numUncertain {
		return uncertainNames[u]
	}
	return fmt.Sprintf("uncertain(%d)", uint8(u))
}

// Tri is a client state the edge may not know.
type Tri uint8

const (
	Unknown Tri = iota
	Off
	On
)

// Env is what the server gave the player that changes physics, as bounds:
// where a value is changing and the client may not have the new one yet
// (package detect's acknowledgement clock), Lo and Hi differ and both are
// tried.
type Env struct {
	Protocol int32
	// MoveSpeedLo, MoveSpeedHi bound the movement_speed attribute's base
	// (0.1 by default); the effects and sprint are applied here.
	MoveSpeedLo, MoveSpeedHi float64
	SpeedLo, SpeedHi         float64 // Speed effect level (amplifier+1), 0: none
	SlowLo, SlowHi           float64 // Slowness effect level
	JumpBoost                float64 // Jump Boost level
	Levitation               float64 // Levitation level
	SlowFalling              bool
	DolphinsGrace            bool
	Gravity                  float64 // 0.08 (the gravity attribute from 1.20.5)
	StepHeight               float64 // 0.6
	JumpStrength             float64 // 0.42
	Sprinting, Sneaking      Tri
}

// DefaultEnv is a player with no effects and default attributes.
func DefaultEnv(protocol int32) Env {
	return Env{Protocol: protocol, MoveSpeedLo: 0.1, MoveSpeedHi: 0.1, Gravity: 0.08, StepHeight: 0.6, JumpStrength: 0.42,
		Sprinting: Off, Sneaking: Off}
}

// Report is one movement packet: where the client says it is after its tick.
type Report struct {
	X, Y, Z    float64
	HasPos     bool // false: a ground or look only packet (the move was below the threshold)
	Yaw, Pitch float32
	OnGround   bool
	// Turning: the look changed since the last report. Only the vertical
	// offset is judged then: a vanilla client moves with the look it
	// sends, but mineflayer (the e2e suite's players) moves with the look
	// it is turning to and sends one that follows it a few degrees a tick.
	Turning bool
}

// State is what prediction carries from one tick to the next.
type State struct {
	X, Y, Z    float64
	VX, VY, VZ float64
	OnGround   bool
	Stuck      bool    // in a cobweb after the last move: the next move is slowed and the velocity cleared
	Slack      float64 // how far the true position may be from X, Y, Z (ticks without a position)
	// sentX, sentY, sentZ: the last position the client reported.
	sentX, sentY, sentZ float64
	have                uint8 // positions seen since the last resync, up to judgeAfter
	// The nearest candidate's keys last tick.
	lastForward, lastStrafe int8
	lastJump                bool
	// locked: a tick fitted since the last resync; misses: ticks that
	// did not before it.
	locked bool
	misses uint8
	// yaw is the last report's look.
	yaw      float32
	haveLook bool
	// hasAlt: another velocity fitted the last report as well.
	hasAlt              bool
	altVX, altVY, altVZ float64
	altGround           bool
}

// Reset forgets the state (a teleport, a respawn, a vehicle).
func (s *State) Reset() { *s = State{} }

// Result is one tick's verdict.
type Result struct {
	Offset    float64 // distance from the report to the nearest candidate, less the slack
	Uncertain Uncertain
	// ErrX, ErrY, ErrZ: the report less the nearest candidate (for alerts:
	// which way the client went beyond vanilla).
	ErrX, ErrY, ErrZ float64
	// Candidate describes the nearest candidate (for alerts).
	Forward, Strafe int8
	Jump            bool
	// Sims is how many candidate ticks the step simulated: its cost. A
	// tick the first candidate fits takes one or two; a report no
	// candidate explains runs them all, on 1.9+ again for every tick the
	// client may have skipped (hundreds to a few thousand).
	Sims int
}

// Player dimensions (EntityType.PLAYER).
const (
	halfWidth    = 0.3
	playerHeight = 1.8
)

// Vanilla constants (LivingEntity.travel, Entity.move, Player.jumpFromGround).
const (
	inputDamping      = 0.98       // xxa, zza × 0.98 every aiStep
	sneakFactor       = 0.3        // sneaking input (Input.tick, 0.3 before the sneaking_speed attribute)
	itemUseFactor     = 0.2        // using an item (LocalPlayer.aiStep)
	sprintFactor      = 1.3        // the sprint modifier (+30 %, multiply total)
	speedPerLevel     = 0.2        // Speed: +20 % per level (multiply total)
	slowPerLevel      = 0.15       // Slowness: −15 % per level
	airAccel          = 0.02       // flying speed in the air
	airSprintAccel    = 0.026      // … sprinting
	groundAccelNumer  = 0.16277136 // ground speed × this / (friction³)
	defaultSlip       = 0.6
	iceSlip           = 0.98
	blueIceSlip       = 0.989
	slimeSlip         = 0.8
	airFriction       = 0.91
	verticalDrag      = 0.98
	sprintJumpBoost   = 0.2
	jumpBoostPerLevel = 0.1
	climbSpeed        = 0.2  // rising on a ladder pushed against a wall
	climbClamp        = 0.15 // horizontal and downward speed on a ladder
	liquidJump        = 0.04
	waterDrag         = 0.8
	swimDrag          = 0.9 // sprinting in water (1.13+)
	dolphinDrag       = 0.96
	lavaDrag          = 0.5
	liquidAccel       = 0.02
	liquidGravity     = 0.02 // before 1.13 (and lava)
	liquidExit        = 0.3  // pushed against a wall at the surface
	liquidExitProbe   = 0.6
	webX, webY        = 0.25, 0.05
	soulSandFactor    = 0.4
	honeyFactor       = 0.4
	honeyJump         = 0.5
	levitationPerLvl  = 0.05
	levitationRate    = 0.2
	slowFallGravity   = 0.01
	bedBounce         = 0.66
	fluidJumpDepth    = 0.4 // 1.14+: deeper than this, jump swims up instead
	belowForSlip      = 0.5000001
	landingProbe      = 0.2
	sneakEdgeStep     = 0.05
)

// rules are the version differences that matter here.
type rules struct {
	velocityFloor  float64 // 0.005 up to 1.8, 0.003 after
	threshold      float64 // the movement packet threshold: 0.03, 0.0002 from 1.18.2
	skipsIdle      bool    // 1.9+: no packet on a tick without a change
	modernOrder    bool    // 1.14+: the smaller horizontal axis collides first
	swim           bool    // 1.13+: swimming, slow falling, fluid falling
	speedFactor    bool    // 1.15+: soul sand and honey slow through the block speed factor
	slimeEveryTick bool    // 1.15+: slime slows on every ground tick, not at step sounds
	bedBounces     bool    // 1.12+
	climbOnJump    bool    // 1.14+: holding jump climbs like pushing a wall
	soulSpeed      bool    // 1.16+: Soul Speed boots (equipment the edge does not see)
	sneakEdgeDrop  float64 // how far below the sneak edge test looks
	hCollisionEps  float64 // a horizontal move clipped by more than this collided
}

func rulesFor(p int32) rules {
	r := rules{velocityFloor: 0.003, threshold: 0.03, skipsIdle: p >= mcproto.Protocol1_9, modernOrder: p >= mcproto.Protocol1_14,
		swim: p >= mcproto.Protocol1_13, bedBounces: p >= mcproto.Protocol1_12, climbOnJump: p >= mcproto.Protocol1_14,
		speedFactor: p >= 573, slimeEveryTick: p >= 573, soulSpeed: p >= 735, sneakEdgeDrop: 0.6, hCollisionEps: 1e-9}
	if r.modernOrder {
		r.hCollisionEps = 1e-5 // Mth.equal
	}
	if p < mcproto.Protocol1_9 {
		r.velocityFloor, r.sneakEdgeDrop = 0.005, 1.0
	}
	if p >= mcproto.Protocol1_18_2 {
		r.threshold = 0.0002
	}
	return r
}

// Threshold is the protocol's movement threshold: a client moving less
// than this sends no position.
func Threshold(protocol int32) float64 { return rulesFor(protocol).threshold }

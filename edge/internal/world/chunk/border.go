package chunk

import (
	"fmt"
	"math"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Border is the world border a player was told about: a square centred on
// X, Z whose side moves from OldDiameter to Diameter over LerpMillis (0:
// already there). Prediction collides with it; when a lerp started is the
// probe clock's business, not the decoder's.
type Border struct {
	X, Z                  float64
	OldDiameter, Diameter float64
	LerpMillis            int64
}

// DefaultBorder is vanilla's border before any packet: centred on 0, 0,
// 59,999,968 blocks wide.
func DefaultBorder() Border {
	return Border{OldDiameter: maxBorderDiameter, Diameter: maxBorderDiameter}
}

// Vanilla's bounds for the border (WorldBorder: the centre within
// ±29,999,984, the diameter at most 59,999,968); a packet outside them is
// malformed.
const (
	maxBorderCentre   = 29999984
	maxBorderDiameter = 59999968
	// maxBorderLerp bounds a lerp's duration: vanilla's command takes
	// seconds as an int, so about 68 years in milliseconds.
	maxBorderLerp = math.MaxInt32 * 1000
)

// BorderPacket says which border packet a body is: one packet with an
// action before 1.17, one packet per action from 1.17.
type BorderPacket uint8

const (
	BorderLegacy  BorderPacket = iota // world_border (1.8–1.16.5)
	BorderInit                        // initialize_world_border
	BorderCenter                      // world_border_center
	BorderLerp                        // world_border_lerp_size
	BorderSize                        // world_border_size
	BorderWarning                     // world_border_warning_delay / _reach: nothing to keep
)

// Legacy world_border actions.
const (
	borderActionSize = iota
	borderActionLerp
	borderActionCenter
	borderActionInit
	borderActionWarningTime
	borderActionWarningBlocks
)

// WorldBorder applies a border packet body to b.
func (d *Decoder) WorldBorder(kind BorderPacket, body []byte, b *Border) error {
	r := mcproto.NewReader(body)
	next := *b
	size := func() {
		next.OldDiameter, next.Diameter, next.LerpMillis = r.Float64(), 0, 0
		next.Diameter = next.OldDiameter
	}
	lerp := func() {
		next.OldDiameter, next.Diameter = r.Float64(), r.Float64()
		// VarLong until 1.19 per vanilla; a VarInt reads the same for the
		// values later versions send.
		next.LerpMillis = r.VarLong()
	}
	center := func() { next.X, next.Z = r.Float64(), r.Float64() }
	init := func() {
		center()
		lerp()
		r.VarInt() // portal teleport boundary
		r.VarInt() // warning blocks (warning time in the legacy order)
		r.VarInt()
	}
	switch kind {
	case BorderLegacy:
		if d.protocol >= proto1_17 {
			return malformed("world_border after 1.16", nil)
		}
		switch a := r.VarInt(); a {
		case borderActionSize:
			size()
		case borderActionLerp:
			lerp()
		case borderActionCenter:
			center()
		case borderActionInit:
			init()
		case borderActionWarningTime, borderActionWarningBlocks:
			r.VarInt()
		default:
			return malformed(fmt.Sprintf("world_border action %d", a), r.Err())
		}
	case BorderInit:
		init()
	case BorderCenter:
		center()
	case BorderLerp:
		lerp()
	case BorderSize:
		size()
	case BorderWarning:
		r.VarInt()
	default:
		return malformed(fmt.Sprintf("border packet kind %d", kind), nil)
	}
	if err := r.Finish(); err != nil {
		return malformed("world border", err)
	}
	if !finiteWithin(next.X, maxBorderCentre) || !finiteWithin(next.Z, maxBorderCentre) ||
		!finiteWithin(next.OldDiameter, maxBorderDiameter) || !finiteWithin(next.Diameter, maxBorderDiameter) ||
		next.OldDiameter < 0 || next.Diameter < 0 || next.LerpMillis < 0 || next.LerpMillis > maxBorderLerp {
		return malformed(fmt.Sprintf("world border %+v", next), nil)
	}
	*b = next
	return nil
}

func finiteWithin(v, limit float64) bool { return !math.IsNaN(v) && math.Abs(v) <= limit }

package packets

import (
	"github.com/rustguard/rustguard/shared/mcproto"
)

// The clientbound packets that change how the player may move or which
// screens it has open: velocity, effects, attributes, container windows.
// Only the leading fields the edge needs are decoded; what follows stays
// unread (these decoders do not require the packet to end there).

// EntityVelocity is "Set Entity Velocity" (blocks per tick).
//
//	1.8–1.21.8  entity VarInt, velocity as three i16 in 1/8000 block per tick
//	1.21.9+     entity VarInt, a low-precision vector (not decoded: Known is false)
type EntityVelocity struct {
	EntityID int32
	X, Y, Z  float64
	Known    bool // the velocity was decoded
}

// DecodeEntityVelocity decodes the entity and, where the layout is the
// short vector, the velocity.
func DecodeEntityVelocity(body []byte, protocol int32) (EntityVelocity, error) {
	r := mcproto.NewReader(body)
	v := EntityVelocity{EntityID: r.VarInt()}
	if protocol < mcproto.Protocol1_21_9 {
		v.X, v.Y, v.Z = readVelShorts(&r)
		v.Known = true
		if err := finish(&r, "entity velocity"); err != nil {
			return EntityVelocity{}, err
		}
		return v, nil
	}
	return v, r.Err()
}

// AppendData appends the packet data (the short layout; for tests).
func (v EntityVelocity) AppendData(dst []byte, _ int32) []byte {
	dst = mcproto.AppendVarInt(dst, v.EntityID)
	return appendVelShorts(dst, v.X, v.Y, v.Z)
}

// EntityEffect is "Entity Effect": an effect added to an entity.
//
//	1.8–1.18.1   entity VarInt, effect i8, amplifier i8, duration, flags
//	1.18.2–1.20.4 effect as VarInt
//	1.20.5+      effect (registry id, 0-based) and amplifier as VarInt
type EntityEffect struct {
	EntityID, EffectID, Amplifier int32
}

// DecodeEntityEffect decodes entity, effect and amplifier.
func DecodeEntityEffect(body []byte, protocol int32) (EntityEffect, error) {
	r := mcproto.NewReader(body)
	e := EntityEffect{EntityID: r.VarInt()}
	e.EffectID = readEffectID(&r, protocol)
	if protocol >= mcproto.Protocol1_20_5 {
		e.Amplifier = r.VarInt()
	} else {
		e.Amplifier = int32(r.Byte()) // vanilla writes the amplifier & 0xFF
	}
	return e, r.Err()
}

// AppendData appends entity, effect and amplifier, a duration of 600 ticks
// and no flags (for tests).
func (e EntityEffect) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, e.EntityID)
	dst = appendEffectID(dst, e.EffectID, protocol)
	if protocol >= mcproto.Protocol1_20_5 {
		dst = mcproto.AppendVarInt(dst, e.Amplifier)
	} else {
		dst = append(dst, byte(e.Amplifier))
	}
	dst = mcproto.AppendVarInt(dst, 600)
	dst = append(dst, 0)
	if protocol >= mcproto.Protocol1_19 && protocol < mcproto.Protocol1_20_5 {
		dst = append(dst, 0) // no factor data
	}
	return dst
}

// RemoveEntityEffect is "Remove Entity Effect".
type RemoveEntityEffect struct {
	EntityID, EffectID int32
}

// DecodeRemoveEntityEffect decodes entity and effect.
func DecodeRemoveEntityEffect(body []byte, protocol int32) (RemoveEntityEffect, error) {
	r := mcproto.NewReader(body)
	e := RemoveEntityEffect{EntityID: r.VarInt()}
	e.EffectID = readEffectID(&r, protocol)
	if err := finish(&r, "remove entity effect"); err != nil {
		return RemoveEntityEffect{}, err
	}
	return e, nil
}

// AppendData appends the packet data.
func (e RemoveEntityEffect) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, e.EntityID)
	return appendEffectID(dst, e.EffectID, protocol)
}

func readEffectID(r *mcproto.Reader, protocol int32) int32 {
	if protocol >= mcproto.Protocol1_18_2 {
		return r.VarInt()
	}
	return int32(r.Int8())
}

func appendEffectID(dst []byte, id, protocol int32) []byte {
	if protocol >= mcproto.Protocol1_18_2 {
		return mcproto.AppendVarInt(dst, id)
	}
	return append(dst, byte(id))
}

// Attribute modifier operations (AttributeModifier.Operation).
const (
	AttrAddValue           = 0
	AttrAddMultipliedBase  = 1
	AttrAddMultipliedTotal = 2
)

// maxAttributeKey bounds an attribute key or modifier id read before
// 1.20.5 (vanilla writes resource locations, at most 32767 chars).
const maxAttributeKey = 32767

// Attribute is one attribute of "Update Attributes" with its modifiers
// applied the way vanilla computes the value.
type Attribute struct {
	Key   []byte // the name before 1.20.5 (aliases the packet)
	ID    int32  // the registry id from 1.20.5 (-1 before)
	Value float64
}

// AttributeReader walks the attributes of an "Update Attributes" packet
// without allocating.
//
//	1.8–1.16.5   entity VarInt, count i32, {key string, base f64, modifiers VarInt × {uuid, amount f64, op i8}}
//	1.17–1.20.4  count as VarInt
//	1.20.5       key as a registry VarInt
//	1.21+        modifier ids are strings instead of UUIDs
type AttributeReader struct {
	EntityID int32
	r        mcproto.Reader
	protocol int32
	left     int
}

// NewAttributeReader reads the entity and the count.
func NewAttributeReader(body []byte, protocol int32) AttributeReader {
	a := AttributeReader{r: mcproto.NewReader(body), protocol: protocol}
	a.EntityID = a.r.VarInt()
	if protocol >= mcproto.Protocol1_17 {
		a.left = int(a.r.VarInt())
	} else {
		a.left = int(a.r.Int32())
	}
	return a
}

// Next returns the next attribute; false at the end or on a decoding error
// (see Err).
func (a *AttributeReader) Next() (Attribute, bool) {
	if a.left <= 0 || a.r.Err() != nil {
		return Attribute{}, false
	}
	a.left--
	at := Attribute{ID: -1}
	if a.protocol >= mcproto.Protocol1_20_5 {
		at.ID = a.r.VarInt()
	} else {
		at.Key = a.r.StringBytes(maxAttributeKey)
	}
	base := a.r.Float64()
	n := int(a.r.VarInt())
	add, mulBase, mulTotal := 0.0, 0.0, 1.0
	for i := 0; i < n && a.r.Err() == nil; i++ {
		if a.protocol >= mcproto.Protocol1_21 {
			a.r.StringBytes(maxAttributeKey)
		} else {
			a.r.UUID()
		}
		amount, op := a.r.Float64(), a.r.Byte()
		switch op {
		case AttrAddValue:
			add += amount
		case AttrAddMultipliedBase:
			mulBase += amount
		case AttrAddMultipliedTotal:
			mulTotal *= 1 + amount
		}
	}
	v := base + add
	at.Value = (v + v*mulBase) * mulTotal
	return at, a.r.Err() == nil
}

// Err is the first decoding error.
func (a *AttributeReader) Err() error { return a.r.Err() }

// OpenWindow is "Open Screen": the server opened a container window.
//
//	1.8–1.13.2  window u8, type string, title, slots u8, [entity i32]
//	1.14+       window VarInt, type VarInt, title
type OpenWindow struct {
	WindowID int32
}

// DecodeOpenWindow decodes the window id.
func DecodeOpenWindow(body []byte, protocol int32) (OpenWindow, error) {
	r := mcproto.NewReader(body)
	var w OpenWindow
	if protocol >= mcproto.Protocol1_14 {
		w.WindowID = r.VarInt()
	} else {
		w.WindowID = int32(r.Byte())
	}
	return w, r.Err()
}

// DecodeOpenHorseWindow decodes the window id of "Open Horse Screen"
// (1.14+; a ContainerID).
func DecodeOpenHorseWindow(body []byte, protocol int32) (OpenWindow, error) {
	r := mcproto.NewReader(body)
	w := OpenWindow{WindowID: readContainerID(&r, protocol)}
	return w, r.Err()
}

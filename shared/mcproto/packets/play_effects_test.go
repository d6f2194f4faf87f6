package packets

import (
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

func TestEffectsRoundTrip(t *testing.T) {
	for _, proto := range []int32{mcproto.Protocol1_8, mcproto.Protocol1_16_5, mcproto.Protocol1_18_2, mcproto.Protocol1_20_3, mcproto.Protocol1_20_5, mcproto.Protocol1_21_4} {
		e := EntityEffect{EntityID: 7, EffectID: 25, Amplifier: 3}
		if got, err := DecodeEntityEffect(e.AppendData(nil, proto), proto); err != nil || got != e {
			t.Errorf("%d: effect %+v %v", proto, got, err)
		}
		r := RemoveEntityEffect{EntityID: 7, EffectID: 25}
		if got, err := DecodeRemoveEntityEffect(r.AppendData(nil, proto), proto); err != nil || got != r {
			t.Errorf("%d: remove %+v %v", proto, got, err)
		}
		v := EntityVelocity{EntityID: 9, X: 1, Y: -0.5, Z: 2, Known: true}
		if got, err := DecodeEntityVelocity(v.AppendData(nil, proto), proto); err != nil || got != v {
			t.Errorf("%d: velocity %+v %v", proto, got, err)
		}
	}
	if got, err := DecodeEntityVelocity(mcproto.AppendVarInt(nil, 9), mcproto.Protocol1_21_9); err != nil || got.Known || got.EntityID != 9 {
		t.Errorf("1.21.9 velocity: %+v %v", got, err)
	}
}

func TestAttributeReader(t *testing.T) {
	// 1.16.5: count i32, string keys, UUID modifiers.
	b := mcproto.AppendVarInt(nil, 5)
	b = append(b, 0, 0, 0, 1)
	b = mcproto.AppendString(b, "minecraft:generic.movement_speed")
	b = mcproto.AppendFloat64(b, 0.1)
	b = mcproto.AppendVarInt(b, 2)
	b = append(b, make([]byte, 16)...)
	b = mcproto.AppendFloat64(b, 0.3)
	b = append(b, AttrAddMultipliedBase)
	b = append(b, make([]byte, 16)...)
	b = mcproto.AppendFloat64(b, 0.4)
	b = append(b, AttrAddMultipliedTotal)
	r := NewAttributeReader(b, mcproto.Protocol1_16_5)
	a, ok := r.Next()
	if !ok || r.EntityID != 5 || string(a.Key) != "minecraft:generic.movement_speed" || a.Value < 0.1819 || a.Value > 0.1821 {
		t.Fatalf("1.16.5: %+v %v %v", a, ok, r.Err())
	}
	if _, ok := r.Next(); ok || r.Err() != nil {
		t.Fatalf("1.16.5: a second attribute or an error: %v", r.Err())
	}
	// 1.21: registry ids, string modifier ids.
	b = mcproto.AppendVarInt(nil, 5)
	b = mcproto.AppendVarInt(b, 1)
	b = mcproto.AppendVarInt(b, 27)
	b = mcproto.AppendFloat64(b, 0.6)
	b = mcproto.AppendVarInt(b, 1)
	b = mcproto.AppendString(b, "minecraft:boots")
	b = mcproto.AppendFloat64(b, 0.4)
	b = append(b, AttrAddValue)
	r = NewAttributeReader(b, mcproto.Protocol1_21)
	if a, ok := r.Next(); !ok || a.ID != 27 || a.Value != 1.0 {
		t.Fatalf("1.21: %+v %v %v", a, ok, r.Err())
	}
	// Truncated: an error, not a panic.
	r = NewAttributeReader(b[:len(b)-3], mcproto.Protocol1_21)
	if _, ok := r.Next(); ok || r.Err() == nil {
		t.Fatal("a truncated attribute decoded")
	}
}

func TestOpenWindow(t *testing.T) {
	if w, err := DecodeOpenWindow([]byte{7, 1, 'x'}, mcproto.Protocol1_12_2); err != nil || w.WindowID != 7 {
		t.Errorf("1.12.2: %+v %v", w, err)
	}
	if w, err := DecodeOpenWindow(mcproto.AppendVarInt(nil, 130), mcproto.Protocol1_20_3); err != nil || w.WindowID != 130 {
		t.Errorf("1.20.4: %+v %v", w, err)
	}
	if w, err := DecodeOpenHorseWindow([]byte{3, 2}, mcproto.Protocol1_16_5); err != nil || w.WindowID != 3 {
		t.Errorf("horse: %+v %v", w, err)
	}
}

package detect

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// digIDs are the block states and item ids a version's break tests use
// (minecraft-data's blocks.json and items.json of that version; before
// 1.13 a state is id<<4 | metadata).
type digIDs struct {
	stone, dirt, obsidian, torch uint16
	woodPick, diamondPick        int32
}

var breakIDs = map[int32]digIDs{
	47:  {stone: 16, dirt: 48, obsidian: 784, torch: 800, woodPick: 270, diamondPick: 278},
	340: {stone: 16, dirt: 48, obsidian: 784, torch: 800, woodPick: 270, diamondPick: 278},
	754: {stone: 1, dirt: 10, obsidian: 1434, torch: 1435, woodPick: 585, diamondPick: 605},
	765: {stone: 1, dirt: 10, obsidian: 2354, torch: 2355, woodPick: 816, diamondPick: 836},
	769: {stone: 1, dirt: 10, obsidian: 2397, torch: 2398, woodPick: 851, diamondPick: 871},
}

// slotBytes encodes an item slot as the version writes it: empty when id
// < 0; enchanted adds NBT (an empty compound) or a data component.
func slotBytes(proto, id int32, enchanted bool) []byte {
	var b []byte
	nbt := func(b []byte) []byte {
		if !enchanted {
			return append(b, 0)
		}
		b = append(b, 10) // compound
		if proto < mcproto.Protocol1_20_2 {
			b = append(b, 0, 0) // root name ""
		}
		return append(b, 0) // end
	}
	switch {
	case proto >= mcproto.Protocol1_20_5:
		if id < 0 {
			return mcproto.AppendVarInt(b, 0)
		}
		b = mcproto.AppendVarInt(b, 1)
		b = mcproto.AppendVarInt(b, id)
		if enchanted {
			// One added component of which only the counts are read.
			return append(mcproto.AppendVarInt(mcproto.AppendVarInt(b, 1), 0), 0x0a, 0x00)
		}
		return mcproto.AppendVarInt(mcproto.AppendVarInt(b, 0), 0)
	case proto >= 404: // 1.13.2
		if id < 0 {
			return append(b, 0)
		}
		b = mcproto.AppendVarInt(append(b, 1), id)
		return nbt(append(b, 1))
	default:
		if id < 0 {
			return append(b, 0xff, 0xff)
		}
		b = append(b, byte(id>>8), byte(id), 1)
		if proto < mcproto.Protocol1_13 {
			b = append(b, 0, 0) // damage
		}
		return nbt(b)
	}
}

func setSlotBytes(proto, window int32, slot int16, item []byte) []byte {
	var b []byte
	if proto >= mcproto.Protocol1_21_2 {
		b = mcproto.AppendVarInt(b, window)
	} else {
		b = append(b, byte(window))
	}
	if proto >= mcproto.Protocol1_17_1 {
		b = mcproto.AppendVarInt(b, 3) // state id
	}
	b = append(b, byte(slot>>8), byte(slot))
	return append(b, item...)
}

// windowItemsBytes encodes the player's window 0 with hotbar slot 0
// holding hotbar0 and every other slot empty (before 1.20.5).
func windowItemsBytes(proto int32, hotbar0 []byte) []byte {
	const n = 45
	b := []byte{0}
	if proto >= mcproto.Protocol1_17_1 {
		b = mcproto.AppendVarInt(b, 1)
		b = mcproto.AppendVarInt(b, n)
	} else {
		b = append(b, 0, n)
	}
	for i := range n {
		if i == hotbarWindowFirst {
			b = append(b, hotbar0...)
		} else {
			b = append(b, slotBytes(proto, -1, false)...)
		}
	}
	if proto >= mcproto.Protocol1_17_1 {
		b = append(b, slotBytes(proto, -1, false)...) // carried
	}
	return b
}

// breakSession is a survival player on the test terrain with the
// break-time check enforced. 1.21.2+ sessions end their ticks.
func breakSession(t *testing.T, proto int32) (*session, *terrain) {
	t.Helper()
	cfg := Config{Checks: map[string]CheckConfig{"world.fast_break": {Mode: ModeEnforce}}}
	s := newPlaying(t, proto, packets.GameModeSurvival, cfg)
	w := newTerrain(t, proto)
	s.p.SetWorld(w, mustTable(t, proto))
	dt, err := blocks.DigForProtocol(proto)
	if err != nil {
		t.Fatal(err)
	}
	s.p.SetDig(dt)
	s.ack()
	s.breakTick() // a 1.21.2+ client has ended ticks since its first
	return s, w
}

// tick sends one client tick: a position, and a tick end from 1.21.2.
func (s *session) breakTick() {
	s.at(0.5, 64, 0.5, true)
	if s.proto >= mcproto.Protocol1_21_2 {
		s.sb(packets.KindTickEnd, raw(nil))
	}
}

// digFor starts a dig at pos, sends ticks client ticks and finishes it.
func (s *session) digFor(pos mcproto.Position, ticks int) Verdict {
	s.digSeq++
	s.sb(packets.KindBlockDig, packets.BlockDig{Status: digStart, Location: pos, Face: 1, Sequence: s.digSeq})
	for range ticks {
		s.breakTick()
	}
	s.digSeq++
	v := s.sb(packets.KindBlockDig, packets.BlockDig{Status: digFinish, Location: pos, Face: 1, Sequence: s.digSeq})
	s.breakTick()
	return v
}

// hold puts an item in hotbar slot 0 (the held one) by set_slot.
func (s *session) hold(id int32, enchanted bool) {
	s.cbRaw(packets.KindSetSlot, setSlotBytes(s.proto, 0, hotbarWindowFirst, slotBytes(s.proto, id, enchanted)))
}

func TestBreakTime(t *testing.T) {
	at := mcproto.Position{X: 1, Y: 64, Z: 0}
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		ids := breakIDs[proto]
		honest := []struct {
			name    string
			block   uint16
			item    int32 // -1: empty hand; 0: unknown (no slot packet)
			enchant bool
			haste   int32 // amplifier+1
			ticks   int   // tick packets between start and finish: vanilla's ceil(1/progress) − 1
			water   bool
		}{
			// 2/1.5/30 per tick: 23 ticks.
			{name: "stone_wooden_pickaxe", block: ids.stone, item: ids.woodPick, ticks: 22},
			// 8/1.5/30: 6 ticks.
			{name: "stone_diamond_pickaxe", block: ids.stone, item: ids.diamondPick, ticks: 5},
			// 1/0.5/30: 15 ticks.
			{name: "dirt_by_hand", block: ids.dirt, item: -1, ticks: 14},
			// Hardness 0: the start breaks it.
			{name: "torch_instant", block: ids.torch, item: -1, ticks: 0},
			// Efficiency V (the item has NBT/components): (8+26)/1.5/30: 2 ticks.
			{name: "stone_efficiency", block: ids.stone, item: ids.diamondPick, enchant: true, ticks: 1},
			// Haste V (a command's): 8×2/50/30 on obsidian: 94 ticks;
			// without the effect that is 54 % of a break.
			{name: "obsidian_haste", block: ids.obsidian, item: ids.diamondPick, haste: 5, ticks: 93},
			// Unknown item: the best pickaxe with Efficiency V; a
			// netherite one with Efficiency V and Haste II takes 31
			// ticks on obsidian.
			{name: "obsidian_unknown_tool", block: ids.obsidian, item: 0, haste: 2, ticks: 30},
			// In water without Aqua Affinity a dig takes 5× as long:
			// slower than the check assumes, never flagged.
			{name: "stone_in_water", block: ids.stone, item: ids.diamondPick, ticks: 29, water: true},
		}
		for _, c := range honest {
			t.Run(c.name, func(t *testing.T) {
				s, w := breakSession(t, proto)
				w.set(at.X, at.Y, at.Z, c.block)
				if c.water {
					w.fill(0, 64, 0, 0, 65, 0, w.water)
				}
				switch {
				case c.item < 0:
					s.hold(-1, false)
				case c.item > 0:
					s.hold(c.item, c.enchant)
				}
				if c.haste > 0 {
					s.cb(packets.KindEntityEffect, packets.EntityEffect{EntityID: selfID, EffectID: effectID(proto, effectHaste), Amplifier: c.haste - 1})
					s.ack()
				}
				if v := s.digFor(at, c.ticks); v.Outcome != Pass {
					t.Errorf("honest dig: %v", v.Outcome)
				}
				if k := s.flagged(); len(k) > 0 {
					t.Errorf("honest dig flagged %v %v", k, s.rec.events)
				}
			})
		}
		t.Run("obsidian_at_once", func(t *testing.T) {
			// The cheat every version sees: obsidian (hardness 50) with a
			// diamond pickaxe finished right after the start; 188 ticks
			// in vanilla, more than 20 per silent gap on 1.9–1.21.1.
			s, w := breakSession(t, proto)
			w.set(at.X, at.Y, at.Z, ids.obsidian)
			s.hold(ids.diamondPick, false)
			if v := s.digFor(at, 0); v.Outcome != Drop {
				t.Errorf("obsidian at once: %v, want drop", v.Outcome)
			}
			if k := s.flagged(); len(k) != 1 || k[0] != "world.fast_break" {
				t.Errorf("flagged %v, want world.fast_break", k)
			}
		})
		t.Run("stone_too_fast", func(t *testing.T) {
			// Where ticks are counted one by one (1.8, 1.21.2+ tick
			// ends), stone with a diamond pickaxe in 2 ticks instead of 6.
			s, w := breakSession(t, proto)
			w.set(at.X, at.Y, at.Z, ids.stone)
			s.hold(ids.diamondPick, false)
			want := Drop
			if proto >= mcproto.Protocol1_9 && proto < mcproto.Protocol1_21_2 {
				want = Pass // a silent gap may hide 20 ticks
			}
			if v := s.digFor(at, 1); v.Outcome != want {
				t.Errorf("stone in 2 ticks: %v, want %v", v.Outcome, want)
			}
		})
		t.Run("unknown_window_after_click", func(t *testing.T) {
			// A window click may move the pickaxe: the held item is
			// unknown again, so the fastest tool is assumed.
			s, w := breakSession(t, proto)
			w.set(at.X, at.Y, at.Z, ids.stone)
			s.hold(-1, false)
			s.sb(packets.KindWindowClick, clickPacket(proto, 36, 0, 0))
			if v := s.digFor(at, 1); v.Outcome != Pass {
				t.Errorf("dig after a click: %v, want pass (item unknown)", v.Outcome)
			}
		})
		t.Run("window_items", func(t *testing.T) {
			s, w := breakSession(t, proto)
			w.set(at.X, at.Y, at.Z, ids.obsidian)
			s.cbRaw(packets.KindWindowItems, windowItemsBytes(proto, slotBytes(proto, ids.woodPick, false)))
			// A wooden pickaxe does not harvest obsidian: 2/50/100, 2500
			// ticks; with the item unknown (1.20.5+ window items are not
			// walked) the fastest tool: 31 ticks.
			want := Drop
			if proto >= mcproto.Protocol1_20_5 {
				want = Pass
			}
			if v := s.digFor(at, 40); v.Outcome != want {
				t.Errorf("obsidian with a wooden pickaxe in 41 ticks: %v, want %v", v.Outcome, want)
			}
		})
		t.Run("creative", func(t *testing.T) {
			cfg := Config{Checks: map[string]CheckConfig{"world.fast_break": {Mode: ModeEnforce}}}
			s := newPlaying(t, proto, packets.GameModeCreative, cfg)
			w := newTerrain(t, proto)
			s.p.SetWorld(w, mustTable(t, proto))
			dt, _ := blocks.DigForProtocol(proto)
			s.p.SetDig(dt)
			w.set(at.X, at.Y, at.Z, ids.obsidian)
			if v := s.digFor(at, 0); v.Outcome != Pass {
				t.Errorf("creative: %v", v.Outcome)
			}
		})
	})
}

// TestBreakTimeOffHoldsNothing: with the check off (its default) a player
// carries no break state, whatever slot packets and digs pass.
func TestBreakTimeOffHoldsNothing(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		s.p.SetWorld(newTerrain(t, proto), mustTable(t, proto))
		dt, _ := blocks.DigForProtocol(proto)
		s.p.SetDig(dt)
		s.hold(breakIDs[proto].diamondPick, false)
		s.cb(packets.KindEntityEffect, packets.EntityEffect{EntityID: selfID, EffectID: effectID(proto, effectHaste), Amplifier: 1})
		s.digFor(mcproto.Position{X: 1, Y: 64, Z: 0}, 0)
		if s.p.interaction.brk.st != nil {
			t.Errorf("break state allocated with the check off")
		}
	})
}

// attrBytes encodes a 1.20.5+ attribute update for the player: each
// attribute by registry id with a base value and no modifiers.
func attrBytes(attrs map[int32]float64) []byte {
	b := mcproto.AppendVarInt(nil, selfID)
	b = mcproto.AppendVarInt(b, int32(len(attrs)))
	for id, v := range attrs {
		b = mcproto.AppendVarInt(b, id)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(v))
		b = mcproto.AppendVarInt(b, 0)
	}
	return b
}

// TestBreakTimeAttributes: 1.21.4's dig attributes. A faster
// block_break_speed or a mining_efficiency the check cannot account for
// makes it stand down; Efficiency V's 26 on an enchanted tool is what it
// assumes anyway.
func TestBreakTimeAttributes(t *testing.T) {
	const proto = 769
	ids := breakIDs[proto]
	at := mcproto.Position{X: 1, Y: 64, Z: 0}
	cases := []struct {
		name    string
		attrs   map[int32]float64
		enchant bool
		want    Outcome
	}{
		{"default", map[int32]float64{5: 1, 19: 0, 28: 0.2}, false, Drop},
		{"block_break_speed", map[int32]float64{5: 3}, false, Pass},
		{"submerged_fast", map[int32]float64{28: 2}, false, Pass},
		{"efficiency_v_enchanted", map[int32]float64{19: 26}, true, Drop},
		{"mining_efficiency_plain_item", map[int32]float64{19: 5}, false, Pass},
		{"back_to_default", map[int32]float64{5: 1}, false, Drop},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, w := breakSession(t, proto)
			w.set(at.X, at.Y, at.Z, ids.obsidian)
			s.hold(ids.diamondPick, c.enchant)
			if c.name == "back_to_default" {
				s.cbRaw(packets.KindEntityAttributes, attrBytes(map[int32]float64{5: 3}))
			}
			s.cbRaw(packets.KindEntityAttributes, attrBytes(c.attrs))
			if v := s.digFor(at, 0); v.Outcome != c.want {
				t.Errorf("obsidian at once: %v, want %v", v.Outcome, c.want)
			}
		})
	}
}

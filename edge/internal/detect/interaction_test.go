package detect

import (
	"math"
	"slices"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func slotStep(slot int16) step {
	return sendStep(packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: slot})
}

func TestHeldSlotRepeatsAndRange(t *testing.T) {
	serverSlot := func(proto int32) step { return recvStep(packets.KindHeldItemSlot, []byte{3}) }
	for _, tc := range []struct {
		name  string
		steps func(proto int32) []step
		want  []string
	}{
		{"scrolling", func(int32) []step {
			return []step{slotStep(3), slotStep(4), slotStep(0), slotStep(8)}
		}, nil},
		{"first packet may repeat our default", func(int32) []step { return []step{slotStep(0)} }, nil},
		{"echo of a server-set slot", func(p int32) []step { return []step{slotStep(3), serverSlot(p), slotStep(3)} }, nil},
		{"after respawn", func(p int32) []step {
			return []step{slotStep(3), recvStep(packets.KindRespawn, respawnPacket(p, 0)), slotStep(3)}
		}, nil},
		{"repeat", func(int32) []step { return []step{slotStep(3), slotStep(3)} }, []string{"badpackets.same_slot"}},
		{"repeat after echo", func(p int32) []step { return []step{serverSlot(p), slotStep(3), slotStep(3)} }, []string{"badpackets.same_slot"}},
		{"out of range", func(int32) []step { return []step{slotStep(9)} }, []string{"badpackets.slot_range"}},
		{"negative", func(int32) []step { return []step{slotStep(-1)} }, []string{"badpackets.slot_range"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				got, _ := s.run(tc.steps(proto))
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
				}
			})
		})
	}
}

func TestSameSlotOnlyAlerts(t *testing.T) {
	s := newPlaying(t, 765, packets.GameModeSurvival, Config{})
	s.sb(packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 2})
	if v := s.sb(packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 2}); v.Outcome != Pass {
		t.Errorf("same slot: %v, want the packet relayed (alert only)", v.Outcome)
	}
}

func TestDigFields(t *testing.T) {
	origin := mcproto.Position{}
	block := mcproto.Position{X: 10, Y: 64, Z: -3}
	for _, tc := range []struct {
		name  string
		from  int32 // lowest protocol the case applies to
		until int32 // first protocol it no longer applies to (0: none)
		digs  []packets.BlockDig
		want  []string
	}{
		{"dig a block", 0, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 1, Sequence: 1}, {Status: digFinish, Location: block, Face: 1, Sequence: 2}}, nil},
		{"cancel digging", 0, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 1, Sequence: 1}, {Status: digAbort, Location: block}}, nil},
		{"mineflayer digs with sequence 0", 0, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 1}, {Status: digFinish, Location: block, Face: 1}}, nil},
		{"drop, release, swap", 107, 0, []packets.BlockDig{{Status: digDropOne}, {Status: digDropAll}, {Status: digRelease}, {Status: digSwapHands}}, nil},
		{"mineflayer 1.8 release", 0, 107, []packets.BlockDig{{Status: digRelease, Face: 5}}, nil},
		{"drop away from the origin", 0, 0, []packets.BlockDig{{Status: digDropOne, Location: block}}, []string{"badpackets.dig_fields"}},
		{"release facing up", 107, 0, []packets.BlockDig{{Status: digRelease, Face: 1}}, []string{"badpackets.dig_fields"}},
		{"drop with a sequence", mcproto.Protocol1_19, 0, []packets.BlockDig{{Status: digDropOne, Sequence: 3}}, []string{"badpackets.dig_fields"}},
		{"face 6", 0, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 6, Sequence: 1}}, []string{"badpackets.dig_fields"}},
		{"unknown status", 0, 0, []packets.BlockDig{{Status: 9, Location: origin}}, []string{"badpackets.dig_fields"}},
		{"swap on 1.8", 0, 107, []packets.BlockDig{{Status: digSwapHands}}, []string{"badpackets.dig_fields"}},
		{"negative sequence", mcproto.Protocol1_19, 0, []packets.BlockDig{{Status: digStart, Location: block, Face: 1, Sequence: -5}}, []string{"crash.negative_sequence"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				if proto < tc.from || tc.until != 0 && proto >= tc.until {
					return
				}
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				var v Verdict
				for _, d := range tc.digs {
					v = worse(v, s.sb(packets.KindBlockDig, d))
				}
				got := s.flagged()
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
				}
				if tc.want != nil && v.Outcome != Drop {
					t.Errorf("%s on %d: %v, want drop", tc.name, proto, v.Outcome)
				}
			})
		})
	}
}

func TestPredictionSequence(t *testing.T) {
	block := mcproto.Position{X: 1, Y: 64, Z: 1}
	place := func(seq int32) step {
		return sendStep(packets.KindBlockPlace, packets.BlockPlace{Location: block, Face: 1, CursorX: 0.5, CursorY: 1, CursorZ: 0.5, Sequence: seq})
	}
	use := func(seq int32) step { return sendStep(packets.KindUseItem, packets.UseItem{Sequence: seq}) }
	dig := func(status, seq int32) step {
		return sendStep(packets.KindBlockDig, packets.BlockDig{Status: status, Location: block, Face: 1, Sequence: seq})
	}
	enabled := Config{Checks: map[string]CheckConfig{"badpackets.sequence": {Mode: ModeAlert}}}
	for _, tc := range []struct {
		name  string
		cfg   Config
		steps func(proto int32) []step
		want  []string
	}{
		{"vanilla counts up", enabled, func(int32) []step {
			return []step{use(1), place(2), dig(digStart, 3), dig(digAbort, 0), dig(digStart, 4), dig(digFinish, 5)}
		}, nil},
		{"a new world restarts the count", enabled, func(p int32) []step {
			return []step{use(7), recvStep(packets.KindRespawn, respawnPacket(p, 0)), use(1)}
		}, nil},
		{"skipped", enabled, func(int32) []step { return []step{use(1), place(3)} }, []string{"badpackets.sequence"}},
		{"abort with a sequence", enabled, func(int32) []step { return []step{dig(digAbort, 4)} }, []string{"badpackets.sequence"}},
		{"mineflayer, default config", Config{}, func(int32) []step {
			return []step{use(1), place(0), dig(digStart, 0), dig(digFinish, 0), use(2), place(0)}
		}, nil},
		{"negative, default config", Config{}, func(int32) []step { return []step{place(-1)} }, []string{"crash.negative_sequence"}},
		{"negative abort", Config{}, func(int32) []step { return []step{dig(digAbort, -1)} }, []string{"crash.negative_sequence"}},
	} {
		for _, proto := range []int32{mcproto.Protocol1_19, 765, 769} {
			s := newPlaying(t, proto, packets.GameModeSurvival, tc.cfg)
			got, _ := s.run(tc.steps(proto))
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
			}
		}
	}
}

func TestUseFields(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name   string
		protos []int32
		kind   packets.Kind
		pk     func(proto int32) appender
		want   []string
	}{
		{"1.8 vanilla item use", []int32{47}, packets.KindBlockPlace, func(p int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: -1, Y: -1, Z: -1}, Face: useItemFace, Item: itemStack(p, true)}
		}, nil},
		{"1.8 mineflayer item use", []int32{47}, packets.KindBlockPlace, func(p int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: -1, Y: 255, Z: -1}, Face: useItemFace, Item: itemStack(p, true),
				CursorX: mineflayerUseCursor, CursorY: mineflayerUseCursor, CursorZ: mineflayerUseCursor}
		}, nil},
		{"1.8 placement", []int32{47}, packets.KindBlockPlace, func(p int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 1, Item: itemStack(p, false), CursorX: 0.5, CursorY: 1, CursorZ: 0.5}
		}, nil},
		{"placement", []int32{340, 754, 765, 769}, packets.KindBlockPlace, func(int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 1, Hand: packets.HandOff, CursorX: 0.5, CursorY: 1, CursorZ: 0.5}
		}, nil},
		{"item use", []int32{340, 754, 765, 769}, packets.KindUseItem, func(int32) appender { return packets.UseItem{Hand: packets.HandOff, Sequence: 1} }, nil},
		{"1.8 item use elsewhere", []int32{47}, packets.KindBlockPlace, func(p int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 5, Y: 5, Z: 5}, Face: useItemFace, Item: itemStack(p, true)}
		}, []string{"badpackets.use_fields"}},
		{"1.8 item use with a cursor", []int32{47}, packets.KindBlockPlace, func(p int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: -1, Y: -1, Z: -1}, Face: useItemFace, Item: itemStack(p, true), CursorX: 0.5}
		}, []string{"badpackets.use_fields"}},
		{"1.8 item use with an empty hand", []int32{47}, packets.KindBlockPlace, func(p int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: -1, Y: -1, Z: -1}, Face: useItemFace, Item: itemStack(p, false)}
		}, []string{"badpackets.use_fields"}},
		{"1.8 face 9", []int32{47}, packets.KindBlockPlace, func(p int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 9, Item: itemStack(p, false)}
		}, []string{"badpackets.use_fields"}},
		{"hand 2", []int32{340, 754, 765, 769}, packets.KindBlockPlace, func(int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 1, Hand: 2, CursorX: 0.5}
		}, []string{"badpackets.use_fields"}},
		{"face -1", []int32{340, 754, 765, 769}, packets.KindBlockPlace, func(int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: -1}
		}, []string{"badpackets.use_fields"}},
		{"NaN cursor", []int32{340, 754, 765, 769}, packets.KindBlockPlace, func(int32) appender {
			return packets.BlockPlace{Location: mcproto.Position{X: 3, Y: 60, Z: 3}, Face: 1, CursorX: nan}
		}, []string{"badpackets.use_fields"}},
		{"item use with hand 5", []int32{340, 754, 765, 769}, packets.KindUseItem, func(int32) appender { return packets.UseItem{Hand: 5} }, []string{"badpackets.use_fields"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, tc.protos, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				v := s.sb(tc.kind, tc.pk(proto))
				got := s.flagged()
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s on %d: flagged %v, want %v", tc.name, proto, got, tc.want)
				}
				if v.Outcome != Pass {
					t.Errorf("%s on %d: %v, want alert only", tc.name, proto, v.Outcome)
				}
			})
		})
	}
}

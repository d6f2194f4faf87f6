package detect

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func TestCreativeActionFollowsGameModeThroughTheClock(t *testing.T) {
	type expect struct {
		outcome Outcome
		flagged []string
	}
	flagged := expect{Drop, []string{"crash.creative"}}
	quiet := expect{Drop, nil}
	ok := expect{Pass, nil}
	for _, tc := range []struct {
		name  string
		gm    uint8
		steps func(proto int32) []step // before the creative action
		want  expect
	}{
		{"survival", packets.GameModeSurvival, nil, flagged},
		{"adventure", packets.GameModeAdventure, nil, flagged},
		{"creative from join", packets.GameModeCreative, nil, ok},
		{"becoming creative, not yet acked", packets.GameModeSurvival, func(int32) []step {
			return []step{recvStep(packets.KindGameStateChange, gameModePacket(packets.GameModeCreative))}
		}, quiet},
		{"becoming creative, acked", packets.GameModeSurvival, func(int32) []step {
			return []step{recvStep(packets.KindGameStateChange, gameModePacket(packets.GameModeCreative)), {ack: true}}
		}, ok},
		{"leaving creative, not yet acked", packets.GameModeCreative, func(int32) []step {
			return []step{recvStep(packets.KindGameStateChange, gameModePacket(packets.GameModeSurvival))}
		}, ok},
		{"leaving creative, acked", packets.GameModeCreative, func(int32) []step {
			return []step{recvStep(packets.KindGameStateChange, gameModePacket(packets.GameModeSurvival)), {ack: true}}
		}, flagged},
		{"respawn into creative, acked", packets.GameModeSurvival, func(p int32) []step {
			return []step{recvStep(packets.KindRespawn, respawnPacket(p, packets.GameModeCreative)), {ack: true}}
		}, ok},
		{"instabuild ability, acked", packets.GameModeSurvival, func(int32) []step {
			return []step{recvStep(packets.KindPlayerAbilitiesClientbound, abilitiesPacket(abilityInstabuild)), {ack: true}}
		}, ok},
		{"a probe answered before the change", packets.GameModeSurvival, func(int32) []step {
			return []step{{ack: true}, recvStep(packets.KindGameStateChange, gameModePacket(packets.GameModeCreative))}
		}, quiet},
		{"other game events change nothing", packets.GameModeSurvival, func(int32) []step {
			return []step{recvStep(packets.KindGameStateChange, mcproto.AppendFloat32([]byte{7}, 1)), {ack: true}}
		}, flagged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, tc.gm, Config{})
				if tc.steps != nil {
					s.run(tc.steps(proto))
				}
				v := s.sb(packets.KindCreativeSlot, packets.CreativeSlot{Slot: 36, Item: itemStack(proto, true)})
				got := s.flagged()
				if v.Outcome != tc.want.outcome || !slices.Equal(got, tc.want.flagged) {
					t.Errorf("%s on %d: %v %v, want %v %v", tc.name, proto, v.Outcome, got, tc.want.outcome, tc.want.flagged)
				}
			})
		})
	}
}

func TestCreativeInFlightIsNotDroppedInAlertMode(t *testing.T) {
	s := newPlaying(t, 765, packets.GameModeSurvival, Config{Checks: map[string]CheckConfig{"crash.creative": {Mode: ModeAlert}}})
	s.cbRaw(packets.KindGameStateChange, gameModePacket(packets.GameModeCreative))
	if v := s.sb(packets.KindCreativeSlot, packets.CreativeSlot{Slot: 36, Item: itemStack(765, true)}); v.Outcome != Pass {
		t.Errorf("alert mode dropped an action: %v", v.Outcome)
	}
}

// clickPacket builds a window click that decodes on proto.
func clickPacket(proto int32, slot int16, button int8, mode int32) packets.WindowClick {
	c := packets.WindowClick{WindowID: 1, StateID: 5, Slot: slot, Button: button, Mode: mode, Action: 3}
	if proto < 755 {
		c.Item = itemStack(proto, false)
	} else {
		c.Rest = []byte{0, 0} // no changed slots, empty cursor
	}
	return c
}

func TestClickFields(t *testing.T) {
	for _, tc := range []struct {
		name               string
		slot               int16
		button             int8
		mode               int32
		bad                bool
		configuredMaxSlots float64
	}{
		{"pickup", 5, 0, 0, false, 0},
		{"right-click pickup", 44, 1, 0, false, 0},
		{"quick move", 10, 0, 1, false, 0},
		{"hotbar swap", 10, 3, 2, false, 0},
		{"off-hand swap", 10, 40, 2, false, 0},
		{"clone outside", slotOutside, 2, 3, false, 0},
		{"throw", 20, 1, 4, false, 0},
		{"drop outside", slotOutside, 0, 4, false, 0},
		{"quick craft start", slotOutside, 0, 5, false, 0},
		{"quick craft slot", 12, 1, 5, false, 0},
		{"pickup all", 12, 0, 6, false, 0},
		{"no slot", slotNone, 0, 0, false, 0},
		{"double chest, last slot", 89, 0, 0, false, 0},
		{"modded chest with a raised limit", 140, 0, 0, false, 200},
		{"mode 7", 5, 0, 7, true, 0},
		{"negative mode", 5, 0, -1, true, 0},
		{"quick move with a negative button", 5, -1, 1, true, 0},
		{"swap with a negative button", 5, -3, 2, true, 0},
		{"swap from outside", slotOutside, 0, 2, true, 0},
		{"slot 128", 128, 0, 0, true, 0},
		{"slot -5", -5, 0, 0, true, 0},
		{"slot 32767", math.MaxInt16, 0, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				cfg := Config{}
				if tc.configuredMaxSlots != 0 {
					cfg.Checks = map[string]CheckConfig{"crash.click_fields": {Params: map[string]float64{"max_slot": tc.configuredMaxSlots}}}
				}
				s := newPlaying(t, proto, packets.GameModeSurvival, cfg)
				s.cbRaw(packets.KindOpenWindow, openWindowPacket(proto, 1))
				v := s.sb(packets.KindWindowClick, clickPacket(proto, tc.slot, tc.button, tc.mode))
				got := s.flagged()
				if tc.bad && (!slices.Equal(got, []string{"crash.click_fields"}) || v.Outcome != Drop) {
					t.Errorf("%s on %d: %v %v, want crash.click_fields and a drop", tc.name, proto, v.Outcome, got)
				}
				if !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
					t.Errorf("%s on %d: %v %v, want nothing", tc.name, proto, v.Outcome, got)
				}
			})
		})
	}
}

func TestAnvilNameBefore113(t *testing.T) {
	for _, tc := range []struct {
		proto int32
		data  []byte
		bad   bool
	}{
		{47, mcproto.AppendString(nil, strings.Repeat("x", 30)), false},
		{47, mcproto.AppendString(nil, strings.Repeat("é", 30)), false}, // chars, not bytes
		{47, nil, false}, // clears the name
		{47, mcproto.AppendString(nil, strings.Repeat("x", 31)), true},
		{47, []byte{0x80}, true}, // not a string
		{340, mcproto.AppendString(nil, strings.Repeat("x", 35)), false},
		{340, mcproto.AppendString(nil, strings.Repeat("x", 36)), true},
		{316, mcproto.AppendString(nil, strings.Repeat("x", 31)), false},
		{316, mcproto.AppendString(nil, strings.Repeat("x", 32)), true},
	} {
		s := newPlaying(t, tc.proto, packets.GameModeSurvival, Config{})
		v := s.sb(packets.KindPluginMessage, packets.PluginMessage{Channel: []byte(legacyAnvilChannel), Data: tc.data})
		got := s.flagged()
		if tc.bad && (!slices.Equal(got, []string{"crash.anvil_name"}) || v.Outcome != Drop) || !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
			t.Errorf("%d %q: %v %v, want bad=%v", tc.proto, tc.data, v.Outcome, got, tc.bad)
		}
	}
}

func TestAnvilNameFrom113(t *testing.T) {
	for _, tc := range []struct {
		proto int32
		name  string
		want  []string
	}{
		{mcproto.Protocol1_13, strings.Repeat("x", 35), nil},
		{mcproto.Protocol1_13, strings.Repeat("x", 36), []string{"crash.anvil_name"}},
		{754, strings.Repeat("é", 35), nil}, // 1.16.5: chars, not bytes
		{754, strings.Repeat("x", 36), []string{"crash.anvil_name"}},
		{755, strings.Repeat("x", 50), nil}, // 1.17: 50
		{765, strings.Repeat("x", 51), []string{"crash.anvil_name"}},
		{769, "", nil}, // clears the name
		{769, "😀" + strings.Repeat("x", 48), nil},                          // 50 UTF-16 units
		{769, "😀" + strings.Repeat("x", 49), []string{"crash.anvil_name"}}, // 51
		{769, "${jndi:ldap://x}", []string{"chat.lookup_string"}},
	} {
		s := newPlaying(t, tc.proto, packets.GameModeSurvival, Config{})
		v := s.sb(packets.KindNameItem, packets.NameItem{Name: []byte(tc.name)})
		got := s.flagged()
		if !slices.Equal(got, tc.want) || tc.want == nil && v.Outcome != Pass || tc.want != nil && v.Outcome != Drop {
			t.Errorf("%d %q: %v %v, want %v and a drop", tc.proto, tc.name, v.Outcome, got, tc.want)
		}
	}
}

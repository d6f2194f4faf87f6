package detect

import (
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func TestUnknownWindow(t *testing.T) {
	click := func(s *session, id int32) Verdict {
		c := clickPacket(s.proto, 5, 0, 0)
		c.WindowID = id
		return s.sb(packets.KindWindowClick, c)
	}
	for _, tc := range []struct {
		name  string
		run   func(s *session) Verdict
		flags int
	}{
		{"player inventory", func(s *session) Verdict { return click(s, 0) }, 0},
		{"a window never opened", func(s *session) Verdict { return click(s, 7) }, 1},
		{"the window the server opened", func(s *session) Verdict {
			s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, 7))
			return click(s, 7)
		}, 0},
		{"a click in flight when the server closes", func(s *session) Verdict {
			s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, 7))
			s.cb(packets.KindCloseWindow, packets.CloseWindow{WindowID: 7})
			return click(s, 7)
		}, 0},
		{"a click after the client read the close", func(s *session) Verdict {
			s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, 7))
			s.cb(packets.KindCloseWindow, packets.CloseWindow{WindowID: 7})
			s.ack()
			return click(s, 7)
		}, 1},
		{"a click after the client closed it", func(s *session) Verdict {
			s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, 7))
			s.sb(packets.KindCloseWindow, packets.CloseWindow{WindowID: 7})
			return click(s, 7)
		}, 1},
		{"a close for a window never opened", func(s *session) Verdict {
			return s.sb(packets.KindCloseWindow, packets.CloseWindow{WindowID: 42})
		}, 1},
		{"a window replaced by the next", func(s *session) Verdict {
			s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, 7))
			s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, 8))
			s.ack()
			return click(s, 7)
		}, 1},
		// More windows closing at once than the edge remembers one by
		// one: the overflow widens (every window passes) until the
		// probe sent after them is answered, then narrows again.
		{"windows swapped faster than the probes", func(s *session) Verdict {
			for id := int32(1); id <= 2*maxClosingWindows; id++ {
				s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, id))
			}
			v := pass
			for id := int32(1); id <= 2*maxClosingWindows; id++ {
				v = worse(v, click(s, id))
			}
			return v
		}, 0},
		{"swapped windows after the client read the swaps", func(s *session) Verdict {
			for id := int32(1); id <= 2*maxClosingWindows; id++ {
				s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, id))
			}
			s.ack()
			click(s, 2*maxClosingWindows) // the open one
			click(s, 1)                   // spilled, then answered
			return click(s, 2*maxClosingWindows-1)
		}, 2},
		{"a modded window id beyond 100", func(s *session) Verdict {
			if s.proto < mcproto.Protocol1_14 {
				return pass // the id is a byte: 101..255 are still tracked as unknown
			}
			s.cbRaw(packets.KindOpenWindow, openWindowPacket(s.proto, 300))
			return click(s, 9)
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				v := tc.run(s)
				if n := s.count("inventory.unknown_window"); n != tc.flags {
					t.Fatalf("%d: %d flags %v, want %d", proto, n, s.flagged(), tc.flags)
				}
				if tc.flags > 0 && v.Outcome != Drop {
					t.Errorf("%d: %v, want drop", proto, v.Outcome)
				}
			})
		})
	}
	t.Run("transaction", func(t *testing.T) {
		eachVersion(t, []int32{mcproto.Protocol1_8, mcproto.Protocol1_12_2, mcproto.Protocol1_16_5}, func(t *testing.T, proto int32) {
			s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
			s.cbRaw(packets.KindOpenWindow, openWindowPacket(proto, 3))
			if v := s.sb(packets.KindTransaction, packets.Transaction{WindowID: 3, Action: 5, Accepted: true}); v.Outcome != Pass {
				t.Errorf("%d: the open window's confirmation: %v", proto, v.Outcome)
			}
			if v := s.sb(packets.KindTransaction, packets.Transaction{WindowID: 9, Action: 5, Accepted: true}); v.Outcome != Drop {
				t.Errorf("%d: an unknown window's confirmation: %v, want drop", proto, v.Outcome)
			}
		})
	})
}

func TestInteractionBounds(t *testing.T) {
	at := func(x, y, z int32) mcproto.Position { return mcproto.Position{X: x, Y: y, Z: z} }
	dig := func(s *session, status int32, loc mcproto.Position) Verdict {
		return s.sb(packets.KindBlockDig, packets.BlockDig{Status: status, Location: loc, Face: 1})
	}
	place := func(s *session, loc mcproto.Position, face int32) Verdict {
		return s.sb(packets.KindBlockPlace, packets.BlockPlace{Location: loc, Face: face, Item: itemStack(s.proto, true), CursorX: 0.5, CursorY: 1, CursorZ: 0.5})
	}
	for _, tc := range []struct {
		name string
		gm   uint8
		run  func(s *session) Verdict
		want string
	}{
		{"dig at the feet", packets.GameModeSurvival, func(s *session) Verdict {
			dig(s, digStart, at(1, 63, 0))
			return dig(s, digFinish, at(1, 63, 0))
		}, ""},
		{"dig 4 blocks away", packets.GameModeSurvival, func(s *session) Verdict { return dig(s, digStart, at(4, 65, 0)) }, ""},
		{"dig 8 blocks away", packets.GameModeSurvival, func(s *session) Verdict { return dig(s, digStart, at(8, 65, 0)) }, "interaction.dig_reach"},
		{"dig below the feet far down", packets.GameModeSurvival, func(s *session) Verdict { return dig(s, digStart, at(0, 56, 0)) }, "interaction.dig_reach"},
		{"creative digs 5.5 away", packets.GameModeCreative, func(s *session) Verdict { return dig(s, digStart, at(6, 65, 0)) }, ""},
		{"breaking at vanilla pace", packets.GameModeSurvival, func(s *session) Verdict {
			v := pass
			for i := int32(0); i < 40; i++ {
				s.advance(6 * tickDuration)
				dig(s, digStart, at(1, 64, i%3))
				s.advance(tickDuration)
				v = worse(v, dig(s, digFinish, at(1, 64, i%3)))
			}
			return v
		}, ""},
		{"instant breaks one a tick", packets.GameModeSurvival, func(s *session) Verdict {
			v := pass
			for i := int32(0); i < 60; i++ {
				s.advance(tickDuration)
				v = worse(v, dig(s, digStart, at(1, 64, i%3)))
			}
			return v
		}, ""},
		{"nuker: 30 breaks at once", packets.GameModeSurvival, func(s *session) Verdict {
			v := pass
			for i := int32(0); i < 30; i++ {
				v = worse(v, dig(s, digFinish, at(1+i%3, 63+i%2, i%5-2)))
			}
			return v
		}, "interaction.fast_break"},
		{"place on the ground", packets.GameModeSurvival, func(s *session) Verdict { return place(s, at(1, 63, 0), 1) }, ""},
		{"place at vanilla pace", packets.GameModeSurvival, func(s *session) Verdict {
			v := pass
			for i := int32(0); i < 40; i++ {
				s.advance(4 * tickDuration)
				v = worse(v, place(s, at(1, 63, i%3), 1))
			}
			return v
		}, ""},
		{"fast place: 40 a second", packets.GameModeSurvival, func(s *session) Verdict {
			v := pass
			for i := int32(0); i < 40; i++ {
				s.advance(25 * time.Millisecond)
				v = worse(v, place(s, at(1, 63, i%3), 1))
			}
			return v
		}, "interaction.fast_place"},
		{"place 9 blocks away", packets.GameModeSurvival, func(s *session) Verdict { return place(s, at(9, 63, 0), 1) }, "interaction.place_reach"},
		{"place on the bottom face of a block below", packets.GameModeSurvival, func(s *session) Verdict { return place(s, at(1, 62, 0), 0) }, "interaction.place_face"},
		{"place on the top face of a block above", packets.GameModeSurvival, func(s *session) Verdict { return place(s, at(1, 67, 0), 1) }, "interaction.place_face"},
		{"place on the far side of a block", packets.GameModeSurvival, func(s *session) Verdict { return place(s, at(2, 64, 0), 5) }, "interaction.place_face"},
		{"place on the near side of a block", packets.GameModeSurvival, func(s *session) Verdict { return place(s, at(2, 64, 0), 4) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, tc.gm, Config{})
				s.spawnAt(0.5, 64, 0.5)
				v := tc.run(s)
				got := s.flagged()
				if tc.want == "" {
					if len(got) != 0 {
						t.Fatalf("%d: honest: %v %v", proto, v.Outcome, got)
					}
					return
				}
				if s.count(tc.want) == 0 || v.Outcome == Pass {
					t.Fatalf("%d: %v %v, want %s and a drop", proto, v.Outcome, got, tc.want)
				}
			})
		})
	}
}

func TestMultiTarget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   func(s *session) Verdict
		flags bool
	}{
		{"one target a tick", func(s *session) Verdict {
			v := pass
			for i := 0; i < 10; i++ {
				s.advance(tickDuration)
				s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: 0.5 + float64(i)*0.1, Y: 64, Z: 0.5, Yaw: float32(i * 5), Flags: packets.MoveOnGround})
				v = worse(v, s.attack(50+int32(i%2)))
			}
			return v
		}, false},
		{"two clicks on one target in a tick", func(s *session) Verdict {
			s.attack(50)
			return s.attack(50)
		}, false},
		{"three targets in a tick while moving", func(s *session) Verdict {
			for i := 0; i < 5; i++ {
				s.advance(tickDuration)
				s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: 0.5 + float64(i)*0.1, Y: 64, Z: 0.5, Yaw: float32(i * 5), Flags: packets.MoveOnGround})
			}
			s.attack(50)
			s.attack(51)
			return s.attack(52)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				s.spawnAt(0.5, 64, 0.5)
				for id := int32(50); id < 53; id++ {
					s.spawnPlayer(id, 1.5, 64, 0.5+float64(id-50)*0.3)
				}
				s.ack()
				v := tc.run(s)
				if got := s.count("combat.multi_target") > 0; got != tc.flags {
					t.Fatalf("%d: flagged=%v %v, want %v", proto, got, s.flagged(), tc.flags)
				}
				if tc.flags && v.Outcome != Drop && v.Outcome != Kick {
					t.Errorf("%d: %v, want the attack dropped", proto, v.Outcome)
				}
			})
		})
	}
	t.Run("1.9+ idle: no tick packets to tell ticks apart", func(t *testing.T) {
		s := newPlaying(t, mcproto.Protocol1_20_3, packets.GameModeSurvival, Config{})
		s.spawnAt(0.5, 64, 0.5)
		s.spawnPlayer(50, 1.5, 64, 0.5)
		s.spawnPlayer(51, 1.5, 64, 1)
		s.ack()
		s.attack(50)
		s.advance(10 * time.Millisecond)
		s.attack(51)
		if n := s.count("combat.multi_target"); n != 0 {
			t.Fatalf("flagged an idle 1.20.4 client: %v", s.flagged())
		}
	})
}

// TestAutoclickerKicks: attacks above the rate buckets are dropped and a
// sustained 25 CPS kicks.
func TestAutoclickerKicks(t *testing.T) {
	eachVersion(t, []int32{mcproto.Protocol1_8, mcproto.Protocol1_20_3}, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		s.spawnAt(0.5, 64, 0.5)
		s.spawnPlayer(50, 1.5, 64, 0.5)
		s.ack()
		var v Verdict
		dropped := 0
		for i := 0; i < 100 && v.Outcome != Kick; i++ {
			s.advance(40 * time.Millisecond)
			s.sb(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: 0.5, Y: 64, Z: 0.5, Yaw: float32(i % 7), Flags: packets.MoveOnGround})
			v = s.attack(50)
			if v.Outcome == Drop {
				dropped++
			}
		}
		if v.Outcome != Kick || dropped == 0 {
			t.Fatalf("%d: %v after %d dropped attacks, want drops then a kick", proto, v.Outcome, dropped)
		}
		last := s.rec.events[len(s.rec.events)-1]
		if last.Check != "combat.attack_rate" || last.Action != detection.ActionKick {
			t.Errorf("%d: last event %s %s", proto, last.Check, last.Action)
		}
	})
}

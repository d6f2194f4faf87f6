package packets

import (
	"fmt"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// The detection engine decodes the frequent packets on every arrival, so
// those decoders must not allocate (style.md: hot paths allocate nothing).
func TestPlayHotDecodersDoNotAllocate(t *testing.T) {
	type hot struct {
		name     string
		protocol int32
		body     []byte
		run      func(b []byte, p int32) error
	}
	wrap := func(f func([]byte, int32) error) func([]byte, int32) error { return f }
	var cases []hot
	for _, p := range []int32{47, 340, 754, 767, 768, 775} {
		cases = append(cases,
			hot{"position", p, PlayerPosition{X: 1, Y: 2, Z: 3, Flags: MoveOnGround}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodePlayerPosition(b, p); return err })},
			hot{"position look", p, PlayerPositionLook{X: 1, Yaw: 2}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodePlayerPositionLook(b, p); return err })},
			hot{"look", p, PlayerLook{Yaw: 2}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodePlayerLook(b, p); return err })},
			hot{"on ground", p, PlayerOnGround{}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodePlayerOnGround(b, p); return err })},
			hot{"keep alive", p, KeepAlive{ID: 5}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeKeepAlive(b, p); return err })},
			hot{"arm animation", p, ArmAnimation{}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeArmAnimation(b, p); return err })},
			hot{"use entity", p, UseEntity{Target: 9, Type: InteractAt, X: 0.5, Y: 1, Z: 0.25}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeUseEntity(b, p); return err })},
			hot{"rel move", p, EntityRelMove{EntityID: 1, DX: 0.5}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeEntityRelMove(b, p); return err })},
			hot{"move look", p, EntityMoveLook{EntityID: 1, DX: 0.5, Yaw: 90}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeEntityMoveLook(b, p); return err })},
			hot{"entity look", p, EntityLook{EntityID: 1, Yaw: 90}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeEntityLook(b, p); return err })},
			hot{"entity teleport", p, EntityTeleport{EntityID: 1, X: 3}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeEntityTeleport(b, p); return err })},
			hot{"sync player position", p, SyncPlayerPosition{X: 3}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeSyncPlayerPosition(b, p); return err })},
			hot{"entity destroy", p, NewEntityDestroy(1, 2, 3).AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeEntityDestroy(b, p); return err })},
			hot{"chat", p, Chat{Message: []byte("hi")}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeChat(b, p); return err })},
			hot{"block dig", p, BlockDig{Status: 1}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeBlockDig(b, p); return err })},
			hot{"held item", p, HeldItemSlot{Slot: 1}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeHeldItemSlot(b, p); return err })},
			hot{"entity action", p, EntityAction{Action: 3}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeEntityAction(b, p); return err })},
		)
		if p >= mcproto.Protocol1_9 {
			cases = append(cases,
				hot{"teleport confirm", p, TeleportConfirm{TeleportID: 3}.AppendData(nil, p),
					wrap(func(b []byte, p int32) error { _, err := DecodeTeleportConfirm(b, p); return err })},
				hot{"vehicle move", p, VehicleMove{X: 1}.AppendData(nil, p),
					wrap(func(b []byte, p int32) error { _, err := DecodeVehicleMove(b, p); return err })},
				hot{"use item", p, UseItem{}.AppendData(nil, p),
					wrap(func(b []byte, p int32) error { _, err := DecodeUseItem(b, p); return err })},
				hot{"block place", p, BlockPlace{Face: 1}.AppendData(nil, p),
					wrap(func(b []byte, p int32) error { _, err := DecodeBlockPlace(b, p); return err })},
			)
		}
		if p < 755 {
			cases = append(cases, hot{"transaction", p, Transaction{Action: -1}.AppendData(nil, p),
				wrap(func(b []byte, p int32) error { _, err := DecodeTransaction(b, p); return err })})
		} else {
			cases = append(cases,
				hot{"pong", p, Pong{ID: 1}.AppendData(nil, p),
					wrap(func(b []byte, p int32) error { _, err := DecodePong(b, p); return err })},
				hot{"ping", p, Ping{ID: 1}.AppendData(nil, p),
					wrap(func(b []byte, p int32) error { _, err := DecodePing(b, p); return err })})
		}
		if p >= 768 {
			cases = append(cases,
				hot{"tick end", p, nil,
					wrap(func(b []byte, p int32) error { _, err := DecodeTickEnd(b, p); return err })},
				hot{"entity position sync", p, EntityPositionSync{X: 1}.AppendData(nil, p),
					wrap(func(b []byte, p int32) error { _, err := DecodeEntityPositionSync(b, p); return err })})
		}
	}
	for _, c := range cases {
		if err := c.run(c.body, c.protocol); err != nil {
			t.Fatalf("%s @%d: %v", c.name, c.protocol, err)
		}
		if n := testing.AllocsPerRun(100, func() { _ = c.run(c.body, c.protocol) }); n != 0 {
			t.Errorf("%s @%d: %v allocations per decode, want 0", c.name, c.protocol, n)
		}
	}
}

func BenchmarkDecodePlayerPosition(b *testing.B) {
	for _, p := range []int32{47, 767, 775} {
		body := PlayerPosition{X: 100.5, Y: 64, Z: -200.25, Flags: MoveOnGround}.AppendData(nil, p)
		b.Run(fmt.Sprintf("protocol_%d", p), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodePlayerPosition(body, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeUseEntity(b *testing.B) {
	for _, p := range []int32{47, 767, 775} {
		body := UseEntity{Target: 1234, Type: InteractAt, X: 0.5, Y: 1.25, Z: -0.5, Hand: HandMain}.AppendData(nil, p)
		b.Run(fmt.Sprintf("protocol_%d", p), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodeUseEntity(body, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package limbo

import (
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// BenchmarkHandleMove measures the per-packet path of a verification: a
// position packet of a falling client, decoded and checked. It must not
// allocate.
func BenchmarkHandleMove(b *testing.B) {
	l, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []int32{47, 769} {
		b.Run(packets.VersionName(p), func(b *testing.B) {
			s := newSession(l, nil, l.world.lookup(p), nil)
			s.in, s.teleportSent, s.confirmed, s.echoed = mcproto.StatePlay, true, true, true
			start := s.fall
			y := s.spawnY + (0-gravity)*airDrag
			body := packets.PlayerPosition{X: s.spawnX, Y: y, Z: s.spawnZ}.AppendData(nil, p)
			id := s.table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerPosition)
			b.ReportAllocs()
			for b.Loop() {
				s.fall = start
				if err := s.handle(id, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

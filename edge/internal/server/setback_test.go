package server

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/edge/internal/world/chunk"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// TestSetbackInTheRelay: a client in flying-squid's recorded world claims
// the ground a block above it (world.nofall, enforced with its default
// action, setback). The edge sends the client its own position packet back
// to the last position the backend saw; the client's answer (and on 1.9+
// its teleport confirmation) never reaches the backend, nor does the
// cheated position; the moves after the answer do.
func TestSetbackInTheRelay(t *testing.T) {
	for _, tc := range []struct {
		version  string
		protocol int32
	}{{"1.8.8", 47}, {"1.20.4", 765}} {
		t.Run(tc.version, func(t *testing.T) {
			const threshold = 256
			rec := loadSquid(t, tc.version)
			b := startBackend(t, threshold, false)
			cfg := testConfig(b.addr())
			cfg.Detection.Enabled = true
			cfg.Detection.Checks = map[string]config.CheckOverride{"world.nofall": {Mode: "enforce"}}
			e := startEdge(t, cfg)
			c := dial(t, e.Addr().String())
			c.login(t, tc.protocol, "Hoverer")
			bc := b.nextLogin(t)
			table := packets.Lookup(tc.protocol)
			play := func(k packets.Kind, dir mcproto.Direction) int32 { return table.ID(mcproto.StatePlay, dir, k) }
			// The edge's probes may follow any backend packet: the player
			// reads past them.
			isProbe := func(id int32) bool {
				return id == play(packets.KindPing, mcproto.Clientbound) || id == play(packets.KindTransaction, mcproto.Clientbound)
			}
			dim := squidPlayWith(t, playPeer{
				read: func() int32 {
					for {
						id, _ := c.packet(t)
						if !isProbe(id) {
							return id
						}
					}
				},
				write: func(id int32) { c.Write(frameRaw(id, nil)) },
			}, bc, tc.protocol, rec, threshold)

			// A spot on a full block, open sky above, in a column the
			// recording's block change did not touch (so nothing there is
			// newer than what the client has seen) and not at the edge of
			// what was loaded.
			bt, err := blocks.ForProtocol(tc.protocol)
			if err != nil {
				t.Fatal(err)
			}
			changed := recordedChange(t, rec, bt)
			bx, by, bz, found := int32(0), int32(0), int32(0), false
		search:
			for x := int32(-64); x < 64; x++ {
				for z := int32(-64); z < 64; z++ {
					if x>>4 == changed[0]>>4 && z>>4 == changed[2]>>4 {
						continue
					}
					top := int32(-1 << 20)
					for y := int32(319); y >= -64; y-- {
						if st, ok := e.world.Block(dim, x, y, z); ok && st != 0 {
							top = y
							break
						}
					}
					if top == -1<<20 {
						continue
					}
					if st, _ := e.world.Block(dim, x, top, z); bt.Lookup(int32(st)).Shape() != blocks.ShapeFull {
						continue
					}
					// Loaded two blocks around: the check reads that far.
					loaded := true
					for _, d := range [][2]int32{{-2, -2}, {-2, 2}, {2, -2}, {2, 2}} {
						_, ok := e.world.Block(dim, x+d[0], top, z+d[1])
						loaded = loaded && ok
					}
					if !loaded {
						continue
					}
					bx, by, bz, found = x, top+1, z, true
					break search
				}
			}
			if !found {
				t.Fatal("no open spot on a full block in the recording")
			}
			X, Y, Z := float64(bx)+0.5, float64(by), float64(bz)+0.5
			var comp mcproto.Compressor
			send := func(k packets.Kind, pk interface {
				AppendData([]byte, int32) []byte
			}) {
				t.Helper()
				raw := pk.AppendData(mcproto.AppendVarInt(nil, play(k, mcproto.Serverbound)), tc.protocol)
				if _, err := c.Write(comp.AppendFrame(nil, raw, threshold)); err != nil {
					t.Fatal(err)
				}
			}
			pos := func(y float64, ground bool) packets.PlayerPosition {
				var f uint8
				if ground {
					f = packets.MoveOnGround
				}
				return packets.PlayerPosition{X: X, Y: y, Z: Z, Flags: f}
			}
			// Stand, jump: all of it reaches the backend.
			send(packets.KindPlayerPosition, pos(Y, true))
			send(packets.KindPlayerPosition, pos(Y+0.42, false))
			send(packets.KindPlayerPosition, pos(Y+0.7532, false))
			// The cheat: on the ground a block up.
			cheat := Y + 1.00166
			send(packets.KindPlayerPosition, pos(cheat, true))

			var sync packets.SyncPlayerPosition
			for {
				id, data := c.packet(t)
				if isProbe(id) {
					continue
				}
				if id != play(packets.KindSyncPlayerPosition, mcproto.Clientbound) {
					t.Fatalf("client got %#x, want the setback", id)
				}
				if sync, err = packets.DecodeSyncPlayerPosition(data, tc.protocol); err != nil {
					t.Fatal(err)
				}
				break
			}
			if sync.X != X || sync.Y != Y+0.7532 || sync.Z != Z {
				t.Errorf("set back to %v %v %v, want %v %v %v", sync.X, sync.Y, sync.Z, X, Y+0.7532, Z)
			}
			if tc.protocol >= mcproto.Protocol1_9 && sync.TeleportID >= 0 {
				t.Errorf("teleport id %d: not in the edge's negative range", sync.TeleportID)
			}
			// The client answers as vanilla does, then falls.
			if tc.protocol >= mcproto.Protocol1_9 {
				send(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: sync.TeleportID})
			}
			send(packets.KindPlayerPositionLook, packets.PlayerPositionLook{X: sync.X, Y: sync.Y, Z: sync.Z})
			marker := sync.Y - 0.0784
			send(packets.KindPlayerPosition, pos(marker, false))

			// The backend: the three honest moves, then the fall, nothing
			// between.
			var got []string
			for {
				body, err := bc.fr.Next()
				if err != nil {
					t.Fatalf("backend read: %v (got %v)", err, got)
				}
				dl, payload, err := mcproto.SplitCompressed(body, threshold, mcproto.MaxFrameLength, false)
				if err != nil || dl > 0 {
					t.Fatalf("backend frame: %v (inflated %d)", err, dl)
				}
				id, n, _ := mcproto.ReadVarInt(payload)
				switch id {
				case play(packets.KindPlayerPosition, mcproto.Serverbound):
					p, err := packets.DecodePlayerPosition(payload[n:], tc.protocol)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, fmt.Sprintf("pos %.4f", p.Y-Y))
					if p.Y == cheat {
						t.Error("the cheated position reached the backend")
					}
				case play(packets.KindPlayerPositionLook, mcproto.Serverbound):
					t.Error("the answer to the edge's setback reached the backend")
					got = append(got, "answer")
				case play(packets.KindTeleportConfirm, mcproto.Serverbound):
					if tc.protocol >= mcproto.Protocol1_9 {
						t.Error("the confirmation of the edge's teleport reached the backend")
						got = append(got, "confirm")
					}
				default:
					got = append(got, fmt.Sprintf("%#x", id))
				}
				if len(got) > 0 && got[len(got)-1] == fmt.Sprintf("pos %.4f", marker-Y) {
					break
				}
			}
			want := []string{"pos 0.0000", "pos 0.4200", "pos 0.7532", fmt.Sprintf("pos %.4f", marker-Y)}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("backend saw %v, want %v", got, want)
			}
			if n := detections(t, e, "world.nofall", "setback"); n != 1 {
				t.Errorf("world.nofall setbacks counted: %v, want 1", n)
			}
		})
	}
}

// recordedChange is the position of the recording's block change.
func recordedChange(t *testing.T, rec squidRecording, bt *blocks.Table) [3]int32 {
	t.Helper()
	for _, pk := range rec.Packets {
		if pk.Name != "block_change" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(pk.Data)
		if err != nil {
			t.Fatal(err)
		}
		_, n, _ := mcproto.ReadVarInt(raw)
		ch, err := chunk.NewDecoder(bt).BlockChange(raw[n:])
		if err != nil {
			t.Fatal(err)
		}
		return [3]int32{ch.X, ch.Y, ch.Z}
	}
	return [3]int32{1 << 20, 0, 1 << 20}
}

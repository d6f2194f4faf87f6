package server

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/record"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// enterPlay takes a logged-in client and its backend leg through
// configuration (1.20.2+) into play.
func enterPlay(t *testing.T, c *client, bc *backendConn, protocol int32) {
	t.Helper()
	if protocol < 764 {
		return
	}
	table := packets.Lookup(protocol)
	c.Write(frameRaw(0x03, nil)) // Login Acknowledged
	bc.fr.Next()
	finish := table.ID(mcproto.StateConfiguration, mcproto.Clientbound, packets.KindFinishConfiguration)
	bc.Write(frameRaw(finish, nil))
	if id, _ := c.packet(t); id != finish {
		t.Fatalf("client got %#x, want finish configuration", id)
	}
	c.Write(frameRaw(table.ID(mcproto.StateConfiguration, mcproto.Serverbound, packets.KindFinishConfiguration), nil))
	bc.fr.Next()
}

// TestDetectionInTheRelay runs the engine in the real relay: the edge's
// probes reach the client and their answers never reach the backend, and a
// client sending impossible rotations is kicked with a readable reason while
// the bad packets stay at the edge.
func TestDetectionInTheRelay(t *testing.T) {
	for _, protocol := range []int32{47, 340, 765, 769} {
		t.Run(fmt.Sprint(protocol), func(t *testing.T) {
			b := startBackend(t, 256, false)
			cfg := testConfig(b.addr())
			cfg.Detection.Enabled = true
			recDir := t.TempDir()
			cfg.Detection.RecordDir, cfg.Detection.RecordPlayers = recDir, []string{"Cheater"}
			e := startEdge(t, cfg)
			c := dial(t, e.Addr().String())
			c.login(t, protocol, "Cheater")
			bc := b.nextLogin(t)
			enterPlay(t, c, bc, protocol)
			table := packets.Lookup(protocol)
			play := func(k packets.Kind, dir mcproto.Direction) int32 { return table.ID(mcproto.StatePlay, dir, k) }

			// The backend sends a keep-alive; the edge appends a probe.
			ka := packets.KeepAlive{ID: 7}.AppendData(mcproto.AppendVarInt(nil, play(packets.KindKeepAlive, mcproto.Clientbound)), protocol)
			bc.Write(frameRaw(0, nil)[:0])
			var comp mcproto.Compressor
			bc.Write(comp.AppendFrame(nil, ka, 256))
			var probeAnswer []byte
			for probeAnswer == nil {
				id, data := c.packet(t)
				switch id {
				case play(packets.KindKeepAlive, mcproto.Clientbound):
				case play(packets.KindPing, mcproto.Clientbound):
					ping, err := packets.DecodePing(data, protocol)
					if err != nil {
						t.Fatal(err)
					}
					probeAnswer = packets.Pong{ID: ping.ID}.AppendData(mcproto.AppendVarInt(nil, play(packets.KindPong, mcproto.Serverbound)), protocol)
				case play(packets.KindTransaction, mcproto.Clientbound):
					tx, err := packets.DecodeTransaction(data, protocol)
					if err != nil {
						t.Fatal(err)
					}
					tx.Accepted = true
					probeAnswer = tx.AppendData(mcproto.AppendVarInt(nil, play(packets.KindTransaction, mcproto.Serverbound)), protocol)
				default:
					t.Fatalf("unexpected packet %#x", id)
				}
			}
			// Answer the probe, then send an honest rotation: the backend
			// must see the rotation and nothing before it.
			look := func(pitch float32) []byte {
				return packets.PlayerLook{Yaw: 1, Pitch: pitch}.AppendData(mcproto.AppendVarInt(nil, play(packets.KindPlayerLook, mcproto.Serverbound)), protocol)
			}
			bc.raw.Reset()
			c.Write(append(comp.AppendFrame(nil, probeAnswer, 256), comp.AppendFrame(nil, look(45), 256)...))
			if _, err := bc.fr.Next(); err != nil {
				t.Fatal(err)
			}
			if want := comp.AppendFrame(nil, look(45), 256); !bytes.Equal(bc.raw.Bytes(), want) {
				t.Fatalf("backend received %x, want only the rotation %x (the probe answer must be swallowed)", bc.raw.Bytes(), want)
			}

			// Impossible pitch: dropped, then kicked.
			bc.raw.Reset()
			for i := 0; i < 5; i++ {
				c.Write(comp.AppendFrame(nil, look(-300), 256))
			}
			msg := c.expectClosed(t)
			if !strings.Contains(string(msg), "RustGuard") {
				t.Errorf("kick message %q does not say who kicked", msg)
			}
			_ = bc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			bc.fr.Next()
			if bytes.Contains(bc.raw.Bytes(), look(-300)[1:]) {
				t.Error("an impossible rotation reached the backend")
			}
			waitFor(t, func() bool {
				return testutil.ToFloat64(e.Metrics.Rejected.WithLabelValues("detection")) == 1
			})

			// The session was recorded; replaying it reproduces the kick.
			e.Shutdown()
			files, _ := filepath.Glob(filepath.Join(recDir, "*.rgrec"))
			if len(files) != 1 {
				t.Fatalf("recordings: %v, want one", files)
			}
			f, err := os.Open(files[0])
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := record.Replay(t.Context(), f, detect.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if got := record.Tally(res.Events); got["badpackets.invalid_pitch/kick"] != 1 {
				t.Errorf("replay raised %v, want the badpackets.invalid_pitch kick", got)
			}
		})
	}
}

// TestViewDistanceIsClampedInTheRelay: client settings with a view distance
// below 2 reach the backend with 2 and every other byte as sent, whether the
// leg compresses the packet or not; the packets around it pass unchanged.
func TestViewDistanceIsClampedInTheRelay(t *testing.T) {
	for _, tc := range []struct {
		protocol  int32
		threshold int
	}{{47, 256}, {340, 0}, {769, 256}, {769, 8}} {
		t.Run(fmt.Sprintf("%d/threshold %d", tc.protocol, tc.threshold), func(t *testing.T) {
			b := startBackend(t, tc.threshold, false)
			cfg := testConfig(b.addr())
			cfg.Detection.Enabled = true
			e := startEdge(t, cfg)
			c := dial(t, e.Addr().String())
			c.login(t, tc.protocol, "Squinter")
			bc := b.nextLogin(t)
			enterPlay(t, c, bc, tc.protocol)
			table := packets.Lookup(tc.protocol)
			settingsID := table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindClientSettings)
			settings := func(vd int8) []byte {
				s := packets.ClientSettings{Locale: []byte("fr_fr"), ViewDistance: vd, ChatMode: 1, ChatColors: true, SkinParts: 0x3f, MainHand: 0}
				return s.AppendData(mcproto.AppendVarInt(nil, settingsID), tc.protocol)
			}
			look := packets.PlayerLook{Yaw: 10, Pitch: 20}.AppendData(mcproto.AppendVarInt(nil, table.ID(mcproto.StatePlay, mcproto.Serverbound, packets.KindPlayerLook)), tc.protocol)

			var comp mcproto.Compressor
			frame := func(pkt []byte) []byte { return comp.AppendFrame(nil, pkt, tc.threshold) }
			// One write: a rotation, the bad settings, a rotation.
			c.Write(bytes.Join([][]byte{frame(look), frame(settings(1)), frame(look)}, nil))
			var inflater mcproto.Inflater
			var got [][]byte
			for range 3 {
				_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
				body, err := bc.fr.Next()
				if err != nil {
					t.Fatalf("backend read after %d packets: %v", len(got), err)
				}
				dataLen, payload, err := mcproto.SplitCompressed(body, tc.threshold, mcproto.MaxServerboundInflate, true)
				if err != nil {
					t.Fatalf("backend got a malformed frame %x: %v", body, err)
				}
				pkt := payload
				if dataLen > 0 {
					if pkt, err = inflater.Inflate(nil, payload, dataLen); err != nil {
						t.Fatal(err)
					}
				}
				got = append(got, append([]byte(nil), pkt...))
			}
			want := [][]byte{look, settings(2), look}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("backend packet %d: %x, want %x", i, got[i], want[i])
				}
			}
			if n := detections(t, e, "crash.view_distance", "rewrite"); n != 1 {
				t.Errorf("rustguard_edge_detections_total{check=crash.view_distance,action=rewrite} = %v, want 1", n)
			}
		})
	}
}

// detections reads rustguard_edge_detections_total for one check and action.
func detections(t *testing.T, e *Edge, check, action string) float64 {
	t.Helper()
	mfs, err := e.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rustguard_edge_detections_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["check"] == check && labels["action"] == action {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

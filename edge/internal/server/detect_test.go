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

package server

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/fixtures"
	"github.com/rustguard/rustguard/edge/internal/world"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// benchRelayBatch is how many packets the backend writes per operation:
// about one server tick's worth for a player among others.
const benchRelayBatch = 64

// BenchmarkRelayPlay: one 1.8.8 player in play through the edge (detection
// off, so only the relay and the world feed run); one operation is a batch
// of 64 packets from the backend read whole by the client. replica_off has
// no world replica (world.budget_bytes 0); replica_on feeds the player's
// view, which holds the 16 recorded flying-squid columns, with packets that
// are not world packets (entity moves: what must cost nothing more);
// block_changes sends 64 block changes into those columns instead.
// allocs/op counts the whole process (edge, fake backend and client).
func BenchmarkRelayPlay(b *testing.B) {
	b.Setenv("CONSUL_HTTP_ADDR", "")
	const protocol = 47
	table := packets.Lookup(protocol)
	var move, changes []byte
	for i := range benchRelayBatch {
		p := mcproto.AppendVarInt(nil, table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindEntityRelMove))
		p = mcproto.AppendVarInt(p, 42)
		p = append(p, 1, 0, 0xFF, 1) // dx, dy, dz, on ground
		move = mcproto.AppendFrame(move, p)
		changes = mcproto.AppendFrame(changes, blockChange(protocol, int32(i%16), 60, int32(i/16), 1<<4))
	}
	recorded := squidWorldPackets(b, "1.8.8")
	for _, tc := range []struct {
		name   string
		budget int64
		batch  []byte
	}{
		{"replica_off", 0, move},
		{"replica_on", world.DefaultBudget, move},
		{"replica_on_block_changes", world.DefaultBudget, changes},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchRelay(b, tc.budget, recorded, tc.batch)
		})
	}
}

// squidWorldPackets are a recording's play packets (join game, chunks, a
// block change) framed without compression.
func squidWorldPackets(b *testing.B, version string) []byte {
	var rec squidRecording
	fixtures.GzipJSON(b, filepath.Join("..", "world", "chunk", "testdata", "squid-"+version+".json.gz"), &rec)
	var out []byte
	for _, pk := range rec.Packets {
		raw, err := base64.StdEncoding.DecodeString(pk.Data)
		if err != nil {
			b.Fatal(err)
		}
		out = mcproto.AppendFrame(out, raw)
	}
	return out
}

func benchRelay(b *testing.B, budget int64, setup, batch []byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// The edge's health probe connects too: only a login
				// becomes the benchmark's backend leg.
				fr := mcproto.NewFrameReader(c, mcproto.MaxFrameLength)
				if _, err := fr.Next(); err != nil { // handshake
					_ = c.Close()
					return
				}
				if _, err := fr.Next(); err != nil { // Login Start
					_ = c.Close()
					return
				}
				success := mcproto.AppendString([]byte{0x02}, "00000000-0000-0000-0000-000000000001")
				success = mcproto.AppendString(success, "Bench")
				_, _ = c.Write(append(mcproto.AppendFrame(nil, success), setup...))
				conns <- c
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	cfg := testConfig(ln.Addr().String())
	cfg.World.BudgetBytes = budget
	e, err := New(cfg, "bench", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	e.Start()
	defer e.Shutdown()
	c, err := net.DialTimeout("tcp", e.Addr().String(), benchLoginTimeout)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.Write(append(handshake(47, "localhost", 25565, 2), loginStart(47, "Bench")...)); err != nil {
		b.Fatal(err)
	}
	var bc net.Conn
	select {
	case bc = <-conns:
	case <-time.After(benchLoginTimeout):
		b.Fatal("backend saw no login")
	}
	defer bc.Close()
	success := mcproto.AppendString([]byte{0x02}, "00000000-0000-0000-0000-000000000001")
	success = mcproto.AppendString(success, "Bench")
	buf := make([]byte, len(mcproto.AppendFrame(nil, success))+len(setup))
	if _, err := io.ReadFull(c, buf); err != nil {
		b.Fatal(err)
	}
	if e.world != nil && e.world.Stats().Columns == 0 {
		b.Fatal("the replica holds no columns after the recorded chunks")
	}
	in := make([]byte, len(batch))
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := bc.Write(batch); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRelayBatch), "ns/packet")
}

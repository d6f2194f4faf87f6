package backend

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/mc18"
	"github.com/rustguard/rustguard/bench/internal/mcconn"
	"github.com/rustguard/rustguard/shared/mcproto"
)

func TestWalkStaysHonest(t *testing.T) {
	prev := Walk(0)
	for seq := int64(1); seq < 3*walkPeriod; seq++ {
		m := Walk(seq)
		if m.Y != walkY || !m.OnGround || m.Pitch > 90 || m.Pitch < -90 || m.Yaw < -180 || m.Yaw > 180 {
			t.Fatalf("movement %d: %+v", seq, m)
		}
		// A slow walk: one step per movement, never more (the edge's speed
		// bound allows 1 block per tick).
		if d := m.X - prev.X; d > walkStep+1e-9 || d < -walkStep-1e-9 || m.Z != prev.Z {
			t.Fatalf("movement %d moves %v blocks from %+v to %+v", seq, d, prev, m)
		}
		if Walk(seq) != m {
			t.Fatalf("movement %d is not deterministic", seq)
		}
		prev = m
	}
	if Walk(1) == Walk(walkPeriod-1) {
		t.Error("the way back repeats the way out: a lost movement could go unnoticed")
	}
}

func TestChatLineRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	got, ok := ParseChatLine(ChatLine(at))
	if !ok || !got.Equal(at) {
		t.Fatalf("ParseChatLine(ChatLine(%v)) = %v, %v", at, got, ok)
	}
	for _, bad := range []string{"", `{"text":"hello"}`, `{"text":"rgload x"}`, `{"text":"rgload 12`} {
		if _, ok := ParseChatLine(bad); ok {
			t.Errorf("%q parsed as a stamped line", bad)
		}
	}
}

// recorder is a MoveObserver that keeps what it is told.
type recorder struct {
	mu   sync.Mutex
	seqs map[string][]int64
	got  chan struct{}
}

func (r *recorder) Moved(name string, seq int64, _ time.Time) {
	r.mu.Lock()
	r.seqs[name] = append(r.seqs[name], seq)
	r.mu.Unlock()
	r.got <- struct{}{}
}

// loginAs logs name in over a raw connection and returns it in play.
func loginAs(t *testing.T, addr, name string) *mcconn.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := mcconn.New(nc, mcproto.Clientbound)
	if err := c.WritePacket(mc18.AppendHandshake(nil, mc18.Protocol, "localhost", 25565, mcproto.IntentLogin)); err != nil {
		t.Fatal(err)
	}
	if err := c.WritePacket(mc18.AppendLoginStart(nil, name)); err != nil {
		t.Fatal(err)
	}
	for {
		id, data, err := c.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		switch id {
		case mc18.SetCompressionID:
			th, _ := mc18.ParseSetCompression(data)
			c.SetThreshold(int(th))
		case mc18.JoinGameID:
			return c
		}
	}
}

func TestMovingPlayerGetsTheMixAndIsChecked(t *testing.T) {
	srv, err := New(Config{Threshold: DefaultThreshold, BulkPacket: DefaultBulkPacket,
		Mix: Mix{EntityMoves: DefaultEntityMoves, Chunks: 20, Chat: 20}})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := srv.ListenLocal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	rec := &recorder{seqs: map[string][]int64{}, got: make(chan struct{}, 16)}
	srv.ObserveMoves(rec)

	c := loginAs(t, addr, "players00001")
	// The mix: eight spawns first, then entity moves, chat and chunks
	// (20 a second each of chat and chunks: one per tick).
	counts := map[int32]int{}
	for counts[mc18.SpawnPlayerID] < mixEntities || counts[mc18.ChunkDataID] < 2 || counts[mc18.ChatClientboundID] < 2 {
		id, data, err := c.ReadPacket()
		if err != nil {
			t.Fatalf("after %v: %v", counts, err)
		}
		counts[id]++
		switch id {
		case mc18.ChatClientboundID:
			json, _, err := mc18.ParseChat(data)
			if err != nil {
				t.Fatal(err)
			}
			if sent, ok := ParseChatLine(json); !ok || time.Since(sent) < 0 || time.Since(sent) > 10*time.Second {
				t.Fatalf("chat line %q", json)
			}
		case mc18.SpawnPlayerID, mc18.EntityRelMoveID, mc18.EntityMoveLookID, mc18.ChunkDataID:
		default:
			t.Fatalf("unexpected packet %#x", id)
		}
		if counts[mc18.SpawnPlayerID] < mixEntities && id != mc18.SpawnPlayerID {
			t.Fatalf("packet %#x before all spawns", id)
		}
	}
	if counts[mc18.EntityRelMoveID] == 0 || counts[mc18.EntityMoveLookID] == 0 {
		t.Errorf("no entity moves: %v", counts)
	}

	for seq := range int64(3) {
		if err := c.WritePacket(mc18.AppendPositionLook(nil, Walk(seq))); err != nil {
			t.Fatal(err)
		}
		<-rec.got
	}
	rec.mu.Lock()
	if got := rec.seqs["players00001"]; len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Errorf("observed %v, want movements 0, 1, 2", got)
	}
	rec.mu.Unlock()
	if st := srv.Stats(); st.Moves != 3 || st.ProtocolErrors != 0 {
		t.Errorf("stats %+v, want 3 moves and no errors", st)
	}

	// A movement out of order (4 instead of 3) is a protocol error: the
	// backend closes the connection.
	if err := c.WritePacket(mc18.AppendPositionLook(nil, Walk(4))); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := c.ReadPacket(); err != nil {
			break
		}
	}
	if st := srv.Stats(); st.ProtocolErrors != 1 || st.Moves != 3 {
		t.Errorf("stats %+v after a skipped movement, want 1 protocol error", st)
	}
}

func TestNewRejectsBadMix(t *testing.T) {
	for _, m := range []Mix{{EntityMoves: -1}, {Chunks: MaxMixRate + 1}, {Chat: -5}} {
		if _, err := New(Config{BulkPacket: DefaultBulkPacket, Mix: m}); err == nil {
			t.Errorf("mix %+v accepted", m)
		}
	}
}

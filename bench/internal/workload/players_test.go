package workload

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
)

var defaultMix = backend.Mix{EntityMoves: backend.DefaultEntityMoves, Chunks: backend.DefaultChunks, Chat: backend.DefaultChat}

func TestPlayersDirect(t *testing.T) {
	e := directEnv(t)
	e.PID = os.Getpid() // this process stands in for a proxy
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Players(ctx, e, PlayersConfig{Players: 10, LoginPar: 5, Warmup: 200 * time.Millisecond,
		Duration: 600 * time.Millisecond, Mix: defaultMix})
	if err != nil {
		t.Fatal(err)
	}
	// 10 players × 12 ticks in the window, give or take the phases.
	if r.Players != 10 || r.Moves < 50 || r.MoveP50 <= 0 || r.MoveP50 > r.MoveP99 || r.MoveP99 > r.MoveMax {
		t.Errorf("movements %+v", r)
	}
	if r.ChatP50 <= 0 || r.ChatP50 > r.ChatP99 {
		t.Errorf("chat latency p50 %v, p99 %v", r.ChatP50, r.ChatP99)
	}
	// A player counts a frame before it knows the frame's kind, and the
	// marks read the counters while frames arrive: each player may have one
	// frame counted on one side of a mark and its kind on the other.
	s := r.Received
	inFlight := int64(r.Players)
	if s.Chunks == 0 || s.EntityMoves == 0 || s.Chats == 0 || s.Probes != 0 || s.Frames+inFlight < s.Chunks+s.EntityMoves+s.Chats {
		t.Errorf("stream %+v", s)
	}
	if r.ProxyCPU <= 0 || r.CoresPer1000() <= 0 || r.RSSBefore <= 0 || r.RSSAfter <= 0 || r.Allocs != (Allocs{}) || r.Detections != 0 {
		t.Errorf("result %+v", r)
	}
	st := e.Backend.Stats()
	if st.Moves < r.Moves || st.ProtocolErrors != 0 {
		t.Errorf("backend %+v, workload timed %d movements", st, r.Moves)
	}
}

func TestMoveBook(t *testing.T) {
	newBook := func() *moveBook {
		return &moveBook{base: time.Now(), drained: make(chan struct{}),
			logs: map[string]*moveLog{"players00000": {sent: make([]atomic.Int64, 2), arrived: make([]atomic.Int64, 2)}}}
	}
	ctx := context.Background()

	b := newBook()
	if err := b.drain(ctx, time.Millisecond); err != nil {
		t.Errorf("nothing sent: %v", err)
	}

	b = newBook()
	b.pending.Add(3)
	b.Moved("players00000", 0, b.base.Add(5*time.Millisecond))
	b.Moved("players00000", 1, b.base.Add(7*time.Millisecond))
	b.Moved("players00000", 2, b.base) // past the log: counted, not timed
	if err := b.drain(ctx, time.Second); err != nil {
		t.Errorf("all arrived: %v", err)
	}
	if got := b.logs["players00000"].arrived[1].Load(); got != int64(7*time.Millisecond)+1 {
		t.Errorf("arrival logged as %d", got)
	}

	// Draining already, the last arrival closes it.
	b = newBook()
	b.pending.Add(1)
	b.draining.Store(true)
	b.Moved("players00000", 0, time.Now())
	select {
	case <-b.drained:
	default:
		t.Error("the last arrival during a drain did not end it")
	}

	b = newBook()
	b.pending.Add(2)
	b.Moved("players00000", 0, time.Now())
	if err := b.drain(ctx, 10*time.Millisecond); !errors.Is(err, ErrFailed) {
		t.Errorf("a movement lost: %v", err)
	}
}

func TestCheckStream(t *testing.T) {
	tests := []struct {
		name string
		s    Stream
		mix  backend.Mix
		ok   bool
	}{
		{"all kinds arrived", Stream{Chunks: 1, EntityMoves: 1, Chats: 1}, defaultMix, true},
		{"no chat sent, none arrived", Stream{Chunks: 1, EntityMoves: 1}, backend.Mix{EntityMoves: 1, Chunks: 1}, true},
		{"chunks missing", Stream{EntityMoves: 5, Chats: 1}, defaultMix, false},
		{"entity moves missing", Stream{Chunks: 5, Chats: 1}, defaultMix, false},
	}
	for _, tt := range tests {
		if err := checkStream(tt.s, tt.mix); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrFailed)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestPlayersResultUnits(t *testing.T) {
	r := PlayersResult{Players: 500, Elapsed: 10 * time.Second, ProxyCPU: 2 * time.Second, RSSBefore: 10 << 20, RSSAfter: 10<<20 + 500*40*1024}
	if got := r.CoresPer1000(); got != 0.4 {
		t.Errorf("cores per 1000 = %v, want 0.4 (0.2 cores for 500 players)", got)
	}
	if got := r.KiBPerPlayer(); got != 40 {
		t.Errorf("KiB per player = %v, want 40", got)
	}
}

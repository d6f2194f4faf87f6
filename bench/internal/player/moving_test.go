package player

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/mc18"
	"github.com/rustguard/rustguard/bench/internal/mcconn"
)

// moveCounter is a backend.MoveObserver that signals each movement.
type moveCounter chan int64

func (c moveCounter) Moved(_ string, seq int64, _ time.Time) { c <- seq }

func TestMovingPlayerReadsTheMixAndWalks(t *testing.T) {
	srv, err := backend.New(backend.Config{Threshold: backend.DefaultThreshold, BulkPacket: backend.MinBulkPacket,
		Mix: backend.Mix{EntityMoves: 40, Chunks: 20, Chat: 20}})
	if err != nil {
		t.Fatal(err)
	}
	addr, stopBackend, err := srv.ListenLocal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopBackend() })
	moved := make(moveCounter, 8)
	srv.ObserveMoves(moved)

	s, err := Login(ctxT(t), &net.Dialer{}, addr, backend.PlayersPrefix+"1")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMoving(s)
	ctx, stop := context.WithCancel(ctxT(t))
	chats := make(chan time.Duration, 100)
	recvErr := make(chan error, 1)
	go func() {
		recvErr <- m.ReceiveMixed(ctx, backend.BulkFrame(backend.DefaultThreshold, backend.MinBulkPacket), func(d time.Duration) { chats <- d })
	}()
	for seq := range int64(5) {
		if err := m.Move(backend.Walk(seq)); err != nil {
			t.Fatal(err)
		}
		if got := <-moved; got != seq {
			t.Fatalf("backend saw movement %d, want %d", got, seq)
		}
	}
	// Two chat lines (one a tick) prove the stream flows; chunks and
	// moves come in the same ticks.
	for range 2 {
		if d := <-chats; d < 0 || d > testTimeout {
			t.Errorf("chat delivered in %v", d)
		}
	}
	stop()
	if err := <-recvErr; err != nil {
		t.Fatalf("receive: %v", err)
	}
	r := &m.Received
	if r.Spawns.Load() != 8 || r.Chunks.Load() == 0 || r.EntityMoves.Load() == 0 || r.Chats.Load() < 2 || r.Probes.Load() != 0 {
		t.Errorf("received %d spawns, %d chunks, %d moves, %d chats, %d probes",
			r.Spawns.Load(), r.Chunks.Load(), r.EntityMoves.Load(), r.Chats.Load(), r.Probes.Load())
	}
	if r.Frames.Load() < r.Chunks.Load()+r.EntityMoves.Load()+r.Chats.Load() || r.Bytes.Load() == 0 {
		t.Errorf("%d frames, %d bytes", r.Frames.Load(), r.Bytes.Load())
	}
	if st := srv.Stats(); st.Moves != 5 || st.ProtocolErrors != 0 {
		t.Errorf("backend %+v", st)
	}
}

// The edge's probes are window confirmations with accepted = false; the
// player answers each with the same window and action, accepted, in the
// order they came, as a vanilla client does. A Disconnect ends the stream
// as a kick.
func TestMovingPlayerAnswersProbesAndReportsKicks(t *testing.T) {
	answers := make(chan mc18.Transaction, 2)
	addr := fakeServer(t, func(c *mcconn.Conn) {
		loginReply(c, "players2")
		for _, a := range []int16{-32768, -32767} {
			_ = c.WritePacket(mc18.AppendTransaction(nil, mc18.TransactionClientboundID, mc18.Transaction{Action: a}))
		}
		for range 2 {
			id, data, err := c.ReadPacket()
			if err != nil || id != mc18.TransactionServerboundID {
				close(answers)
				return
			}
			tr, _ := mc18.ParseTransaction(data)
			answers <- tr
		}
		_ = c.WritePacket(mc18.AppendDisconnect(nil, mc18.PlayDisconnectID, `{"text":"flying is not enabled"}`))
	})
	s, err := Login(ctxT(t), &net.Dialer{}, addr, "players2")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMoving(s)
	err = m.ReceiveMixed(ctxT(t), nil, func(time.Duration) {})
	if !errors.Is(err, ErrKicked) {
		t.Fatalf("err = %v, want ErrKicked", err)
	}
	for _, want := range []int16{-32768, -32767} {
		if got := <-answers; got != (mc18.Transaction{Window: 0, Action: want, Accepted: true}) {
			t.Errorf("answer %+v, want action %d accepted", got, want)
		}
	}
	if m.Received.Probes.Load() != 2 {
		t.Errorf("%d probes counted", m.Received.Probes.Load())
	}
}

package player

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/mc18"
)

// Received counts what a moving player has read so far. The fields are
// updated as packets arrive, so a workload can read them at the edges of
// its window while the player runs.
type Received struct {
	Frames      atomic.Int64 // every frame
	Bytes       atomic.Int64 // wire bytes of every frame
	Chunks      atomic.Int64 // chunk frames, checked byte for byte
	EntityMoves atomic.Int64 // relative moves and move-and-looks
	Spawns      atomic.Int64 // players spawned around
	Chats       atomic.Int64 // stamped chat lines
	Probes      atomic.Int64 // window confirmations a proxy asked for, answered
}

// Moving is a logged-in player of the players workload: one goroutine
// reads the backend's mixed stream (ReceiveMixed) while another sends a
// movement every tick (Move). Their writes (movements, probe and
// keep-alive answers) go through one lock, so frames never interleave.
type Moving struct {
	*Session
	Received Received

	wmu sync.Mutex
	out []byte // Move's packet, reused
	ans []byte // the reader's answers, reused
}

// NewMoving wraps a logged-in session.
func NewMoving(s *Session) *Moving { return &Moving{Session: s} }

// Move sends one Player Position And Look.
func (m *Moving) Move(p mc18.PositionLook) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	m.out = mc18.AppendPositionLook(m.out[:0], p)
	if err := m.WritePacket(m.out); err != nil {
		return fmt.Errorf("movement of %s: %w", m.Name, err)
	}
	return nil
}

// ReceiveMixed reads the moving player's stream until ctx ends (which
// closes the connection), counting it in m.Received: chunk frames must
// equal chunk (the backend's frame) byte for byte, chat lines must carry
// the backend's stamp and each one's delivery time goes to onChat, a
// window confirmation the client must answer (accepted = false: the edge's
// probe) is answered at once as a vanilla client does, and a keep-alive is
// answered. It returns nil when ctx ended the stream, ErrKicked when the
// server or proxy disconnected the player, and any other error when the
// stream broke or carried something else.
func (m *Moving) ReceiveMixed(ctx context.Context, chunk []byte, onChat func(time.Duration)) error {
	stop := context.AfterFunc(ctx, func() { m.Close() })
	defer stop()
	for {
		err := m.receiveOne(chunk, onChat)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("mixed stream of %s: %w", m.Name, err)
		}
	}
}

func (m *Moving) receiveOne(chunk []byte, onChat func(time.Duration)) error {
	raw, body, err := m.NextFrame()
	if err != nil {
		return err
	}
	r := &m.Received
	r.Frames.Add(1)
	r.Bytes.Add(int64(len(raw)))
	if bytes.Equal(raw, chunk) {
		r.Chunks.Add(1)
		return nil
	}
	id, data, err := m.Decode(body)
	if err != nil {
		return err
	}
	switch id {
	case mc18.EntityRelMoveID, mc18.EntityMoveLookID:
		r.EntityMoves.Add(1)
	case mc18.SpawnPlayerID:
		r.Spawns.Add(1)
	case mc18.ChatClientboundID:
		json, _, err := mc18.ParseChat(data)
		if err != nil {
			return err
		}
		sent, ok := backend.ParseChatLine(json)
		if !ok {
			return fmt.Errorf("chat line %q: %w", json, ErrMismatch)
		}
		onChat(time.Since(sent))
		r.Chats.Add(1)
	case mc18.ChunkDataID:
		return fmt.Errorf("chunk frame of %d bytes differs from the backend's %d: %w", len(raw), len(chunk), ErrMismatch)
	case mc18.TransactionClientboundID:
		t, err := mc18.ParseTransaction(data)
		if err != nil {
			return err
		}
		if t.Accepted {
			return nil // nothing to answer
		}
		t.Accepted = true
		m.wmu.Lock()
		m.ans = mc18.AppendTransaction(m.ans[:0], mc18.TransactionServerboundID, t)
		err = m.WritePacket(m.ans)
		m.wmu.Unlock()
		if err != nil {
			return fmt.Errorf("answer probe %d: %w", t.Action, err)
		}
		r.Probes.Add(1)
	default:
		m.wmu.Lock()
		err = m.handleOther(id, data)
		m.wmu.Unlock()
		return err
	}
	return nil
}

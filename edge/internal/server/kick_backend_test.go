package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// TestKickKeepsWhatTheBackendWasSent: a player kicked by a check (chat.flood
// here) in the middle of a batch loses only the kicking packet and what came
// after it. Everything the edge accepted before it reaches the backend,
// followed by an orderly end of stream, even though the backend was sending
// all along (so the edge's backend socket holds unread bytes at the kick)
// and reads slowly (so the edge's send queue holds accepted bytes at the
// kick). Closing that socket outright makes the kernel answer with a reset,
// which throws the send queue away and tells the backend the stream broke.
func TestKickKeepsWhatTheBackendWasSent(t *testing.T) {
	const (
		protocol = 47 // 1.8.8: no configuration phase, chat is the text alone
		payloads = 24 // accepted plugin messages ahead of the chat lines
		payload  = 16 << 10
		chats    = 10 // chat.flood kicks at the 11th message (+20 each, above 200)
	)
	b := startBackend(t, mcproto.CompressionOff, false)
	cfg := testConfig(b.addr())
	cfg.Detection.Enabled = true
	c, bc, pf := relayedPlayer(t, b, cfg, protocol, "Flooder")

	var wg sync.WaitGroup
	defer wg.Wait()
	// The backend streams to the player for as long as the edge takes it,
	// like a server sending chunks and entity moves.
	pf.stream(&wg, bc.Conn, mcproto.Clientbound)
	// The player reads what it is sent, as a client does.
	discard(&wg, c.Conn)

	// One write: accepted packets, the chat lines the flood check lets
	// through, and the one it kicks for.
	burst := pf.numbered(mcproto.Serverbound, payloads, payload)
	for i := range chats + 1 {
		burst = append(burst, pf.frame(mcproto.Serverbound, packets.KindChat,
			packets.Chat{Message: fmt.Appendf(nil, "line %d", i+1)}.AppendData(nil, protocol))...)
	}
	if _, err := c.Write(burst); err != nil {
		t.Fatal(err)
	}

	// The backend reads slowly: a small read at a time, each after a
	// pause, as a busy server does.
	ids, err := readSlowly(bc.Conn, bc.fr)
	var gotPayloads, gotChats int
	for _, id := range ids {
		switch id {
		case pf.id(mcproto.Serverbound, packets.KindPluginMessage):
			gotPayloads++
		case pf.id(mcproto.Serverbound, packets.KindChat):
			gotChats++
		}
	}
	_ = bc.Close() // the backend hangs up, as a server does at end of stream
	if gotPayloads != payloads || gotChats != chats {
		t.Errorf("backend received %d of %d accepted plugin messages and %d of %d accepted chat lines before the stream ended (%v)",
			gotPayloads, payloads, gotChats, chats, err)
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("backend stream ended with %v, want EOF (a reset loses what the edge had sent)", err)
	}
}

// slowReadPause is the backend's pause before each frame: the 24 frames of
// 16 KiB take about a quarter of a second, long enough for the edge to
// have queued them all and acted on the kick meanwhile.
const slowReadPause = 10 * time.Millisecond

// readSlowly reads frames from fr (c's) with a pause before each, as a busy
// peer does, until the stream ends or 20 s pass. It returns the packet ids
// read and how the stream ended.
func readSlowly(c net.Conn, fr *mcproto.FrameReader) ([]int32, error) {
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var ids []int32
	for {
		time.Sleep(slowReadPause)
		body, err := fr.Next()
		if err != nil {
			return ids, err
		}
		id, _, _ := mcproto.ReadVarInt(body)
		ids = append(ids, id)
	}
}

// relayedPlayer logs name in through an edge with cfg (its backend b) and
// returns the player's and the backend's ends, and the frame builder.
func relayedPlayer(t *testing.T, b *fakeBackend, cfg config.Edge, protocol int32, name string) (*client, *backendConn, playFrames) {
	t.Helper()
	e := startEdge(t, cfg)
	c := dial(t, e.Addr().String())
	c.login(t, protocol, name)
	return c, b.nextLogin(t), playFrames{protocol: protocol, table: packets.Lookup(protocol)}
}

// TestHangUpKeepsWhatTheBackendWasSent: a player that sends its last
// packets and hangs up has all of them delivered to the backend, followed
// by an orderly end of stream, while the backend was still streaming.
func TestHangUpKeepsWhatTheBackendWasSent(t *testing.T) {
	const (
		protocol = 47
		payloads = 24
		payload  = 16 << 10
	)
	b := startBackend(t, mcproto.CompressionOff, false)
	c, bc, pf := relayedPlayer(t, b, testConfig(b.addr()), protocol, "Leaver")
	var wg sync.WaitGroup
	defer wg.Wait()
	pf.stream(&wg, bc.Conn, mcproto.Clientbound)
	discard(&wg, c.Conn)
	if _, err := c.Write(pf.numbered(mcproto.Serverbound, payloads, payload)); err != nil {
		t.Fatal(err)
	}
	_ = c.Conn.(*net.TCPConn).CloseWrite()

	ids, err := readSlowly(bc.Conn, bc.fr)
	_ = bc.Close()
	if got := len(ids); got != payloads {
		t.Errorf("backend received %d of %d plugin messages before the stream ended (%v)", got, payloads, err)
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("backend stream ended with %v, want EOF", err)
	}
}

// TestBackendHangUpReachesThePlayer: a backend that sends its last packets
// (a disconnect last) and hangs up has all of them delivered to a player
// that reads slowly and was sending all along.
func TestBackendHangUpReachesThePlayer(t *testing.T) {
	const (
		protocol = 47
		payloads = 24
		payload  = 16 << 10
	)
	b := startBackend(t, mcproto.CompressionOff, false)
	c, bc, pf := relayedPlayer(t, b, testConfig(b.addr()), protocol, "Stayer")
	var wg sync.WaitGroup
	defer wg.Wait()
	// The player keeps sending, as a client does (movement).
	pf.stream(&wg, c.Conn, mcproto.Serverbound)
	// The backend reads what it is sent until the edge ends the stream.
	discard(&wg, bc.Conn)
	burst := pf.numbered(mcproto.Clientbound, payloads, payload)
	burst = append(burst, mcproto.AppendFrame(nil, packets.AppendDisconnect(nil, mcproto.StatePlay, protocol, "server closed"))...)
	if _, err := bc.Write(burst); err != nil {
		t.Fatal(err)
	}
	_ = bc.Conn.(*net.TCPConn).CloseWrite()

	ids, err := readSlowly(c.Conn, c.fr)
	_ = c.Close()
	got, last := len(ids), int32(-1)
	if got > 0 {
		last = ids[got-1]
	}
	if got != payloads+1 || last != pf.id(mcproto.Clientbound, packets.KindDisconnect) {
		t.Errorf("player received %d of %d packets, the last %#x, before the stream ended (%v)", got, payloads+1, last, err)
	}
}

// playFrames builds the play packets these tests send, for one protocol.
type playFrames struct {
	protocol int32
	table    *packets.Table
}

func (pf playFrames) id(dir mcproto.Direction, k packets.Kind) int32 {
	return pf.table.ID(mcproto.StatePlay, dir, k)
}

// frame is one uncompressed frame of packet k with data.
func (pf playFrames) frame(dir mcproto.Direction, k packets.Kind, data []byte) []byte {
	return mcproto.AppendFrame(nil, append(mcproto.AppendVarInt(nil, pf.id(dir, k)), data...))
}

// plugin is one plugin message frame on a channel nothing inspects.
func (pf playFrames) plugin(dir mcproto.Direction, data []byte) []byte {
	return pf.frame(dir, packets.KindPluginMessage, packets.PluginMessage{Channel: []byte("RGTest"), Data: data}.AppendData(nil, pf.protocol))
}

// numbered is n plugin messages of size bytes each, the first byte of
// each its number, in one buffer.
func (pf playFrames) numbered(dir mcproto.Direction, n, size int) []byte {
	var burst []byte
	for i := range n {
		data := make([]byte, size)
		data[0] = byte(i)
		burst = append(burst, pf.plugin(dir, data)...)
	}
	return burst
}

// stream writes 1,000-byte plugin messages to w, as a peer that never
// stops sending, until a write fails (the edge ended the stream, or 20 s).
func (pf playFrames) stream(wg *sync.WaitGroup, w net.Conn, dir mcproto.Direction) {
	chunk := make([]byte, 0, 64<<10)
	for len(chunk) < 60<<10 {
		chunk = append(chunk, pf.plugin(dir, make([]byte, 1000))...)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = w.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}()
}

// discard reads and drops what r is sent until it ends, as a peer that
// reads everything.
func discard(wg *sync.WaitGroup, r net.Conn) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(io.Discard, r)
	}()
}

package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

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
	e := startEdge(t, cfg)
	c := dial(t, e.Addr().String())
	c.login(t, protocol, "Flooder")
	bc := b.nextLogin(t)
	table := packets.Lookup(protocol)
	play := func(dir mcproto.Direction, k packets.Kind) int32 { return table.ID(mcproto.StatePlay, dir, k) }
	frame := func(id int32, data []byte) []byte {
		return mcproto.AppendFrame(nil, append(mcproto.AppendVarInt(nil, id), data...))
	}

	// The backend streams to the player for as long as the edge takes it,
	// like a server sending chunks and entity moves.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		chunk := make([]byte, 0, 64<<10)
		for len(chunk) < 60<<10 {
			chunk = append(chunk, frame(play(mcproto.Clientbound, packets.KindPluginMessage),
				packets.PluginMessage{Channel: []byte("RGTest"), Data: make([]byte, 1000)}.AppendData(nil, protocol))...)
		}
		_ = bc.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := bc.Write(chunk); err != nil {
				return
			}
		}
	}()
	// The player reads what it is sent, as a client does.
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(io.Discard, c.Conn)
	}()

	// One write: accepted packets, the chat lines the flood check lets
	// through, and the one it kicks for.
	var burst []byte
	for i := range payloads {
		data := make([]byte, payload)
		data[0] = byte(i)
		burst = append(burst, frame(play(mcproto.Serverbound, packets.KindPluginMessage),
			packets.PluginMessage{Channel: []byte("RGTest"), Data: data}.AppendData(nil, protocol))...)
	}
	for i := range chats + 1 {
		burst = append(burst, frame(play(mcproto.Serverbound, packets.KindChat),
			packets.Chat{Message: fmt.Appendf(nil, "line %d", i+1)}.AppendData(nil, protocol))...)
	}
	if _, err := c.Write(burst); err != nil {
		t.Fatal(err)
	}

	// The backend reads slowly: a small read at a time, each after a
	// pause, as a busy server does.
	_ = bc.SetReadDeadline(time.Now().Add(20 * time.Second))
	slow := &slowReader{r: bc.fr}
	var gotPayloads, gotChats int
	var err error
	for {
		var body []byte
		if body, err = slow.next(); err != nil {
			break
		}
		id, _, _ := mcproto.ReadVarInt(body)
		switch id {
		case play(mcproto.Serverbound, packets.KindPluginMessage):
			gotPayloads++
		case play(mcproto.Serverbound, packets.KindChat):
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

// slowReader reads frames with a pause before each one.
type slowReader struct{ r *mcproto.FrameReader }

// slowReadPause is the backend's pause before each frame: the 24 frames of
// 16 KiB take about a quarter of a second, long enough for the edge to
// have queued them all and acted on the kick meanwhile.
const slowReadPause = 10 * time.Millisecond

func (s *slowReader) next() ([]byte, error) {
	time.Sleep(slowReadPause)
	return s.r.Next()
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
	e := startEdge(t, testConfig(b.addr()))
	c := dial(t, e.Addr().String())
	c.login(t, protocol, "Leaver")
	bc := b.nextLogin(t)
	table := packets.Lookup(protocol)
	play := func(dir mcproto.Direction, k packets.Kind) int32 { return table.ID(mcproto.StatePlay, dir, k) }
	frame := func(id int32, data []byte) []byte {
		return mcproto.AppendFrame(nil, append(mcproto.AppendVarInt(nil, id), data...))
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() {
		defer wg.Done()
		chunk := make([]byte, 0, 64<<10)
		for len(chunk) < 60<<10 {
			chunk = append(chunk, frame(play(mcproto.Clientbound, packets.KindPluginMessage),
				packets.PluginMessage{Channel: []byte("RGTest"), Data: make([]byte, 1000)}.AppendData(nil, protocol))...)
		}
		_ = bc.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := bc.Write(chunk); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(io.Discard, c.Conn)
	}()
	var burst []byte
	for i := range payloads {
		data := make([]byte, payload)
		data[0] = byte(i)
		burst = append(burst, frame(play(mcproto.Serverbound, packets.KindPluginMessage),
			packets.PluginMessage{Channel: []byte("RGTest"), Data: data}.AppendData(nil, protocol))...)
	}
	if _, err := c.Write(burst); err != nil {
		t.Fatal(err)
	}
	_ = c.Conn.(*net.TCPConn).CloseWrite()

	_ = bc.SetReadDeadline(time.Now().Add(20 * time.Second))
	slow := &slowReader{r: bc.fr}
	var got int
	var err error
	for {
		if _, err = slow.next(); err != nil {
			break
		}
		got++
	}
	_ = bc.Close()
	if got != payloads {
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
	e := startEdge(t, testConfig(b.addr()))
	c := dial(t, e.Addr().String())
	c.login(t, protocol, "Stayer")
	bc := b.nextLogin(t)
	table := packets.Lookup(protocol)
	play := func(dir mcproto.Direction, k packets.Kind) int32 { return table.ID(mcproto.StatePlay, dir, k) }
	frame := func(id int32, data []byte) []byte {
		return mcproto.AppendFrame(nil, append(mcproto.AppendVarInt(nil, id), data...))
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	// The player keeps sending, as a client does (movement).
	go func() {
		defer wg.Done()
		chunk := make([]byte, 0, 64<<10)
		for len(chunk) < 60<<10 {
			chunk = append(chunk, frame(play(mcproto.Serverbound, packets.KindPluginMessage),
				packets.PluginMessage{Channel: []byte("RGTest"), Data: make([]byte, 1000)}.AppendData(nil, protocol))...)
		}
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	// The backend reads what it is sent until the edge ends the stream.
	go func() {
		defer wg.Done()
		_, _ = io.Copy(io.Discard, bc.Conn)
	}()
	var burst []byte
	for i := range payloads {
		data := make([]byte, payload)
		data[0] = byte(i)
		burst = append(burst, frame(play(mcproto.Clientbound, packets.KindPluginMessage),
			packets.PluginMessage{Channel: []byte("RGTest"), Data: data}.AppendData(nil, protocol))...)
	}
	burst = append(burst, mcproto.AppendFrame(nil, packets.AppendDisconnect(nil, mcproto.StatePlay, protocol, "server closed"))...)
	if _, err := bc.Write(burst); err != nil {
		t.Fatal(err)
	}
	_ = bc.Conn.(*net.TCPConn).CloseWrite()

	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	slow := &slowReader{r: c.fr}
	var got int
	var last int32
	var err error
	for {
		var body []byte
		if body, err = slow.next(); err != nil {
			break
		}
		last, _, _ = mcproto.ReadVarInt(body)
		got++
	}
	_ = c.Close()
	if got != payloads+1 || last != play(mcproto.Clientbound, packets.KindDisconnect) {
		t.Errorf("player received %d of %d packets, the last %#x, before the stream ended (%v)", got, payloads+1, last, err)
	}
}

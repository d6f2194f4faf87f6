package limbo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// testTimeout bounds one scripted verification. The limbo's own default
// (10 s) is longer than any of these tests should ever take; a hang becomes
// a failure with a reason instead of a stuck suite.
const testTimeout = 5 * time.Second

// behaviour is what a scripted client does differently from vanilla.
type behaviour struct {
	keepAliveDelta int64   // added to the keep-alive id it echoes
	teleportDelta  int32   // added to the teleport id it confirms
	noBrand        bool    // never sends its brand
	brandTwice     bool    // sends its brand twice
	badBrand       bool    // sends a brand with a control character
	brand          string  // the brand it sends ("": vanilla's)
	noSettings     bool    // never sends client settings
	noStillTick    bool    // skips vanilla's Δy = 0 packet (as mineflayer does)
	gravity        float64 // per-tick gravity its physics uses (0: vanilla)
	hover          bool    // stops falling half-way
	silent         bool    // sends nothing at all after login
	flood          int     // rotation packets sent before anything else
	skipConfirm    bool    // never confirms the teleport
}

// outcome is what the scripted client saw at the end.
type outcome struct {
	disconnect   string // raw reason bytes of a Disconnect, if one came
	transferHost string
	transferPort int32
	platformY    int32
}

// client is a scripted Minecraft client speaking to the limbo.
type client struct {
	t        *testing.T
	c        net.Conn
	l        *Limbo
	protocol int32
	table    *packets.Table
	fr       *mcproto.FrameReader
	inf      mcproto.Inflater
	comp     mcproto.Compressor
	compress bool
	state    mcproto.State
}

// recv returns the next clientbound packet's id and body.
func (c *client) recv() (int32, []byte, error) {
	body, err := c.fr.Next()
	if err != nil {
		return 0, nil, err
	}
	if c.compress {
		dataLen, payload, err := mcproto.SplitCompressed(body, compressionThreshold, mcproto.MaxClientboundInflate, true)
		if err != nil {
			return 0, nil, err
		}
		if dataLen > 0 {
			if payload, err = c.inf.Inflate(nil, payload, dataLen); err != nil {
				return 0, nil, err
			}
		}
		body = payload
	}
	id, n, err := mcproto.ReadVarInt(body)
	if err != nil {
		return 0, nil, err
	}
	return id, bytes.Clone(body[n:]), nil
}

// send writes one serverbound packet of kind k with data.
func (c *client) send(k packets.Kind, data []byte) {
	c.t.Helper()
	id := c.table.ID(c.state, mcproto.Serverbound, k)
	if id < 0 {
		c.t.Fatalf("%s has no %s in protocol %d", c.state, k, c.protocol)
	}
	c.sendRaw(append(mcproto.AppendVarInt(nil, id), data...))
}

func (c *client) sendRaw(packet []byte) {
	threshold := mcproto.CompressionOff
	if c.compress {
		threshold = compressionThreshold
	}
	// Write errors are expected once the limbo has given up on us; the
	// verdict, not the write, is what the test checks.
	_, _ = c.c.Write(c.comp.AppendFrame(nil, packet, threshold))
}

func (c *client) sendInfo(b behaviour) {
	if !b.noSettings {
		c.send(packets.KindClientSettings, packets.ClientSettings{Locale: []byte("en_us"), ViewDistance: 10, ChatColors: true, SkinParts: 0x7f, MainHand: 1}.AppendData(nil, c.protocol))
	}
	channel := packets.BrandChannel(c.protocol)
	brand := "vanilla"
	if b.brand != "" {
		brand = b.brand
	}
	if b.badBrand {
		brand = "vani\x01lla"
	}
	if !b.noBrand {
		for i := 0; i < 1 || b.brandTwice && i < 2; i++ {
			c.send(packets.KindPluginMessage, packets.PluginMessage{Channel: []byte(channel), Data: mcproto.AppendString(nil, brand)}.AppendData(nil, c.protocol))
		}
	}
}

// teleport parses Synchronize Player Position (the layouts appendTeleport
// writes; encode_test.go ties those to minecraft-protocol).
func (c *client) teleport(body []byte) (id int32, x, y, z float64) {
	r := mcproto.NewReader(body)
	if c.protocol >= mcproto.Protocol1_21_2 {
		id = r.VarInt()
	}
	x, y, z = r.Float64(), r.Float64(), r.Float64()
	if c.protocol < mcproto.Protocol1_21_2 && c.protocol >= mcproto.Protocol1_9 {
		r.Bytes(4 + 4 + 1)
		id = r.VarInt()
	}
	if r.Err() != nil {
		c.t.Fatalf("teleport: %v", r.Err())
	}
	return id, x, y, z
}

// platform finds which platform the chunk packet shows, by comparing it with
// the world's variants.
func (c *client) platform(id int32, body []byte) (int32, bool) {
	pw := c.l.world.lookup(c.protocol)
	packet := append(mcproto.AppendVarInt(nil, id), body...)
	for _, v := range pw.variants {
		for _, frame := range v.chunk {
			if bytes.Equal(unframe(c.t, frame, compressionThreshold), packet) {
				return v.platformY, true
			}
		}
	}
	return 0, false
}

// play runs the client until the limbo ends the connection.
func (c *client) play(b behaviour) outcome {
	var out outcome
	var (
		teleported bool
		tpID       int32
		x, y, z    float64
		keepAlive  = c.protocol >= mcproto.Protocol1_20_2 // answered in configuration
		fell       bool
	)
	flood := func() {
		for i := 0; i < b.flood; i++ {
			c.send(packets.KindPlayerLook, packets.PlayerLook{}.AppendData(nil, c.protocol))
		}
	}
	for {
		id, body, err := c.recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.t.Logf("client read: %v", err)
			}
			return out
		}
		kind := c.table.Kind(c.state, mcproto.Clientbound, id)
		switch {
		case c.state == mcproto.StateLogin && id == 0x03: // Set Compression
			c.compress = true
		case c.state == mcproto.StateLogin && id == 0x02: // Login Success
			if _, err := packets.DecodeLoginSuccess(body, c.protocol); err != nil {
				c.t.Errorf("login success: %v", err)
			}
			if c.protocol >= mcproto.Protocol1_20_2 {
				c.state = mcproto.StateConfiguration // whether it acknowledges or not
				if b.silent {
					continue
				}
				c.sendRaw(packets.LoginAcknowledged{}.AppendTo(nil, c.protocol))
				c.sendInfo(b) // vanilla sends brand and settings first thing in configuration
			} else if b.silent {
				c.state = mcproto.StatePlay
			} else {
				c.state = mcproto.StatePlay
				flood()
			}
		case kind == packets.KindDisconnect || c.state == mcproto.StateLogin && id == 0x00:
			out.disconnect = string(body)
		case kind == packets.KindTransfer:
			r := mcproto.NewReader(body)
			out.transferHost, out.transferPort = r.String(maxTransferHost), r.VarInt()
		case kind == packets.KindKeepAlive:
			k, err := packets.DecodeKeepAlive(body, c.protocol)
			if err != nil {
				c.t.Fatalf("keep-alive: %v", err)
			}
			c.send(packets.KindKeepAlive, packets.KeepAlive{ID: k.ID + b.keepAliveDelta}.AppendData(nil, c.protocol))
			keepAlive = true
		case kind == packets.KindFinishConfiguration:
			c.sendRaw(packets.FinishConfiguration{}.AppendAck(nil, c.protocol))
			c.state = mcproto.StatePlay
			flood()
		case kind == packets.KindJoinGame && c.protocol < mcproto.Protocol1_20_2:
			c.sendInfo(b) // vanilla sends brand and settings right after joining
		case c.table.Name(c.state, mcproto.Clientbound, id) == "map_chunk":
			if py, ok := c.platform(id, body); ok {
				out.platformY = py
			}
		case kind == packets.KindSyncPlayerPosition:
			tpID, x, y, z = c.teleport(body)
			teleported = true
		}
		if teleported && keepAlive && !fell && !b.silent {
			fell = true
			c.fall(b, tpID, x, y, z, out.platformY)
		}
	}
}

// fall answers the teleport and falls onto the platform the way vanilla
// does, give or take the behaviour.
func (c *client) fall(b behaviour, tpID int32, x, y, z float64, platformY int32) {
	if platformY == 0 {
		c.t.Fatal("teleport before the chunk: no platform known")
	}
	echo := packets.PlayerPositionLook{X: x, Y: y, Z: z}.AppendData(nil, c.protocol)
	confirm := func() {
		if c.protocol >= mcproto.Protocol1_9 && !b.skipConfirm {
			c.send(packets.KindTeleportConfirm, packets.TeleportConfirm{TeleportID: tpID + b.teleportDelta}.AppendData(nil, c.protocol))
		}
	}
	if c.protocol >= mcproto.Protocol1_21_2 { // 1.21.2 answers with the position first
		c.send(packets.KindPlayerPositionLook, echo)
		confirm()
	} else {
		confirm()
		c.send(packets.KindPlayerPositionLook, echo)
	}
	g := b.gravity
	if g == 0 {
		g = gravity
	}
	moves := vanillaFall(x, y, z, float64(platformY+1), g, airDrag, !b.noStillTick)
	for i, m := range moves {
		if b.hover && i == len(moves)/2 {
			m = moves[i-1]
		}
		var flags uint8
		if m.onGround {
			flags = packets.MoveOnGround
		}
		c.send(packets.KindPlayerPosition, packets.PlayerPosition{X: m.x, Y: m.y, Z: m.z, Flags: flags}.AppendData(nil, c.protocol))
	}
}

type verdict struct {
	res Result
	err error
}

// verify runs one limbo verification over loopback TCP against a scripted
// client and returns the limbo's verdict and what the client saw.
func verify(t *testing.T, l *Limbo, protocol int32, b behaviour, pending []byte) (Result, error, outcome) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	done := make(chan verdict, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- verdict{err: err}
			return
		}
		defer c.Close()
		res, err := l.Run(ctx, c, pending, protocol, "Tester_1", mcproto.UUID{}, "play.example.net", 25577)
		done <- verdict{res, err}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(testTimeout))
	c := &client{t: t, c: conn, l: l, protocol: protocol, table: packets.Lookup(protocol),
		fr: mcproto.NewFrameReader(conn, mcproto.MaxFrameLength), state: mcproto.StateLogin}
	out := c.play(b)
	_ = conn.Close() // the limbo lingers until we go
	v := <-done
	return v.res, v.err, out
}

func newTestLimbo(t *testing.T, o Options) *Limbo {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestPassEveryProtocol: a client that behaves like vanilla passes on every
// protocol the limbo supports, and is sent off the way its version allows.
func TestPassEveryProtocol(t *testing.T) {
	l := newTestLimbo(t, Options{})
	for _, p := range l.Protocols() {
		for _, b := range []behaviour{{}, {noStillTick: true}} {
			name := fmt.Sprintf("%d/still=%v", p, !b.noStillTick)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				res, err, out := verify(t, l, p, b, nil)
				if err != nil || !res.Passed || res.Reason != None {
					t.Fatalf("Run = %+v, %v; want passed", res, err)
				}
				if out.platformY == 0 {
					t.Error("client saw no platform")
				}
				if p >= mcproto.Protocol1_20_5 {
					if out.transferHost != "play.example.net" || out.transferPort != 25577 {
						t.Errorf("transfer to %s:%d, want play.example.net:25577", out.transferHost, out.transferPort)
					}
				} else if !strings.Contains(out.disconnect, "Verified") {
					t.Errorf("disconnect %q, want the reconnect message", out.disconnect)
				}
			})
		}
	}
}

// TestPassBrands: the brands real clients send pass, up to the 64 bytes
// the detection engine's client.brand allows too (packets.DecodeBrand, the
// one rule both apply; the limbo stopped at 63 before they shared it).
func TestPassBrands(t *testing.T) {
	l := newTestLimbo(t, Options{})
	for _, p := range []int32{47, 765} {
		for _, brand := range []string{"fabric", "fml,forge", "Feather Fabric", "§6gold", strings.Repeat("b", 64)} {
			t.Run(fmt.Sprintf("%d/%s", p, brand), func(t *testing.T) {
				t.Parallel()
				res, err, _ := verify(t, l, p, behaviour{brand: brand}, nil)
				if err != nil || !res.Passed {
					t.Fatalf("Run = %+v, %v; want passed", res, err)
				}
			})
		}
	}
}

// TestFailures: each way of failing is caught and named, on versions on
// both sides of the configuration state and the 1.21.2 teleport order.
func TestFailures(t *testing.T) {
	tests := []struct {
		name string
		b    behaviour
		want Reason
	}{
		{"wrong keep-alive id", behaviour{keepAliveDelta: 1}, KeepAlive},
		{"wrong teleport id", behaviour{teleportDelta: 1}, Teleport},
		{"no teleport confirm", behaviour{skipConfirm: true}, Teleport},
		{"no brand", behaviour{noBrand: true}, Brand},
		{"brand twice", behaviour{brandTwice: true}, Brand},
		{"bad brand", behaviour{badBrand: true}, Brand},
		{"brand over 64 bytes", behaviour{brand: strings.Repeat("b", 65)}, Brand},
		{"brand with a non-ASCII letter", behaviour{brand: "vanillä"}, Brand},
		{"no settings", behaviour{noSettings: true}, Settings},
		{"hovering", behaviour{hover: true}, Gravity},
		{"falling too fast", behaviour{gravity: 0.1}, Gravity},
		{"silent", behaviour{silent: true}, Timeout},
		{"packet flood", behaviour{flood: 400}, Budget},
	}
	// A short timeout: the cases that wait for something that never comes
	// end on it. An honest verification over loopback takes milliseconds.
	l := newTestLimbo(t, Options{Timeout: time.Second})
	for _, p := range []int32{47, 340, 765, 769} {
		for _, tt := range tests {
			if (tt.b.skipConfirm || tt.b.teleportDelta != 0) && p < mcproto.Protocol1_9 {
				continue // 1.8 has no teleport confirm
			}
			t.Run(fmt.Sprintf("%d/%s", p, tt.name), func(t *testing.T) {
				t.Parallel()
				res, err, out := verify(t, l, p, tt.b, nil)
				if err != nil {
					t.Fatalf("Run error %v (result %+v), want a verdict", err, res)
				}
				if res.Passed || res.Reason != tt.want {
					t.Fatalf("Run = %+v, want %s", res, tt.want)
				}
				if !res.Reason.Failure() {
					t.Errorf("%s does not count as a failure", res.Reason)
				}
				t.Logf("detail: %s", res.Detail)
				if tt.b.silent || tt.b.flood > 0 {
					return // the client may not read the goodbye
				}
				if !strings.Contains(out.disconnect, "Verification failed") {
					t.Errorf("client saw %q, want the failure message", out.disconnect)
				}
			})
		}
	}
}

func TestGarbageAfterLoginStart(t *testing.T) {
	l := newTestLimbo(t, Options{Timeout: 2 * time.Second})
	// An uncompressed frame where, after Set Compression, a compressed one
	// must be: Data Length 5 below the threshold.
	res, err, _ := verify(t, l, 765, behaviour{silent: true}, []byte{0x03, 0x05, 0x01, 0x02})
	if err != nil || res.Reason != Protocol {
		t.Fatalf("Run = %+v, %v; want %s", res, err, Protocol)
	}
}

func TestRunUnsupported(t *testing.T) {
	l := newTestLimbo(t, Options{})
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	res, err := l.Run(context.Background(), a, nil, 5, "x", mcproto.UUID{}, "", 0)
	if !errors.Is(err, ErrUnsupported) || res.Reason != Unsupported || res.Reason.Failure() {
		t.Fatalf("Run = %+v, %v", res, err)
	}
}

// TestContextEndsRun: a cancelled context ends a verification at once, and
// as Closed, not as the client's failure.
func TestContextEndsRun(t *testing.T) {
	l := newTestLimbo(t, Options{})
	a, b := net.Pipe()
	defer b.Close()
	go func() { _, _ = io.Copy(io.Discard, b) }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan verdict, 1)
	go func() {
		res, err := l.Run(ctx, a, nil, 769, "x", mcproto.UUID{}, "", 0)
		done <- verdict{res, err}
	}()
	cancel()
	select {
	case v := <-done:
		if v.err == nil || v.res.Reason != Closed || v.res.Reason.Failure() {
			t.Fatalf("Run = %+v, %v; want Closed with an error", v.res, v.err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after cancel")
	}
	_ = a.Close()
}

func TestNewOptions(t *testing.T) {
	if _, err := New(Options{MinFallTicks: 1}); err == nil {
		t.Error("MinFallTicks 1 accepted")
	}
	if _, err := New(Options{MinFallTicks: 101}); err == nil {
		t.Error("MinFallTicks 101 accepted")
	}
	l := newTestLimbo(t, Options{})
	if l.o.Timeout != DefaultTimeout || l.o.MaxPackets != DefaultMaxPackets || l.o.MinFallTicks != DefaultMinFallTicks {
		t.Errorf("defaults not applied: %+v", l.o)
	}
}

func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		k := r.String()
		if !strings.HasPrefix(k, "verify.") || seen[k] {
			t.Errorf("reason %d key %q", r, k)
		}
		seen[k] = true
	}
	if None.Failure() || Closed.Failure() || Unsupported.Failure() || !Gravity.Failure() || !Timeout.Failure() {
		t.Error("Failure misclassifies")
	}
}

// Package mcconn is one leg of a Minecraft Java connection as the load tool
// sees it: whole packets (ID + data) in and out, with the frame and
// compression layers of mcproto underneath. The synthetic backend and the
// synthetic players both speak through it, so the two ends share one
// encoder and one decoder and the tool holds no VarInt code of its own.
//
// Bytes enter through ReadPacket from a net.Conn (possibly relayed by the
// proxy under test) and leave through WritePacket. After EnableEncryption
// (an online-mode login) every byte in either direction also passes through
// the AES-128-CFB8 stream of shared/mcproto/cfb8, in place, so the
// per-packet path allocates no more than it does in the clear. A Conn is
// used by one reading goroutine and one writing goroutine at most.
package mcconn

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
)

// ErrUnexpectedPacket means the peer sent a packet the protocol step does
// not allow; the workloads treat it as a functional failure.
var ErrUnexpectedPacket = errors.New("mcconn: unexpected packet")

// Conn is a packet-level view of one TCP connection. Its Read and Write
// go through the leg's cipher once it is on.
type Conn struct {
	net.Conn
	src       decryptingReader // what fr reads: the socket, deciphered
	enc       *cfb8.Encrypter  // nil until EnableEncryption
	raw       []byte           // Write's scratch once encrypted, reused
	fr        *mcproto.FrameReader
	threshold int
	dir       mcproto.Direction // direction of the packets this side reads
	infl      mcproto.Inflater
	comp      mcproto.Compressor
	in        []byte // inflated packet, reused
	out       []byte // outgoing frame, reused
}

// New wraps c. reads is the direction of the packets this side receives
// (Clientbound for a player, Serverbound for a server); it picks the inflate
// cap of docs/PROTOCOL.md, Compression. Compression starts off.
func New(c net.Conn, reads mcproto.Direction) *Conn {
	cc := &Conn{
		Conn:      c,
		src:       decryptingReader{r: c},
		threshold: mcproto.CompressionOff,
		dir:       reads,
	}
	cc.fr = mcproto.NewFrameReader(&cc.src, mcproto.MaxFrameLength)
	return cc
}

// decryptingReader deciphers what it reads, in place, once dec is set.
type decryptingReader struct {
	r   io.Reader
	dec *cfb8.Decrypter
}

func (d *decryptingReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if d.dec != nil && n > 0 {
		d.dec.XORKeyStream(p[:n], p[:n])
	}
	return n, err
}

// EnableEncryption turns on the leg's cipher: from the next byte on, both
// directions are AES-128-CFB8 with the 16-byte shared secret as key and IV
// (docs/PROTOCOL.md, "Encryption"). A client calls it right after writing
// Encryption Response, a server right after reading it. Bytes already
// buffered were read in the clear; a peer sends none between Encryption
// Request and the switch, so any is refused as an unexpected packet.
func (c *Conn) EnableEncryption(secret []byte) error {
	if c.enc != nil {
		return errors.New("mcconn: encryption is already on")
	}
	if n := len(c.fr.Framer().Buffered()); n > 0 {
		return fmt.Errorf("%d bytes arrived before encryption started: %w", n, ErrUnexpectedPacket)
	}
	enc, err := cfb8.NewEncrypter(secret, secret)
	if err != nil {
		return fmt.Errorf("leg cipher: %w", err)
	}
	dec, err := cfb8.NewDecrypter(secret, secret)
	if err != nil {
		return fmt.Errorf("leg cipher: %w", err)
	}
	c.enc, c.src.dec = enc, dec
	return nil
}

// Encrypted reports whether the leg's cipher is on.
func (c *Conn) Encrypted() bool { return c.enc != nil }

// Read reads raw (deciphered) bytes past the framer; it is for tests and
// must not be mixed with ReadPacket on one connection.
func (c *Conn) Read(p []byte) (int, error) { return c.src.Read(p) }

// Write sends raw bytes (whole frames a caller built), through the cipher
// when it is on; p itself is left as it was.
func (c *Conn) Write(p []byte) (int, error) {
	if c.enc == nil {
		return c.Conn.Write(p)
	}
	c.raw = append(c.raw[:0], p...)
	c.enc.XORKeyStream(c.raw, c.raw)
	return c.Conn.Write(c.raw)
}

// SetThreshold switches the leg's compression threshold (Set Compression);
// mcproto.CompressionOff turns it off.
func (c *Conn) SetThreshold(t int) { c.threshold = t }

// Threshold is the current compression threshold.
func (c *Conn) Threshold() int { return c.threshold }

// ReadPacket returns the next packet's ID and data, inflated when needed.
// data aliases an internal buffer and is valid until the next read.
func (c *Conn) ReadPacket() (id int32, data []byte, err error) {
	body, err := c.fr.Next()
	if err != nil {
		return 0, nil, err
	}
	return c.Decode(body)
}

// NextFrame returns the next whole frame (raw, length field included, as it
// crossed the wire) and its body without decoding it, so a bulk reader can
// count and check frames without paying for inflation. Both alias the read
// buffer and are valid until the next read. A stream that ends inside a
// frame yields io.ErrUnexpectedEOF. It shares the FrameReader's framer, so
// ReadPacket and NextFrame may be mixed on one connection.
func (c *Conn) NextFrame() (raw, body []byte, err error) {
	f := c.fr.Framer()
	for {
		raw, body, err := f.Next()
		if err != nil {
			return nil, nil, fmt.Errorf("read frame: %w", err)
		}
		if raw != nil {
			return raw, body, nil
		}
		n, err := c.src.Read(f.Space())
		f.Commit(n)
		if err != nil {
			if n > 0 {
				continue
			}
			if errors.Is(err, io.EOF) && len(f.Buffered()) > 0 {
				return nil, nil, io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
	}
}

// Decode splits a frame body into packet ID and data for the current
// threshold, inflating a compressed packet into an internal buffer (valid
// until the next Decode).
func (c *Conn) Decode(body []byte) (id int32, data []byte, err error) {
	pkt := body
	if c.threshold >= 0 {
		dataLen, payload, err := mcproto.SplitCompressed(body, c.threshold, mcproto.MaxInflate(c.dir), false)
		if err != nil {
			return 0, nil, fmt.Errorf("split compressed frame: %w", err)
		}
		pkt = payload
		if dataLen > 0 {
			c.in, err = c.infl.Inflate(c.in[:0], payload, dataLen)
			if err != nil {
				return 0, nil, fmt.Errorf("inflate packet: %w", err)
			}
			pkt = c.in
		}
	}
	r := mcproto.NewReader(pkt)
	id = r.VarInt()
	if err := r.Err(); err != nil {
		return 0, nil, fmt.Errorf("packet id: %w", err)
	}
	return id, r.Rest(), nil
}

// Expect reads one packet and fails unless its ID is want.
func (c *Conn) Expect(want int32) ([]byte, error) {
	id, data, err := c.ReadPacket()
	if err != nil {
		return nil, err
	}
	if id != want {
		return nil, fmt.Errorf("got packet %#x, want %#x: %w", id, want, ErrUnexpectedPacket)
	}
	return data, nil
}

// WritePacket frames packet (ID + data) for the current threshold and writes
// it in one call.
func (c *Conn) WritePacket(packet []byte) error {
	c.out = c.comp.AppendFrame(c.out[:0], packet, c.threshold)
	if c.enc != nil {
		c.enc.XORKeyStream(c.out, c.out)
	}
	if _, err := c.Conn.Write(c.out); err != nil {
		return fmt.Errorf("write packet: %w", err)
	}
	return nil
}

// ReleaseBuffers drops the read buffers so an idle connection holds as
// little of the tool's memory as possible (the idle workload keeps
// thousands of them open).
func (c *Conn) ReleaseBuffers() {
	c.fr.Framer().Release()
	c.in, c.out, c.raw = nil, nil, nil
}

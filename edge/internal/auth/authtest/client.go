package authtest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rustguard/rustguard/edge/internal/auth"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
	"github.com/rustguard/rustguard/shared/testservers"
)

// Client is one Minecraft connection from the player's side: frames,
// compression and, once Encrypt was called, the cipher in both directions.
type Client struct {
	Conn     net.Conn
	Protocol int32
	// Claim, when set, is the Login Start that Login sends instead of the
	// account's own name and UUID (a client may type its name in another
	// case, or send any UUID).
	Claim *packets.LoginStart
	// ProfileKey, on 1.19–1.19.2, is the chat-signing key Login sends in
	// Login Start (with KeySignature, Mojang's signature of it, and
	// KeyExpiry); Login then answers Encryption Request in the signed
	// form, as such a client does.
	ProfileKey   *rsa.PrivateKey
	KeySignature []byte
	KeyExpiry    int64

	f         *mcproto.Framer
	enc, dec  auth.Stream
	threshold int
	comp      mcproto.Compressor
	inf       mcproto.Inflater
	scratch   []byte
}

// Dial connects to addr for a client of protocol.
func Dial(addr string, protocol int32) (*Client, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Client{Conn: c, Protocol: protocol, f: mcproto.NewFramer(nil, mcproto.MaxFrameLength), threshold: mcproto.CompressionOff}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.Conn.Close() }

// Start sends the handshake (login intent) and Login Start.
func (c *Client) Start(host string, ls packets.LoginStart) error {
	hs := packets.Handshake{Protocol: c.Protocol, Host: host, Port: 25565, Intent: mcproto.IntentLogin}
	out := mcproto.AppendFrame(nil, hs.AppendTo(nil, c.Protocol))
	out = mcproto.AppendFrame(out, ls.AppendTo(nil, c.Protocol))
	_, err := c.Conn.Write(out)
	return err
}

// Encrypt turns the cipher on with secret, both ways, from the next byte.
func (c *Client) Encrypt(secret [auth.SecretLen]byte) error {
	enc, dec, err := auth.NewStreams(secret)
	if err != nil {
		return err
	}
	c.enc, c.dec = enc, dec
	if b := c.f.Buffered(); len(b) > 0 {
		dec.XORKeyStream(b, b)
	}
	return nil
}

// WriteRaw writes bytes as they are, encrypted when the cipher is on.
func (c *Client) WriteRaw(b []byte) error {
	b = append([]byte(nil), b...)
	if c.enc != nil {
		c.enc.XORKeyStream(b, b)
	}
	_, err := c.Conn.Write(b)
	return err
}

// WritePacket frames pkt (id and data) for the connection's compression
// and writes it.
func (c *Client) WritePacket(pkt []byte) error {
	return c.WriteRaw(c.comp.AppendFrame(nil, pkt, c.threshold))
}

// ReadPacket returns the next packet's id and data (valid until the next
// call), inflated when compressed.
func (c *Client) ReadPacket() (int32, []byte, error) {
	for {
		raw, body, err := c.f.Next()
		if err != nil {
			return 0, nil, err
		}
		if raw != nil {
			pkt := body
			if c.threshold >= 0 {
				n, payload, err := mcproto.SplitCompressed(body, c.threshold, mcproto.MaxInflate(mcproto.Clientbound), false)
				if err != nil {
					return 0, nil, err
				}
				pkt = payload
				if n > 0 {
					if c.scratch, err = c.inf.Inflate(c.scratch[:0], payload, n); err != nil {
						return 0, nil, err
					}
					pkt = c.scratch
				}
			}
			id, n, err := mcproto.ReadVarInt(pkt)
			if err != nil {
				return 0, nil, err
			}
			return id, pkt[n:], nil
		}
		space := c.f.Space()
		n, err := c.Conn.Read(space)
		if n > 0 {
			if c.dec != nil {
				c.dec.XORKeyStream(space[:n], space[:n])
			}
			c.f.Commit(n)
			continue
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

// LoginError is a login the server refused with a Disconnect.
type LoginError struct{ Reason string }

func (e *LoginError) Error() string { return "disconnected in login: " + e.Reason }

// Login is an online-mode login as a vanilla client makes it: handshake,
// Login Start, then on the server's Encryption Request a join at the
// session server, the encrypted answer and the cipher; then Set
// Compression, login plugin requests (answered "not understood", as a
// vanilla client does) and Login Success, acknowledged on 1.20.2+. The
// account joins unless join is false (a client that skips the session
// server). A Disconnect in login returns a *LoginError.
func (c *Client) Login(ctx context.Context, host, sessionURL string, a *testservers.SessionAccount, join bool) (packets.LoginSuccess, error) {
	if d, ok := ctx.Deadline(); ok {
		_ = c.Conn.SetDeadline(d)
	}
	claim := packets.LoginStart{Name: a.Name, HasUUID: true, UUID: a.ID}
	if c.Claim != nil {
		claim = *c.Claim
	}
	if c.ProfileKey != nil {
		der, err := x509.MarshalPKIXPublicKey(&c.ProfileKey.PublicKey)
		if err != nil {
			return packets.LoginSuccess{}, err
		}
		claim.HasKey, claim.PublicKey, claim.KeySignature, claim.KeyExpiry = true, der, c.KeySignature, c.KeyExpiry
	}
	if err := c.Start(host, claim); err != nil {
		return packets.LoginSuccess{}, err
	}
	for {
		id, data, err := c.ReadPacket()
		if err != nil {
			return packets.LoginSuccess{}, fmt.Errorf("read login packet: %w", err)
		}
		switch id {
		case 0x00:
			d, _ := packets.DecodeLoginDisconnect(data, c.Protocol)
			return packets.LoginSuccess{}, &LoginError{Reason: d.Reason}
		case 0x01:
			req, err := packets.DecodeEncryptionRequest(data, c.Protocol)
			if err != nil {
				return packets.LoginSuccess{}, err
			}
			var secret [auth.SecretLen]byte
			_, _ = rand.Read(secret[:])
			if join {
				if err := Join(ctx, sessionURL, a, ServerID(req, secret[:])); err != nil {
					return packets.LoginSuccess{}, err
				}
			}
			resp, err := Respond(req, secret[:])
			if err != nil {
				return packets.LoginSuccess{}, err
			}
			if c.ProfileKey != nil {
				if resp, err = c.signedResponse(req, resp); err != nil {
					return packets.LoginSuccess{}, err
				}
			}
			if err := c.WritePacket(resp.AppendTo(nil, c.Protocol)); err != nil {
				return packets.LoginSuccess{}, err
			}
			if err := c.Encrypt(secret); err != nil {
				return packets.LoginSuccess{}, err
			}
		case 0x02:
			ls, err := packets.DecodeLoginSuccess(data, c.Protocol)
			if err != nil {
				return ls, err
			}
			if c.Protocol >= mcproto.Protocol1_20_2 {
				err = c.WritePacket(packets.LoginAcknowledged{}.AppendTo(nil, c.Protocol))
			}
			return ls, err
		case 0x03:
			sc, err := packets.DecodeSetCompression(data, c.Protocol)
			if err != nil {
				return packets.LoginSuccess{}, err
			}
			c.threshold = int(sc.Threshold)
			if c.threshold < 0 {
				c.threshold = mcproto.CompressionOff
			}
		case 0x04:
			req, err := packets.DecodeLoginPluginRequest(data, c.Protocol)
			if err != nil {
				return packets.LoginSuccess{}, err
			}
			if err := c.WritePacket(packets.LoginPluginResponse{MessageID: req.MessageID}.AppendTo(nil, c.Protocol)); err != nil {
				return packets.LoginSuccess{}, err
			}
		default:
			return packets.LoginSuccess{}, errors.New("unexpected login packet " + fmt.Sprint(id))
		}
	}
}

// signedResponse turns resp into the 1.19–1.19.2 signed form: instead of
// the encrypted token, a salt and the profile key's SHA256withRSA
// signature over the token followed by the salt (big-endian).
func (c *Client) signedResponse(req packets.EncryptionRequest, resp packets.EncryptionResponse) (packets.EncryptionResponse, error) {
	var salt [8]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return resp, err
	}
	d := sha256.New()
	d.Write(req.VerifyToken)
	d.Write(salt[:])
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.ProfileKey, crypto.SHA256, d.Sum(nil))
	if err != nil {
		return resp, err
	}
	resp.Signed, resp.VerifyToken = true, nil
	resp.Salt, resp.MessageSignature = int64(binary.BigEndian.Uint64(salt[:])), sig
	return resp, nil
}

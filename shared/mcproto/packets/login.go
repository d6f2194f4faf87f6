package packets

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Protocol boundaries of login-state layouts (checked against
// minecraft-data's field layouts for every supported protocol by
// internal/gen's layout test).
const (
	// protocol1_16 is where Login Success switched from a textual to a
	// binary UUID (1.16, 735).
	protocol1_16 = 735
	// protocolNoStrictErrors is where Login Success lost the
	// strictErrorHandling flag it had in 1.20.5–1.21.1 (1.21.2, 768).
	protocolNoStrictErrors = mcproto.Protocol1_21_2
)

// Login field limits (docs/PROTOCOL.md, Login and vanilla's declared sizes).
const (
	// MaxUsernameLen is vanilla's String(16) for player names.
	MaxUsernameLen = 16
	// maxServerIDLen is vanilla's String(20); the id is empty since 1.7.
	maxServerIDLen = 20
	// maxProfileKeyLen and maxProfileKeySignatureLen bound the 1.19–1.19.2
	// chat-signing key block of Login Start (docs/PROTOCOL.md, Login).
	maxProfileKeyLen          = 512
	maxProfileKeySignatureLen = 4096
	// maxServerKeyLen bounds the server's public key in Encryption Request.
	// Vanilla's RSA-1024 SubjectPublicKeyInfo is 162 bytes; 1024 leaves room
	// for keys up to 4096 bits (550 bytes).
	maxServerKeyLen = 1024
	// maxVerifyTokenLen bounds the plaintext verify token of Encryption
	// Request; vanilla sends 4 random bytes.
	maxVerifyTokenLen = 64
	// maxRSABlockLen bounds RSA-encrypted or RSA-signed fields of
	// Encryption Response: 128 bytes with vanilla's RSA-1024, 256 for the
	// 1.19 profile key (RSA-2048), 512 for a 4096-bit key.
	maxRSABlockLen = 512
	// maxUUIDStringLen is the dashed textual UUID of Login Success before
	// 1.16 (vanilla String(36)).
	maxUUIDStringLen = 36
	// maxProperties caps the profile properties of Login Success. Vanilla
	// sends one (textures) and 1.20.5+ reads at most 16; 64 leaves room for
	// plugins that add their own without letting a count reserve memory.
	maxProperties = 64
	// maxPropertyLen is the String(32767) vanilla used for property names,
	// values and signatures before 1.20.5 tightened names and signatures.
	maxPropertyLen = 32767
	// maxIdentifierLen is vanilla's String(32767) for resource locations
	// (plugin channels).
	maxIdentifierLen = 32767
	// MaxLoginPluginDataLen is vanilla's 1 MiB cap on login plugin
	// (custom query) payloads in both directions.
	MaxLoginPluginDataLen = 1 << 20
	// MaxJSONTextLen is vanilla's String(262144) for JSON text components.
	MaxJSONTextLen = 262144
)

// LoginStart opens the login (serverbound, login, 0x00). Its layout depends
// on the protocol (docs/PROTOCOL.md, Login):
//
//	≤ 1.18.2         name
//	1.19             name, optional key block
//	1.19.1–1.19.2    name, optional key block, optional UUID
//	1.19.3–1.20.1    name, optional UUID
//	1.20.2+          name, UUID
type LoginStart struct {
	Name string
	// HasKey is set when a 1.19–1.19.2 client sent its chat-signing key.
	HasKey       bool
	KeyExpiry    int64  // milliseconds since the epoch
	PublicKey    []byte // DER, aliases the body
	KeySignature []byte // Mojang's signature of the key, aliases the body
	// HasUUID is set when the client sent its profile id (optional
	// 1.19.1–1.20.1, always since 1.20.2).
	HasUUID bool
	UUID    mcproto.UUID
}

// DecodeLoginStart decodes Login Start for the given protocol.
func DecodeLoginStart(body []byte, protocol int32) (LoginStart, error) {
	r := mcproto.NewReader(body)
	l := LoginStart{Name: r.String(MaxUsernameLen)}
	if protocol >= mcproto.Protocol1_19 && protocol < mcproto.Protocol1_19_3 {
		if l.HasKey = r.Bool(); l.HasKey {
			l.KeyExpiry = r.Int64()
			l.PublicKey = r.ByteArray(maxProfileKeyLen)
			l.KeySignature = r.ByteArray(maxProfileKeySignatureLen)
		}
	}
	switch {
	case protocol >= mcproto.Protocol1_20_2:
		l.HasUUID, l.UUID = true, r.UUID()
	case protocol >= mcproto.Protocol1_19_1:
		if l.HasUUID = r.Bool(); l.HasUUID {
			l.UUID = r.UUID()
		}
	}
	if err := r.Finish(); err != nil {
		return LoginStart{}, fmt.Errorf("decode login start (protocol %d): %w", protocol, err)
	}
	return l, nil
}

// AppendTo appends Login Start in the protocol's layout. Fields the layout
// lacks are dropped; from 1.20.2 the UUID is written whether or not HasUUID
// is set, because the field is mandatory.
func (l LoginStart) AppendTo(dst []byte, protocol int32) []byte {
	dst = append(dst, idLoginStart)
	dst = mcproto.AppendString(dst, l.Name)
	if protocol >= mcproto.Protocol1_19 && protocol < mcproto.Protocol1_19_3 {
		dst = mcproto.AppendBool(dst, l.HasKey)
		if l.HasKey {
			dst = mcproto.AppendInt64(dst, l.KeyExpiry)
			dst = mcproto.AppendByteArray(dst, l.PublicKey)
			dst = mcproto.AppendByteArray(dst, l.KeySignature)
		}
	}
	switch {
	case protocol >= mcproto.Protocol1_20_2:
		dst = mcproto.AppendUUID(dst, l.UUID)
	case protocol >= mcproto.Protocol1_19_1:
		dst = mcproto.AppendBool(dst, l.HasUUID)
		if l.HasUUID {
			dst = mcproto.AppendUUID(dst, l.UUID)
		}
	}
	return dst
}

// EncryptionRequest starts encryption (clientbound, login, 0x01).
type EncryptionRequest struct {
	ServerID    string // empty since 1.7
	PublicKey   []byte // ASN.1 DER SubjectPublicKeyInfo
	VerifyToken []byte
	// ShouldAuthenticate tells a 1.20.5+ client whether to call the session
	// server. Older clients always do; decoding sets it for them.
	ShouldAuthenticate bool
}

// DecodeEncryptionRequest decodes Encryption Request.
func DecodeEncryptionRequest(body []byte, protocol int32) (EncryptionRequest, error) {
	r := mcproto.NewReader(body)
	e := EncryptionRequest{
		ServerID:           r.String(maxServerIDLen),
		PublicKey:          r.ByteArray(maxServerKeyLen),
		VerifyToken:        r.ByteArray(maxVerifyTokenLen),
		ShouldAuthenticate: true,
	}
	if protocol >= mcproto.Protocol1_20_5 {
		e.ShouldAuthenticate = r.Bool()
	}
	if err := r.Finish(); err != nil {
		return EncryptionRequest{}, fmt.Errorf("decode encryption request (protocol %d): %w", protocol, err)
	}
	return e, nil
}

// AppendTo appends Encryption Request.
func (e EncryptionRequest) AppendTo(dst []byte, protocol int32) []byte {
	dst = append(dst, idEncryptionRequest)
	dst = mcproto.AppendString(dst, e.ServerID)
	dst = mcproto.AppendByteArray(dst, e.PublicKey)
	dst = mcproto.AppendByteArray(dst, e.VerifyToken)
	if protocol >= mcproto.Protocol1_20_5 {
		dst = mcproto.AppendBool(dst, e.ShouldAuthenticate)
	}
	return dst
}

// EncryptionResponse answers Encryption Request (serverbound, login, 0x01).
type EncryptionResponse struct {
	SharedSecret []byte // RSA-encrypted AES key, aliases the body
	VerifyToken  []byte // RSA-encrypted verify token, aliases the body
	// Signed is the 1.19–1.19.2 alternative: a client with a profile key
	// sends Salt and MessageSignature (its key's signature over the verify
	// token and salt) instead of VerifyToken.
	Signed           bool
	Salt             int64
	MessageSignature []byte
}

// DecodeEncryptionResponse decodes Encryption Response.
func DecodeEncryptionResponse(body []byte, protocol int32) (EncryptionResponse, error) {
	r := mcproto.NewReader(body)
	e := EncryptionResponse{SharedSecret: r.ByteArray(maxRSABlockLen)}
	if signedForm(protocol) && !r.Bool() {
		e.Signed = true
		e.Salt = r.Int64()
		e.MessageSignature = r.ByteArray(maxRSABlockLen)
	} else {
		e.VerifyToken = r.ByteArray(maxRSABlockLen)
	}
	if err := r.Finish(); err != nil {
		return EncryptionResponse{}, fmt.Errorf("decode encryption response (protocol %d): %w", protocol, err)
	}
	return e, nil
}

// AppendTo appends Encryption Response. Signed is honoured only in
// 1.19–1.19.2.
func (e EncryptionResponse) AppendTo(dst []byte, protocol int32) []byte {
	dst = append(dst, idEncryptionResponse)
	dst = mcproto.AppendByteArray(dst, e.SharedSecret)
	if signedForm(protocol) {
		// The bool says "has verify token": false selects the signed form.
		dst = mcproto.AppendBool(dst, !e.Signed)
		if e.Signed {
			dst = mcproto.AppendInt64(dst, e.Salt)
			return mcproto.AppendByteArray(dst, e.MessageSignature)
		}
	}
	return mcproto.AppendByteArray(dst, e.VerifyToken)
}

// signedForm reports whether Encryption Response carries the bool that
// selects verify token or salt+signature (1.19–1.19.2).
func signedForm(protocol int32) bool {
	return protocol >= mcproto.Protocol1_19 && protocol < mcproto.Protocol1_19_3
}

// SetCompression enables compression (clientbound, login, 0x03).
type SetCompression struct {
	Threshold int32 // negative: off
}

// DecodeSetCompression decodes Set Compression.
func DecodeSetCompression(body []byte, _ int32) (SetCompression, error) {
	r := mcproto.NewReader(body)
	s := SetCompression{Threshold: r.VarInt()}
	if err := r.Finish(); err != nil {
		return SetCompression{}, fmt.Errorf("decode set compression: %w", err)
	}
	return s, nil
}

// AppendTo appends Set Compression (the login-state packet).
func (s SetCompression) AppendTo(dst []byte, _ int32) []byte {
	return mcproto.AppendVarInt(append(dst, idSetCompression), s.Threshold)
}

// Property is one signed profile property (textures and the like).
type Property struct {
	Name         string
	Value        string
	HasSignature bool
	Signature    string
}

// LoginSuccess ends the login (clientbound, login, 0x02).
type LoginSuccess struct {
	UUID     mcproto.UUID // textual on the wire before 1.16
	Username string
	// Properties are sent from 1.19.
	Properties []Property
	// StrictErrorHandling exists in 1.20.5–1.21.1 only.
	StrictErrorHandling bool
}

// DecodeLoginSuccess decodes Login Success.
func DecodeLoginSuccess(body []byte, protocol int32) (LoginSuccess, error) {
	r := mcproto.NewReader(body)
	var l LoginSuccess
	if protocol >= protocol1_16 {
		l.UUID = r.UUID()
	} else if s := r.StringBytes(maxUUIDStringLen); r.Err() == nil {
		u, ok := parseUUIDString(string(s))
		if !ok {
			return LoginSuccess{}, fmt.Errorf("decode login success: uuid %q: %w", s, ErrBadUUID)
		}
		l.UUID = u
	}
	l.Username = r.String(MaxUsernameLen)
	if protocol >= mcproto.Protocol1_19 {
		n := r.VarInt()
		switch {
		case r.Err() != nil:
		case n < 0:
			r.Fail(mcproto.ErrNegativeLength)
		case n > maxProperties:
			r.Fail(fmt.Errorf("%d properties > %d: %w", n, maxProperties, mcproto.ErrArrayTooLong))
		}
		for i := int32(0); i < n && r.Err() == nil; i++ {
			p := Property{Name: r.String(maxPropertyLen), Value: r.String(maxPropertyLen)}
			if p.HasSignature = r.Bool(); p.HasSignature {
				p.Signature = r.String(maxPropertyLen)
			}
			l.Properties = append(l.Properties, p)
		}
	}
	if protocol >= mcproto.Protocol1_20_5 && protocol < protocolNoStrictErrors {
		l.StrictErrorHandling = r.Bool()
	}
	if err := r.Finish(); err != nil {
		return LoginSuccess{}, fmt.Errorf("decode login success (protocol %d): %w", protocol, err)
	}
	return l, nil
}

// AppendTo appends Login Success in the protocol's layout.
func (l LoginSuccess) AppendTo(dst []byte, protocol int32) []byte {
	dst = append(dst, idLoginSuccess)
	if protocol >= protocol1_16 {
		dst = mcproto.AppendUUID(dst, l.UUID)
	} else {
		dst = mcproto.AppendString(dst, l.UUID.String())
	}
	dst = mcproto.AppendString(dst, l.Username)
	if protocol >= mcproto.Protocol1_19 {
		dst = mcproto.AppendVarInt(dst, int32(len(l.Properties)))
		for _, p := range l.Properties {
			dst = mcproto.AppendString(dst, p.Name)
			dst = mcproto.AppendString(dst, p.Value)
			dst = mcproto.AppendBool(dst, p.HasSignature)
			if p.HasSignature {
				dst = mcproto.AppendString(dst, p.Signature)
			}
		}
	}
	if protocol >= mcproto.Protocol1_20_5 && protocol < protocolNoStrictErrors {
		dst = mcproto.AppendBool(dst, l.StrictErrorHandling)
	}
	return dst
}

// LoginPluginRequest is a custom query from the server (clientbound, login,
// 0x04, 1.13+), e.g. Velocity's velocity:player_info.
type LoginPluginRequest struct {
	MessageID int32
	Channel   string
	Data      []byte // the rest of the packet, aliases the body
}

// DecodeLoginPluginRequest decodes Login Plugin Request.
func DecodeLoginPluginRequest(body []byte, _ int32) (LoginPluginRequest, error) {
	r := mcproto.NewReader(body)
	l := LoginPluginRequest{MessageID: r.VarInt(), Channel: r.String(maxIdentifierLen)}
	l.Data = r.Rest()
	if err := r.Err(); err != nil {
		return LoginPluginRequest{}, fmt.Errorf("decode login plugin request: %w", err)
	}
	if len(l.Data) > MaxLoginPluginDataLen {
		return LoginPluginRequest{}, fmt.Errorf("decode login plugin request: %d data bytes > %d: %w",
			len(l.Data), MaxLoginPluginDataLen, mcproto.ErrArrayTooLong)
	}
	return l, nil
}

// AppendTo appends Login Plugin Request.
func (l LoginPluginRequest) AppendTo(dst []byte, _ int32) []byte {
	dst = append(dst, idLoginPluginRequest)
	dst = mcproto.AppendVarInt(dst, l.MessageID)
	dst = mcproto.AppendString(dst, l.Channel)
	return append(dst, l.Data...)
}

// LoginPluginResponse answers a Login Plugin Request (serverbound, login,
// 0x02, 1.13+). Data follows only when Success is set.
type LoginPluginResponse struct {
	MessageID int32
	Success   bool
	Data      []byte // aliases the body
}

// DecodeLoginPluginResponse decodes Login Plugin Response. A response that
// says "not understood" and still carries bytes is malformed.
func DecodeLoginPluginResponse(body []byte, _ int32) (LoginPluginResponse, error) {
	r := mcproto.NewReader(body)
	l := LoginPluginResponse{MessageID: r.VarInt(), Success: r.Bool()}
	if l.Success {
		l.Data = r.Rest()
		if len(l.Data) > MaxLoginPluginDataLen {
			return LoginPluginResponse{}, fmt.Errorf("decode login plugin response: %d data bytes > %d: %w",
				len(l.Data), MaxLoginPluginDataLen, mcproto.ErrArrayTooLong)
		}
	}
	if err := r.Finish(); err != nil {
		return LoginPluginResponse{}, fmt.Errorf("decode login plugin response: %w", err)
	}
	return l, nil
}

// AppendTo appends Login Plugin Response.
func (l LoginPluginResponse) AppendTo(dst []byte, _ int32) []byte {
	dst = append(dst, idLoginPluginResponse)
	dst = mcproto.AppendVarInt(dst, l.MessageID)
	dst = mcproto.AppendBool(dst, l.Success)
	if l.Success {
		dst = append(dst, l.Data...)
	}
	return dst
}

// LoginAcknowledged moves the client into configuration (serverbound,
// login, 0x03, 1.20.2+). It has no fields.
type LoginAcknowledged struct{}

// DecodeLoginAcknowledged checks that the body is empty.
func DecodeLoginAcknowledged(body []byte, _ int32) (LoginAcknowledged, error) {
	r := mcproto.NewReader(body)
	if err := r.Finish(); err != nil {
		return LoginAcknowledged{}, fmt.Errorf("decode login acknowledged: %w", err)
	}
	return LoginAcknowledged{}, nil
}

// AppendTo appends Login Acknowledged.
func (LoginAcknowledged) AppendTo(dst []byte, _ int32) []byte {
	return append(dst, idLoginAcknowledged)
}

// LoginDisconnect refuses a login (clientbound, login, 0x00). The reason is
// a JSON text component in every version.
type LoginDisconnect struct {
	Reason string // JSON
}

// DecodeLoginDisconnect decodes a login-state Disconnect.
func DecodeLoginDisconnect(body []byte, _ int32) (LoginDisconnect, error) {
	r := mcproto.NewReader(body)
	d := LoginDisconnect{Reason: r.String(MaxJSONTextLen)}
	if err := r.Finish(); err != nil {
		return LoginDisconnect{}, fmt.Errorf("decode login disconnect: %w", err)
	}
	return d, nil
}

// AppendTo appends a login-state Disconnect carrying d.Reason verbatim
// (it must already be JSON; AppendDisconnect builds it from plain text).
func (d LoginDisconnect) AppendTo(dst []byte, _ int32) []byte {
	return mcproto.AppendString(append(dst, idLoginDisconnect), d.Reason)
}

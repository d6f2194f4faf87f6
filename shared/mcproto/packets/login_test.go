package packets

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

var testUUID = mcproto.UUID{0x06, 0x9a, 0x79, 0xf4, 0x44, 0xe9, 0x47, 0x26, 0xa5, 0xbe, 0xfc, 0xa9, 0x0e, 0x38, 0xaa, 0xf5}

// samePrinted compares values by their printed form, in which nil and empty
// slices look the same.
func samePrinted(a, b any) bool {
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

// roundTripProtocols is every supported protocol plus numbers outside the
// tables: login packets use fixed ids and must work for those too.
func roundTripProtocols() []int32 {
	return append(Protocols(), 5, 46, MaxProtocol+1, 1<<20)
}

// roundTrip encodes a packet, checks its fixed id, and decodes the body.
func roundTrip[T any](t *testing.T, p int32, id byte, v interface {
	AppendTo([]byte, int32) []byte
}, decode func([]byte, int32) (T, error)) T {
	t.Helper()
	pkt := v.AppendTo([]byte{0xEE}, p)
	if pkt[0] != 0xEE || pkt[1] != id {
		t.Fatalf("protocol %d %T: prefix % x, want ee %02x", p, v, pkt[:2], id)
	}
	got, err := decode(pkt[2:], p)
	if err != nil {
		t.Fatalf("protocol %d %T: decode: %v", p, v, err)
	}
	return got
}

func TestLoginStartRoundTrip(t *testing.T) {
	withKey := LoginStart{Name: "Notch", HasKey: true, KeyExpiry: 1700000000000,
		PublicKey: []byte{0x30, 0x82, 0x01}, KeySignature: []byte{1, 2, 3, 4}, HasUUID: true, UUID: testUUID}
	plain := LoginStart{Name: "jeb_"}
	for _, p := range roundTripProtocols() {
		for _, in := range []LoginStart{withKey, plain} {
			want := LoginStart{Name: in.Name}
			if p >= mcproto.Protocol1_19 && p < mcproto.Protocol1_19_3 && in.HasKey {
				want.HasKey, want.KeyExpiry, want.PublicKey, want.KeySignature = true, in.KeyExpiry, in.PublicKey, in.KeySignature
			}
			switch {
			case p >= mcproto.Protocol1_20_2: // mandatory: written even when HasUUID is false
				want.HasUUID, want.UUID = true, in.UUID
			case p >= mcproto.Protocol1_19_1 && in.HasUUID:
				want.HasUUID, want.UUID = true, in.UUID
			}
			got := roundTrip(t, p, idLoginStart, in, DecodeLoginStart)
			if !samePrinted(got, want) {
				t.Errorf("protocol %d: got %+v, want %+v", p, got, want)
			}
		}
	}
}

func TestEncryptionRoundTrip(t *testing.T) {
	for _, p := range roundTripProtocols() {
		req := EncryptionRequest{PublicKey: []byte{0x30, 0x81, 0x9f}, VerifyToken: []byte{1, 2, 3, 4}, ShouldAuthenticate: false}
		wantReq := req
		wantReq.ShouldAuthenticate = p < mcproto.Protocol1_20_5 // older clients always authenticate
		if got := roundTrip(t, p, idEncryptionRequest, req, DecodeEncryptionRequest); !samePrinted(got, wantReq) {
			t.Errorf("protocol %d request: got %+v, want %+v", p, got, wantReq)
		}

		plain := EncryptionResponse{SharedSecret: make([]byte, 128), VerifyToken: make([]byte, 128)}
		if got := roundTrip(t, p, idEncryptionResponse, plain, DecodeEncryptionResponse); !samePrinted(got, plain) {
			t.Errorf("protocol %d response: got %+v", p, got)
		}
		signed := EncryptionResponse{SharedSecret: []byte{9}, Signed: true, Salt: -7, MessageSignature: []byte{5, 5}}
		wantSigned := signed
		if p < mcproto.Protocol1_19 || p >= mcproto.Protocol1_19_3 {
			wantSigned = EncryptionResponse{SharedSecret: []byte{9}} // no signed form outside 1.19–1.19.2
		}
		if got := roundTrip(t, p, idEncryptionResponse, signed, DecodeEncryptionResponse); !samePrinted(got, wantSigned) {
			t.Errorf("protocol %d signed response: got %+v, want %+v", p, got, wantSigned)
		}
	}
}

func TestLoginSuccessRoundTrip(t *testing.T) {
	in := LoginSuccess{UUID: testUUID, Username: "Notch", StrictErrorHandling: true, Properties: []Property{
		{Name: "textures", Value: "eyJ0ZXh0dXJlcyI6e319", HasSignature: true, Signature: "c2lnbmF0dXJl"},
		{Name: "unsigned", Value: "v"},
	}}
	for _, p := range roundTripProtocols() {
		want := LoginSuccess{UUID: in.UUID, Username: in.Username}
		if p >= mcproto.Protocol1_19 {
			want.Properties = in.Properties
		}
		if p >= mcproto.Protocol1_20_5 && p < mcproto.Protocol1_21_2 {
			want.StrictErrorHandling = true
		}
		if got := roundTrip(t, p, idLoginSuccess, in, DecodeLoginSuccess); !samePrinted(got, want) {
			t.Errorf("protocol %d: got %+v, want %+v", p, got, want)
		}
	}
}

func TestOtherLoginRoundTrips(t *testing.T) {
	for _, p := range roundTripProtocols() {
		sc := SetCompression{Threshold: -1}
		if got := roundTrip(t, p, idSetCompression, sc, DecodeSetCompression); got != sc {
			t.Errorf("protocol %d set compression: %+v", p, got)
		}
		req := LoginPluginRequest{MessageID: 300, Channel: "velocity:player_info", Data: []byte{4}}
		if got := roundTrip(t, p, idLoginPluginRequest, req, DecodeLoginPluginRequest); !samePrinted(got, req) {
			t.Errorf("protocol %d plugin request: %+v", p, got)
		}
		for _, resp := range []LoginPluginResponse{{MessageID: 300, Success: true, Data: []byte{1, 2, 3}}, {MessageID: 1}} {
			if got := roundTrip(t, p, idLoginPluginResponse, resp, DecodeLoginPluginResponse); !samePrinted(got, resp) {
				t.Errorf("protocol %d plugin response: %+v", p, got)
			}
		}
		roundTrip(t, p, idLoginAcknowledged, LoginAcknowledged{}, DecodeLoginAcknowledged)
		d := LoginDisconnect{Reason: `{"text":"Server full"}`}
		if got := roundTrip(t, p, idLoginDisconnect, d, DecodeLoginDisconnect); got != d {
			t.Errorf("protocol %d disconnect: %+v", p, got)
		}
	}
}

// TestLoginDecodeErrors covers hostile and malformed bodies.
func TestLoginDecodeErrors(t *testing.T) {
	name := func(s string) []byte { return mcproto.AppendString(nil, s) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	arr := func(n int) []byte { return mcproto.AppendByteArray(nil, make([]byte, n)) }
	varint := func(v int32) []byte { return mcproto.AppendVarInt(nil, v) }
	i64 := mcproto.AppendInt64(nil, 1)

	tests := []struct {
		name   string
		decode func() error
		err    error
	}{
		{"name of 17 chars", func() error { _, err := DecodeLoginStart(name(strings.Repeat("a", 17)), 47); return err }, mcproto.ErrStringTooLong},
		{"name with trailing byte", func() error { _, err := DecodeLoginStart(cat(name("a"), []byte{0}), 758); return err }, mcproto.ErrTrailingBytes},
		{"1.20.2 without uuid", func() error { _, err := DecodeLoginStart(name("a"), 764); return err }, mcproto.ErrShort},
		{"1.19.3 bad bool", func() error { _, err := DecodeLoginStart(cat(name("a"), []byte{2}), 761); return err }, nil},
		{"1.19 key over 512", func() error {
			_, err := DecodeLoginStart(cat(name("a"), []byte{1}, i64, arr(513), arr(1)), 759)
			return err
		}, mcproto.ErrArrayTooLong},
		{"1.19 signature over 4096", func() error {
			_, err := DecodeLoginStart(cat(name("a"), []byte{1}, i64, arr(10), arr(4097)), 759)
			return err
		}, mcproto.ErrArrayTooLong},
		{"1.19 key block cut", func() error {
			_, err := DecodeLoginStart(cat(name("a"), []byte{1}, i64, varint(100)), 759)
			return err
		}, mcproto.ErrShort},
		{"shared secret over cap", func() error { _, err := DecodeEncryptionResponse(cat(arr(513), arr(4)), 47); return err }, mcproto.ErrArrayTooLong},
		{"negative array length", func() error { _, err := DecodeEncryptionResponse(cat(varint(-1), arr(4)), 47); return err }, mcproto.ErrNegativeLength},
		{"encryption response trailing", func() error { _, err := DecodeEncryptionResponse(cat(arr(4), arr(4), []byte{0}), 765); return err }, mcproto.ErrTrailingBytes},
		{"1.19 response without bool", func() error { _, err := DecodeEncryptionResponse(arr(4), 759); return err }, mcproto.ErrShort},
		{"server id over 20", func() error {
			_, err := DecodeEncryptionRequest(cat(name(strings.Repeat("x", 21)), arr(1), arr(1)), 47)
			return err
		}, mcproto.ErrStringTooLong},
		{"1.20.5 request without flag", func() error { _, err := DecodeEncryptionRequest(cat(name(""), arr(1), arr(1)), 766); return err }, mcproto.ErrShort},
		{"too many properties", func() error {
			_, err := DecodeLoginSuccess(cat(testUUID[:], name("a"), varint(maxProperties+1)), 760)
			return err
		}, mcproto.ErrArrayTooLong},
		{"negative property count", func() error {
			_, err := DecodeLoginSuccess(cat(testUUID[:], name("a"), varint(-1)), 760)
			return err
		}, mcproto.ErrNegativeLength},
		{"property count without properties", func() error {
			_, err := DecodeLoginSuccess(cat(testUUID[:], name("a"), varint(maxProperties)), 760)
			return err
		}, mcproto.ErrShort},
		{"bad textual uuid", func() error { _, err := DecodeLoginSuccess(cat(name("not-a-uuid"), name("a")), 47); return err }, ErrBadUUID},
		{"textual uuid too long", func() error {
			_, err := DecodeLoginSuccess(cat(name(strings.Repeat("a", 37)), name("a")), 47)
			return err
		}, mcproto.ErrStringTooLong},
		{"plugin request data over 1 MiB", func() error {
			_, err := DecodeLoginPluginRequest(cat(varint(1), name("a:b"), make([]byte, MaxLoginPluginDataLen+1)), 393)
			return err
		}, mcproto.ErrArrayTooLong},
		{"plugin response data over 1 MiB", func() error {
			_, err := DecodeLoginPluginResponse(cat(varint(1), []byte{1}, make([]byte, MaxLoginPluginDataLen+1)), 393)
			return err
		}, mcproto.ErrArrayTooLong},
		{"plugin response failure with data", func() error {
			_, err := DecodeLoginPluginResponse(cat(varint(1), []byte{0}, []byte{1}), 393)
			return err
		}, mcproto.ErrTrailingBytes},
		{"plugin response without bool", func() error { _, err := DecodeLoginPluginResponse(varint(1), 393); return err }, mcproto.ErrShort},
		{"login acknowledged with data", func() error { _, err := DecodeLoginAcknowledged([]byte{0}, 764); return err }, mcproto.ErrTrailingBytes},
		{"set compression trailing", func() error { _, err := DecodeSetCompression([]byte{1, 0}, 47); return err }, mcproto.ErrTrailingBytes},
		{"disconnect too long", func() error {
			_, err := DecodeLoginDisconnect(mcproto.AppendVarInt(nil, 3*MaxJSONTextLen+1), 47)
			return err
		}, mcproto.ErrStringTooLong},
	}
	for _, tt := range tests {
		err := tt.decode()
		if tt.err == nil {
			if err == nil {
				t.Errorf("%s: no error", tt.name)
			}
			continue
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestLoginSuccessTextualUUID(t *testing.T) {
	for _, s := range []string{"069a79f4-44e9-4726-a5be-fca90e38aaf5", "069a79f444e94726a5befca90e38aaf5", "069A79F4-44E9-4726-A5BE-FCA90E38AAF5"} {
		body := mcproto.AppendString(nil, s)
		body = mcproto.AppendString(body, "Notch")
		got, err := DecodeLoginSuccess(body, 340)
		if err != nil || got.UUID != testUUID || got.Username != "Notch" {
			t.Errorf("uuid %q: %+v, %v", s, got, err)
		}
	}
	pkt := LoginSuccess{UUID: testUUID, Username: "Notch"}.AppendTo(nil, 340)
	if !strings.Contains(string(pkt), "069a79f4-44e9-4726-a5be-fca90e38aaf5") {
		t.Errorf("pre-1.16 success does not carry the dashed uuid: %q", pkt)
	}
}

// fuzzProtocols are the protocols whose layouts differ for the fuzzed
// login packets; the fuzzer picks one by index.
var fuzzProtocols = []int32{47, 340, 393, 758, 759, 760, 761, 763, 764, 765, 766, 767, 768, 775}

func fuzzProtocol(i uint8) int32 { return fuzzProtocols[int(i)%len(fuzzProtocols)] }

func FuzzLoginStart(f *testing.F) {
	f.Add(LoginStart{Name: "Notch"}.AppendTo(nil, 47)[1:], uint8(0))
	f.Add(LoginStart{Name: "Notch", HasKey: true, PublicKey: []byte{1}, KeySignature: []byte{2}, HasUUID: true, UUID: testUUID}.AppendTo(nil, 760)[1:], uint8(5))
	f.Add(LoginStart{Name: "jeb_", UUID: testUUID}.AppendTo(nil, 765)[1:], uint8(9))
	f.Fuzz(func(t *testing.T, body []byte, pi uint8) {
		p := fuzzProtocol(pi)
		l, err := DecodeLoginStart(body, p)
		if err != nil {
			return
		}
		again, err := DecodeLoginStart(l.AppendTo(nil, p)[1:], p)
		if err != nil || !samePrinted(again, l) {
			t.Fatalf("protocol %d: %+v re-decodes to %+v, %v", p, l, again, err)
		}
	})
}

func FuzzEncryptionResponse(f *testing.F) {
	f.Add(EncryptionResponse{SharedSecret: make([]byte, 128), VerifyToken: make([]byte, 128)}.AppendTo(nil, 47)[1:], uint8(0))
	f.Add(EncryptionResponse{SharedSecret: []byte{1}, Signed: true, Salt: 5, MessageSignature: []byte{2}}.AppendTo(nil, 759)[1:], uint8(4))
	f.Fuzz(func(t *testing.T, body []byte, pi uint8) {
		p := fuzzProtocol(pi)
		e, err := DecodeEncryptionResponse(body, p)
		if err != nil {
			return
		}
		if len(e.SharedSecret) > maxRSABlockLen || len(e.VerifyToken) > maxRSABlockLen || len(e.MessageSignature) > maxRSABlockLen {
			t.Fatalf("field over cap: %d %d %d", len(e.SharedSecret), len(e.VerifyToken), len(e.MessageSignature))
		}
		again, err := DecodeEncryptionResponse(e.AppendTo(nil, p)[1:], p)
		if err != nil || !samePrinted(again, e) {
			t.Fatalf("protocol %d: %+v re-decodes to %+v, %v", p, e, again, err)
		}
	})
}

func FuzzLoginPluginResponse(f *testing.F) {
	f.Add(LoginPluginResponse{MessageID: 1, Success: true, Data: []byte("hmac+payload")}.AppendTo(nil, 393)[1:])
	f.Add(LoginPluginResponse{MessageID: 2}.AppendTo(nil, 393)[1:])
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := DecodeLoginPluginResponse(body, 765)
		if err != nil {
			return
		}
		if !l.Success && len(l.Data) > 0 {
			t.Fatalf("data without success: %+v", l)
		}
		again, err := DecodeLoginPluginResponse(l.AppendTo(nil, 765)[1:], 765)
		if err != nil || !samePrinted(again, l) {
			t.Fatalf("%+v re-decodes to %+v, %v", l, again, err)
		}
	})
}

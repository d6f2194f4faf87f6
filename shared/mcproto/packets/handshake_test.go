package packets

import (
	"errors"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// handshakeBody builds a handshake body by hand, independent of AppendTo.
func handshakeBody(protocol int32, host string, port uint16, intent int32) []byte {
	b := mcproto.AppendVarInt(nil, protocol)
	b = mcproto.AppendString(b, host)
	b = mcproto.AppendUint16(b, port)
	return mcproto.AppendVarInt(b, intent)
}

func TestDecodeHandshake(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Handshake
		err  error
	}{
		{"status", handshakeBody(765, "mc.example.com", 25565, 1), Handshake{765, "mc.example.com", 25565, 1}, nil},
		{"login", handshakeBody(47, "localhost", 25565, 2), Handshake{47, "localhost", 25565, 2}, nil},
		{"transfer", handshakeBody(766, "a", 1, 3), Handshake{766, "a", 1, 3}, nil},
		{"version probe", handshakeBody(-1, "a", 0, 1), Handshake{-1, "a", 0, 1}, nil},
		{"forge host at the limit", handshakeBody(340, strings.Repeat("a", 255)+"\x00FML\x00x", 25565, 2),
			Handshake{340, strings.Repeat("a", 255) + "\x00FML\x00x", 25565, 2}, nil},
		{"host over the limit", handshakeBody(340, strings.Repeat("a", MaxHostLen+1), 25565, 2), Handshake{}, mcproto.ErrStringTooLong},
		{"intent 0", handshakeBody(765, "a", 1, 0), Handshake{}, ErrBadIntent},
		{"intent 4", handshakeBody(765, "a", 1, 4), Handshake{}, ErrBadIntent},
		{"intent negative", handshakeBody(765, "a", 1, -1), Handshake{}, ErrBadIntent},
		{"trailing byte", append(handshakeBody(765, "a", 1, 2), 0), Handshake{}, mcproto.ErrTrailingBytes},
		{"short", handshakeBody(765, "a", 1, 2)[:4], Handshake{}, mcproto.ErrShort},
		{"empty", nil, Handshake{}, mcproto.ErrShort},
		{"negative host length", []byte{0x2f, 0xff, 0xff, 0xff, 0xff, 0x0f}, Handshake{}, mcproto.ErrNegativeLength},
		{"bad utf-8", []byte{0x2f, 0x02, 0xc3, 0x28, 0x63, 0xdd, 0x02}, Handshake{}, mcproto.ErrBadUTF8},
		{"huge host length", []byte{0x2f, 0xff, 0xff, 0xff, 0x07}, Handshake{}, mcproto.ErrStringTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeHandshake(tt.body, 0)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHandshakeAppendTo(t *testing.T) {
	h := Handshake{Protocol: 765, Host: "play.example.com\x00FML3\x00", Port: 25577, Intent: mcproto.IntentLogin}
	pkt := h.AppendTo([]byte{0xAA}, 765)
	if pkt[0] != 0xAA || pkt[1] != idHandshake {
		t.Fatalf("prefix % x", pkt[:2])
	}
	if want := handshakeBody(765, h.Host, 25577, 2); string(pkt[2:]) != string(want) {
		t.Fatalf("body % x, want % x", pkt[2:], want)
	}
	got, err := DecodeHandshake(pkt[2:], 0)
	if err != nil || got != h {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}

func TestParseHost(t *testing.T) {
	const uuid = "069a79f444e94726a5befca90e38aaf5"
	tests := []struct {
		raw     string
		want    HostInfo
		backend string
	}{
		{"play.example.com", HostInfo{Host: "play.example.com"}, "play.example.com"},
		{"Play.Example.COM.", HostInfo{Host: "play.example.com"}, "play.example.com"},
		{"play.example.com..", HostInfo{Host: "play.example.com"}, "play.example.com"},
		{"", HostInfo{}, ""},
		{"127.0.0.1", HostInfo{Host: "127.0.0.1"}, "127.0.0.1"},
		{"mc.example.com\x00FML\x00", HostInfo{Host: "mc.example.com", ForgeMarker: "\x00FML\x00"}, "mc.example.com\x00FML\x00"},
		{"mc.example.com.\x00FML2\x00", HostInfo{Host: "mc.example.com", ForgeMarker: "\x00FML2\x00"}, "mc.example.com\x00FML2\x00"},
		{"mc.example.com\x00FML3\x00", HostInfo{Host: "mc.example.com", ForgeMarker: "\x00FML3\x00"}, "mc.example.com\x00FML3\x00"},
		{"mc.example.com\x00FORGE3", HostInfo{Host: "mc.example.com", ForgeMarker: "\x00FORGE3"}, "mc.example.com\x00FORGE3"},
		{"mc.example.com\x00203.0.113.9\x00" + uuid, HostInfo{Host: "mc.example.com", BungeeForwarded: true}, "mc.example.com"},
		{"mc.example.com\x00203.0.113.9\x00" + uuid + "\x00[{\"name\":\"textures\",\"value\":\"e30=\"}]",
			HostInfo{Host: "mc.example.com", BungeeForwarded: true}, "mc.example.com"},
		{"mc.example.com\x00FML\x00\x00203.0.113.9\x00069a79f4-44e9-4726-a5be-fca90e38aaf5",
			HostInfo{Host: "mc.example.com", ForgeMarker: "\x00FML\x00", BungeeForwarded: true}, "mc.example.com\x00FML\x00"},
		{"mc.example.com\x00203.0.113.9\x00not-a-uuid", HostInfo{Host: "mc.example.com", Extra: true}, "mc.example.com"},
		{"mc.example.com\x00junk", HostInfo{Host: "mc.example.com", Extra: true}, "mc.example.com"},
		{"mc.example.com///203.0.113.9:51234///1700000000///c2lnbmF0dXJl", HostInfo{Host: "mc.example.com", RealIP: true}, "mc.example.com"},
		{"MC.example.com.\x00FML\x00///203.0.113.9:5///1///s", HostInfo{Host: "mc.example.com", ForgeMarker: "\x00FML\x00", RealIP: true}, "mc.example.com\x00FML\x00"},
		{"mc.example.com\x00FMLX\x00", HostInfo{Host: "mc.example.com", Extra: true}, "mc.example.com"},
		{"\x00FML\x00", HostInfo{ForgeMarker: "\x00FML\x00"}, "\x00FML\x00"},
	}
	for _, tt := range tests {
		got := ParseHost(tt.raw)
		if got != tt.want {
			t.Errorf("ParseHost(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
		if b := got.BackendHost(); b != tt.backend {
			t.Errorf("ParseHost(%q).BackendHost() = %q, want %q", tt.raw, b, tt.backend)
		}
	}
}

func FuzzHandshake(f *testing.F) {
	f.Add(handshakeBody(765, "play.example.com", 25565, 1))
	f.Add(handshakeBody(47, "mc.example.com\x00FML\x00", 25565, 2))
	f.Add(handshakeBody(-1, "", 0, 3))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := DecodeHandshake(body, 0)
		if err != nil {
			return
		}
		again, err := DecodeHandshake(h.AppendTo(nil, 0)[1:], 0)
		if err != nil || again != h {
			t.Fatalf("re-encoded handshake %+v decodes to %+v, %v", h, again, err)
		}
	})
}

func FuzzParseHost(f *testing.F) {
	f.Add("play.example.com.")
	f.Add("mc.example.com\x00FML2\x00")
	f.Add("mc.example.com\x00203.0.113.9\x00069a79f444e94726a5befca90e38aaf5\x00[]")
	f.Add("mc.example.com///203.0.113.9:51234///1700000000///sig")
	f.Fuzz(func(t *testing.T, raw string) {
		h := ParseHost(raw)
		if strings.ContainsAny(h.Host, "\x00") || strings.Contains(h.Host, "///") {
			t.Fatalf("host %q keeps a separator", h.Host)
		}
		if strings.HasSuffix(h.Host, ".") {
			t.Fatalf("host %q keeps a trailing dot", h.Host)
		}
		// The backend host must not carry anything the client added beyond
		// the host and a Forge marker.
		b := h.BackendHost()
		if strings.Count(b, "\x00") > 2 || strings.Contains(b, "///") {
			t.Fatalf("backend host %q carries client parts", b)
		}
		if again := ParseHost(b); again.Host != h.Host || again.ForgeMarker != h.ForgeMarker {
			t.Fatalf("backend host %q re-parses to %+v, want %+v", b, again, h)
		}
	})
}

package packets

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// utf16BE encodes s as UTF-16BE.
func utf16BE(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.BigEndian.AppendUint16(b, u)
	}
	return b
}

// ping16 builds a 1.6 legacy ping the way the 1.6 client writes it.
func ping16(protocol byte, host string, port int32) []byte {
	b := []byte{0xFE, 0x01, 0xFA}
	b = binary.BigEndian.AppendUint16(b, uint16(len(legacyPingChannel)))
	b = append(b, utf16BE(legacyPingChannel)...)
	hostUnits := len(utf16.Encode([]rune(host)))
	b = binary.BigEndian.AppendUint16(b, uint16(7+2*hostUnits))
	b = append(b, protocol)
	b = binary.BigEndian.AppendUint16(b, uint16(hostUnits))
	b = append(b, utf16BE(host)...)
	return binary.BigEndian.AppendUint32(b, uint32(port))
}

func TestParseLegacyPing(t *testing.T) {
	full := ping16(78, "localhost", 25565)
	wrongChannel := ping16(78, "localhost", 25565)
	copy(wrongChannel[5:], utf16BE("MC|PingHosx"))
	badPayloadLen := ping16(78, "localhost", 25565)
	binary.BigEndian.PutUint16(badPayloadLen[27:], 8+2*9) // one byte more than the host needs
	badPayloadLen = append(badPayloadLen, 0)
	hugePayload := append([]byte{}, full[:27]...)
	hugePayload = binary.BigEndian.AppendUint16(hugePayload, 0xFFFF)
	shortChannel := append([]byte{0xFE, 0x01, 0xFA}, 0, 10)

	tests := []struct {
		name string
		in   []byte
		want LegacyPing
		n    int
		err  error
	}{
		{"empty", nil, LegacyPing{}, 0, mcproto.ErrShort},
		{"modern frame", []byte{0x10, 0x00}, LegacyPing{}, 0, ErrNotLegacyPing},
		{"1.3", []byte{0xFE}, LegacyPing{Form: LegacyForm13}, 1, nil},
		{"1.4", []byte{0xFE, 0x01}, LegacyPing{Form: LegacyForm14}, 2, nil},
		{"1.6", full, LegacyPing{Form: LegacyForm16, Protocol: 78, Host: "localhost", Port: 25565}, len(full), nil},
		{"1.6 with bytes after", append(append([]byte{}, full...), 0xFF, 0xFF), LegacyPing{Form: LegacyForm16, Protocol: 78, Host: "localhost", Port: 25565}, len(full), nil},
		{"1.6 unicode host", ping16(74, "bücher.example", -1), LegacyPing{Form: LegacyForm16, Protocol: 74, Host: "bücher.example", Port: -1}, len(ping16(74, "bücher.example", -1)), nil},
		{"1.6 empty host", ping16(78, "", 0), LegacyPing{Form: LegacyForm16, Protocol: 78}, 3 + 2 + 22 + 2 + 7, nil},
		{"bad second byte", []byte{0xFE, 0x02}, LegacyPing{}, 0, ErrBadLegacyPing},
		{"bad third byte", []byte{0xFE, 0x01, 0xFB}, LegacyPing{}, 0, ErrBadLegacyPing},
		{"wrong channel", wrongChannel, LegacyPing{}, 0, ErrBadLegacyPing},
		{"wrong channel length", shortChannel, LegacyPing{}, 0, ErrBadLegacyPing},
		{"payload length disagrees with host", badPayloadLen, LegacyPing{}, 0, ErrBadLegacyPing},
		{"payload over the cap fails before waiting", hugePayload, LegacyPing{}, 0, ErrBadLegacyPing},
		{"host over the cap", ping16(78, strings.Repeat("h", legacyMaxHostChars+1), 1), LegacyPing{}, 0, ErrBadLegacyPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := ParseLegacyPing(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got != tt.want || n != tt.n {
				t.Errorf("got %+v, %d; want %+v, %d", got, n, tt.want, tt.n)
			}
		})
	}
}

// TestParseLegacyPingFragmented feeds a 1.6 ping in every split: each
// prefix past FE 01 FA must ask for more bytes, never fail or succeed early.
func TestParseLegacyPingFragmented(t *testing.T) {
	full := ping16(78, "play.example.com", 25565)
	for i := 3; i < len(full); i++ {
		if _, n, err := ParseLegacyPing(full[:i]); !errors.Is(err, mcproto.ErrShort) || n != 0 {
			t.Fatalf("prefix of %d/%d bytes: n=%d err=%v, want ErrShort", i, len(full), n, err)
		}
	}
	longest := ping16(78, strings.Repeat("h", legacyMaxHostChars), 1)
	if len(longest) != MaxLegacyPingLen {
		t.Errorf("longest ping is %d bytes, MaxLegacyPingLen %d", len(longest), MaxLegacyPingLen)
	}
	if _, n, err := ParseLegacyPing(longest); err != nil || n != MaxLegacyPingLen {
		t.Errorf("longest ping: n=%d err=%v", n, err)
	}
}

func TestIsLegacyPingStart(t *testing.T) {
	for b := 0; b < 256; b++ {
		if IsLegacyPingStart(byte(b)) != (b == 0xFE) {
			t.Errorf("IsLegacyPingStart(%#x) wrong", b)
		}
	}
}

// kickText decodes an AppendLegacyKick result back to its text.
func kickText(t *testing.T, b []byte) string {
	t.Helper()
	if len(b) < 3 || b[0] != 0xFF {
		t.Fatalf("not a kick packet: % x", b)
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if len(b) != 3+2*n {
		t.Fatalf("length says %d units, packet holds %d bytes", n, len(b)-3)
	}
	units := make([]uint16, n)
	for i := range units {
		units[i] = binary.BigEndian.Uint16(b[3+2*i:])
	}
	return string(utf16.Decode(units))
}

func TestAppendLegacyKick(t *testing.T) {
	tests := []struct {
		name                    string
		form                    LegacyForm
		protocol, version, motd string
		online, max             int
		want                    string
	}{
		{"1.3", LegacyForm13, "127", "1.20.4", "A Minecraft Server", 3, 20, "A Minecraft Server§3§20"},
		{"1.3 strips section signs", LegacyForm13, "127", "1.20.4", "§aGreen", 0, 1, "aGreen§0§1"},
		{"1.4", LegacyForm14, "127", "1.20.4", "§aHello", 5, 100, "§1\x00127\x001.20.4\x00§aHello\x005\x00100"},
		{"1.6 strips NULs", LegacyForm16, "127", "1.2\x000", "a\x00b", 1, 2, "§1\x00127\x001.20\x00ab\x001\x002"},
	}
	for _, tt := range tests {
		got := kickText(t, AppendLegacyKick(nil, tt.form, tt.protocol, tt.version, tt.motd, tt.online, tt.max))
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}

	// The exact bytes of a small 1.4 reply, written out by hand.
	got := AppendLegacyKick([]byte{0xAB}, LegacyForm14, "1", "v", "m", 2, 3)
	want := []byte{0xAB, 0xFF, 0x00, 0x0C,
		0x00, 0xA7, 0x00, '1', 0, 0, 0, '1', 0, 0, 0, 'v', 0, 0, 0, 'm', 0, 0, 0, '2', 0, 0, 0, '3'}
	if string(got) != string(want) {
		t.Errorf("bytes\n got % x\nwant % x", got, want)
	}

	// A long MOTD is cut so the whole text fits 256 characters, keeping the
	// player counts, and never in the middle of a surrogate pair.
	long := kickText(t, AppendLegacyKick(nil, LegacyForm14, "127", "1.20.4", strings.Repeat("😀", 300), 7, 8))
	if n := len(utf16.Encode([]rune(long))); n > legacyKickMaxChars {
		t.Errorf("long MOTD reply is %d chars", n)
	}
	if !strings.HasSuffix(long, "\x007\x008") || strings.ContainsRune(long, '\uFFFD') {
		t.Errorf("long MOTD reply damaged: %q", long[len(long)-10:])
	}
	odd := kickText(t, AppendLegacyKick(nil, LegacyForm13, "", "", "x"+strings.Repeat("😀", 300), 7, 8))
	if strings.ContainsRune(odd, '\uFFFD') || !strings.HasSuffix(odd, "§7§8") {
		t.Errorf("odd cut damaged the reply: %q", odd[len(odd)-10:])
	}
}

func FuzzLegacyPing(f *testing.F) {
	f.Add([]byte{0xFE})
	f.Add([]byte{0xFE, 0x01})
	f.Add(ping16(78, "localhost", 25565))
	f.Add(ping16(78, "play.example.com", 25565)[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := ParseLegacyPing(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with n=%d", err, n)
			}
			if errors.Is(err, mcproto.ErrShort) && len(b) >= MaxLegacyPingLen {
				t.Fatalf("asks for more after %d bytes", len(b))
			}
			return
		}
		if n < 1 || n > len(b) || n > MaxLegacyPingLen {
			t.Fatalf("n=%d for %d bytes", n, len(b))
		}
		again, n2, err := ParseLegacyPing(b[:n])
		if err != nil || again != p || n2 != n {
			t.Fatalf("re-parse of the used bytes: %+v %d %v, want %+v %d", again, n2, err, p, n)
		}
		if p.Form == LegacyForm16 && len([]rune(p.Host)) > legacyMaxHostChars {
			t.Fatalf("host of %d chars", len([]rune(p.Host)))
		}
	})
}

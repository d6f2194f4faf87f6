package forwarding

import (
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

var secret = []byte("0123456789abcdefghij")

func alice() Player {
	var id mcproto.UUID
	for i := range id {
		id[i] = byte(i)
	}
	return Player{Addr: netip.MustParseAddr("192.0.2.10"), ID: id, Name: "Alice", Protocol: 769,
		Properties: []packets.Property{{Name: "textures", Value: "dmFsdWU=", HasSignature: true, Signature: "c2ln"}}}
}

// TestVelocityResponseVectors: the exact bytes, against vectors built
// field by field outside Go (the HMAC with Python's hmac module).
func TestVelocityResponseVectors(t *testing.T) {
	keyed := alice()
	keyed.Properties, keyed.Protocol = nil, mcproto.Protocol1_19_1
	keyed.Key = &ProfileKey{Expiry: 1_700_000_000_000, PublicKey: []byte{0xaa, 0xbb, 0xcc}, Signature: []byte{0xdd, 0xee}}
	for _, tc := range []struct {
		name    string
		v       int
		p       Player
		mac     string
		payload string
	}{
		{"version 1 with a signed property", VelocityDefault, alice(),
			"5de0bc7d2f6bcaff27341c0ed7687955ffbcbb4bb8a4d572321e1c0ec1b4b589",
			"01" + // version
				"0a" + hex.EncodeToString([]byte("192.0.2.10")) +
				"000102030405060708090a0b0c0d0e0f" + // UUID
				"05" + hex.EncodeToString([]byte("Alice")) +
				"01" + // one property
				"08" + hex.EncodeToString([]byte("textures")) + "08" + hex.EncodeToString([]byte("dmFsdWU=")) +
				"01" + "04" + hex.EncodeToString([]byte("c2ln"))},
		{"version 3 with the 1.19.1 key and its account", VelocityWithKeyV2, keyed,
			"d9a526c31fe3ff6969bd407f7b4fafc3edbd58cbb4ed0ee2dda12480a8c3146d",
			"03" + "0a" + hex.EncodeToString([]byte("192.0.2.10")) + "000102030405060708090a0b0c0d0e0f" +
				"05" + hex.EncodeToString([]byte("Alice")) + "00" +
				"0000018bcfe56800" + // expiry, ms
				"03aabbcc" + "02ddee" + // public key, signature
				"01" + "000102030405060708090a0b0c0d0e0f"}, // linked to the account
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := hex.EncodeToString(AppendVelocityResponse(nil, secret, tc.v, tc.p))
			if want := tc.mac + tc.payload; got != want {
				t.Fatalf("got\n  %s\nwant\n  %s", got, want)
			}
		})
	}
}

// TestVelocityResponseAppends: the response lands after what dst holds.
func TestVelocityResponseAppends(t *testing.T) {
	prefix := []byte{0x02, 0x07, 0x01} // id, message id, success
	out := AppendVelocityResponse(append([]byte(nil), prefix...), secret, 1, alice())
	if string(out[:3]) != string(prefix) || hex.EncodeToString(out[3:35]) != "5de0bc7d2f6bcaff27341c0ed7687955ffbcbb4bb8a4d572321e1c0ec1b4b589" {
		t.Fatalf("%x", out)
	}
}

// TestVelocityVersion: the backend's highest version, capped by what the
// client can carry.
func TestVelocityVersion(t *testing.T) {
	key := &ProfileKey{}
	for _, tc := range []struct {
		requested int
		protocol  int32
		key       *ProfileKey
		want      int
	}{
		{0, 769, nil, 1}, {1, 769, nil, 1}, {4, 769, nil, 4}, {9, 769, nil, 4}, {3, 769, nil, 1},
		{4, mcproto.Protocol1_19, key, 2}, {2, mcproto.Protocol1_19, key, 2}, {4, mcproto.Protocol1_19, nil, 1},
		{4, mcproto.Protocol1_19_1, key, 3}, {2, mcproto.Protocol1_19_1, key, 1}, {4, mcproto.Protocol1_19_1, nil, 1},
		{4, 758, nil, 1}, {4, 393, nil, 1},
	} {
		p := Player{Protocol: tc.protocol, Key: tc.key}
		if got := VelocityVersion(tc.requested, p); got != tc.want {
			t.Errorf("requested %d, protocol %d, key %v: %d, want %d", tc.requested, tc.protocol, tc.key != nil, got, tc.want)
		}
	}
	if RequestedVersion(nil) != 1 || RequestedVersion([]byte{4}) != 4 || RequestedVersion([]byte{4, 4}) != 1 {
		t.Fatal("RequestedVersion")
	}
}

// TestBungeeHost: BungeeCord's layout, BungeeGuard's token as the one
// token property, and no way for a profile to smuggle in another.
func TestBungeeHost(t *testing.T) {
	p := alice()
	got := BungeeHost("play.example.com", p, "")
	want := "play.example.com\x00192.0.2.10\x00000102030405060708090a0b0c0d0e0f\x00" +
		`[{"name":"textures","value":"dmFsdWU=","signature":"c2ln"}]`
	if got != want {
		t.Fatalf("bungeecord host\n  %q\nwant\n  %q", got, want)
	}
	p.Properties = append(p.Properties, packets.Property{Name: BungeeGuardProperty, Value: "forged"})
	got = BungeeHost("play.example.com", p, "the-token")
	parts := strings.Split(got, "\x00")
	if len(parts) != 4 {
		t.Fatalf("%d parts: %q", len(parts), got)
	}
	var props []map[string]string
	if err := json.Unmarshal([]byte(parts[3]), &props); err != nil {
		t.Fatal(err)
	}
	tokens := 0
	for _, pr := range props {
		if pr["name"] == BungeeGuardProperty {
			tokens++
			if pr["value"] != "the-token" {
				t.Fatalf("token %q", pr["value"])
			}
		}
	}
	if tokens != 1 || len(props) != 2 {
		t.Fatalf("properties %v: want textures and exactly one token", props)
	}
	if v6 := BungeeHost("h", Player{Addr: netip.MustParseAddr("2001:db8::1")}, ""); strings.Split(v6, "\x00")[1] != "2001:db8::1" {
		t.Fatalf("IPv6 address written as %q", strings.Split(v6, "\x00")[1])
	}
}

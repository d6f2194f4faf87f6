package packets

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// TestKnownIDs checks generated ids against the community protocol
// documentation (the per-version "Java Edition protocol" pages of
// minecraft.wiki, formerly wiki.vg), a source independent of minecraft-data.
func TestKnownIDs(t *testing.T) {
	const (
		sb = mcproto.Serverbound
		cb = mcproto.Clientbound
		pl = mcproto.StatePlay
		cf = mcproto.StateConfiguration
	)
	tests := []struct {
		protocol int32
		s        mcproto.State
		d        mcproto.Direction
		k        Kind
		want     int32
	}{
		// Keep Alive, serverbound.
		{47, pl, sb, KindKeepAlive, 0x00},
		{107, pl, sb, KindKeepAlive, 0x0B},
		{340, pl, sb, KindKeepAlive, 0x0B},
		{393, pl, sb, KindKeepAlive, 0x0E},
		{477, pl, sb, KindKeepAlive, 0x0F},
		{754, pl, sb, KindKeepAlive, 0x10},
		{755, pl, sb, KindKeepAlive, 0x0F},
		{759, pl, sb, KindKeepAlive, 0x11},
		{760, pl, sb, KindKeepAlive, 0x12},
		{761, pl, sb, KindKeepAlive, 0x11},
		{762, pl, sb, KindKeepAlive, 0x12},
		{764, pl, sb, KindKeepAlive, 0x14},
		{765, pl, sb, KindKeepAlive, 0x15},
		{766, pl, sb, KindKeepAlive, 0x18},
		{768, pl, sb, KindKeepAlive, 0x1A},
		{769, pl, sb, KindKeepAlive, 0x1A},
		// Keep Alive, clientbound.
		{47, pl, cb, KindKeepAlive, 0x00},
		{340, pl, cb, KindKeepAlive, 0x1F},
		{393, pl, cb, KindKeepAlive, 0x21},
		{754, pl, cb, KindKeepAlive, 0x1F},
		{755, pl, cb, KindKeepAlive, 0x21},
		{759, pl, cb, KindKeepAlive, 0x1E},
		{762, pl, cb, KindKeepAlive, 0x23},
		{764, pl, cb, KindKeepAlive, 0x24},
		{766, pl, cb, KindKeepAlive, 0x26},
		{768, pl, cb, KindKeepAlive, 0x27},
		// Join Game.
		{47, pl, cb, KindJoinGame, 0x01},
		{340, pl, cb, KindJoinGame, 0x23},
		{754, pl, cb, KindJoinGame, 0x24},
		{765, pl, cb, KindJoinGame, 0x29},
		{766, pl, cb, KindJoinGame, 0x2B},
		{768, pl, cb, KindJoinGame, 0x2C},
		// Movement.
		{47, pl, sb, KindPlayerOnGround, 0x03},
		{47, pl, sb, KindPlayerPosition, 0x04},
		{47, pl, sb, KindPlayerLook, 0x05},
		{47, pl, sb, KindPlayerPositionLook, 0x06},
		{340, pl, sb, KindPlayerPosition, 0x0D},
		{754, pl, sb, KindPlayerPosition, 0x12},
		{765, pl, sb, KindPlayerPosition, 0x17},
		{769, pl, sb, KindPlayerPosition, 0x1C},
		{47, pl, cb, KindSyncPlayerPosition, 0x08},
		{340, pl, cb, KindSyncPlayerPosition, 0x2F},
		{107, pl, sb, KindTeleportConfirm, 0x00},
		{775, pl, sb, KindTeleportConfirm, 0x00},
		{47, pl, sb, KindTeleportConfirm, -1}, // 1.9+
		// Chat.
		{47, pl, sb, KindChat, 0x01},
		{340, pl, sb, KindChat, 0x02},
		{754, pl, sb, KindChat, 0x03},
		{47, pl, cb, KindClientboundChat, 0x02},
		// Disconnect in play.
		{47, pl, cb, KindDisconnect, 0x40},
		{340, pl, cb, KindDisconnect, 0x1A},
		{754, pl, cb, KindDisconnect, 0x19},
		{765, pl, cb, KindDisconnect, 0x1B},
		{766, pl, cb, KindDisconnect, 0x1D},
		// Window confirmation exists 1.8–1.16.5 only; ping/pong replace it.
		{47, pl, sb, KindTransaction, 0x0F},
		{47, pl, cb, KindTransaction, 0x32},
		{340, pl, sb, KindTransaction, 0x05},
		{340, pl, cb, KindTransaction, 0x11},
		{755, pl, sb, KindTransaction, -1},
		{755, pl, cb, KindPing, 0x30},
		{755, pl, sb, KindPong, 0x1D},
		{754, pl, cb, KindPing, -1},
		// Configuration and the switches into and out of it.
		{764, cf, cb, KindFinishConfiguration, 0x02},
		{764, cf, sb, KindFinishConfiguration, 0x02},
		{766, cf, cb, KindFinishConfiguration, 0x03},
		{766, cf, sb, KindFinishConfiguration, 0x03},
		{764, cf, cb, KindDisconnect, 0x01},
		{766, cf, cb, KindDisconnect, 0x02},
		{766, cf, cb, KindSelectKnownPacks, 0x0E},
		{766, cf, sb, KindSelectKnownPacks, 0x07},
		{763, cf, cb, KindFinishConfiguration, -1},
		{764, pl, cb, KindStartConfiguration, 0x65},
		{765, pl, cb, KindStartConfiguration, 0x67},
		{766, pl, cb, KindStartConfiguration, 0x69},
		{768, pl, cb, KindStartConfiguration, 0x70},
		{764, pl, sb, KindConfigurationAcknowledged, 0x0B},
		{766, pl, sb, KindConfigurationAcknowledged, 0x0C},
		{768, pl, sb, KindConfigurationAcknowledged, 0x0E},
		{768, pl, sb, KindTickEnd, 0x0B},
		{767, pl, sb, KindTickEnd, -1},
		// Login (docs/PROTOCOL.md, Login).
		{47, mcproto.StateLogin, cb, KindSetCompression, 0x03},
		{393, mcproto.StateLogin, cb, KindLoginPluginRequest, 0x04},
		{340, mcproto.StateLogin, cb, KindLoginPluginRequest, -1},
		{764, mcproto.StateLogin, sb, KindLoginAcknowledged, 0x03},
		{766, mcproto.StateLogin, cb, KindCookieRequest, 0x05},
		{766, mcproto.StateLogin, sb, KindCookieResponse, 0x04},
		// 1.8 allowed Set Compression during play.
		{47, pl, cb, KindSetCompression, 0x46},
		{107, pl, cb, KindSetCompression, -1},
	}
	for _, tt := range tests {
		tb := Lookup(tt.protocol)
		if tb == nil {
			t.Fatalf("Lookup(%d) = nil", tt.protocol)
		}
		if got := tb.ID(tt.s, tt.d, tt.k); got != tt.want {
			t.Errorf("protocol %d %s %s %s: id %#x, want %#x", tt.protocol, tt.s, tt.d, tt.k, got, tt.want)
		}
		if tt.want >= 0 {
			if got := tb.Kind(tt.s, tt.d, tt.want); got != tt.k {
				t.Errorf("protocol %d %s %s id %#x: kind %s, want %s", tt.protocol, tt.s, tt.d, tt.want, got, tt.k)
			}
		}
	}
}

// TestFixedIDs checks that the handshake, status and login ids written
// without a table (ids.go) agree with every generated table.
func TestFixedIDs(t *testing.T) {
	const (
		sb = mcproto.Serverbound
		cb = mcproto.Clientbound
	)
	fixed := []struct {
		s     mcproto.State
		d     mcproto.Direction
		k     Kind
		id    int32
		since int32
	}{
		{mcproto.StateHandshake, sb, KindHandshake, idHandshake, 0},
		{mcproto.StateStatus, sb, KindStatusRequest, idStatusRequest, 0},
		{mcproto.StateStatus, sb, KindPingRequest, idPingRequest, 0},
		{mcproto.StateStatus, cb, KindStatusResponse, idStatusResponse, 0},
		{mcproto.StateStatus, cb, KindPingResponse, idPingResponse, 0},
		{mcproto.StateLogin, sb, KindLoginStart, idLoginStart, 0},
		{mcproto.StateLogin, sb, KindEncryptionResponse, idEncryptionResponse, 0},
		{mcproto.StateLogin, sb, KindLoginPluginResponse, idLoginPluginResponse, mcproto.Protocol1_13},
		{mcproto.StateLogin, sb, KindLoginAcknowledged, idLoginAcknowledged, mcproto.Protocol1_20_2},
		{mcproto.StateLogin, sb, KindCookieResponse, idLoginCookieResponse, mcproto.Protocol1_20_5},
		{mcproto.StateLogin, cb, KindDisconnect, idLoginDisconnect, 0},
		{mcproto.StateLogin, cb, KindEncryptionRequest, idEncryptionRequest, 0},
		{mcproto.StateLogin, cb, KindLoginSuccess, idLoginSuccess, 0},
		{mcproto.StateLogin, cb, KindSetCompression, idSetCompression, 0},
		{mcproto.StateLogin, cb, KindLoginPluginRequest, idLoginPluginRequest, mcproto.Protocol1_13},
		{mcproto.StateLogin, cb, KindCookieRequest, idLoginCookieRequest, mcproto.Protocol1_20_5},
	}
	for _, p := range Protocols() {
		tb := Lookup(p)
		for _, f := range fixed {
			want := f.id
			if p < f.since {
				want = -1
			}
			if got := tb.ID(f.s, f.d, f.k); got != want {
				t.Errorf("protocol %d %s %s %s: table id %d, fixed %d", p, f.s, f.d, f.k, got, want)
			}
		}
	}
}

// releaseProtocols is docs/PROTOCOL.md, Protocol numbers for 1.8 through 26.1: every release
// protocol, written down independently of minecraft-data.
var releaseProtocols = []int32{
	47,                 // 1.8–1.8.9
	107, 108, 109, 110, // 1.9, 1.9.1, 1.9.2, 1.9.3–1.9.4
	210,      // 1.10.x
	315, 316, // 1.11, 1.11.1–1.11.2
	335, 338, 340, // 1.12, 1.12.1, 1.12.2
	393, 401, 404, // 1.13, 1.13.1, 1.13.2
	477, 480, 485, 490, 498, // 1.14–1.14.4
	573, 575, 578, // 1.15–1.15.2
	735, 736, 751, 753, 754, // 1.16–1.16.5
	755, 756, // 1.17, 1.17.1
	757, 758, // 1.18–1.18.1, 1.18.2
	759, 760, 761, 762, // 1.19–1.19.4
	763, 764, 765, 766, // 1.20–1.20.6
	767, 768, 769, 770, 771, 772, 773, 774, // 1.21–1.21.11
	775, // 26.1
}

func TestProtocols(t *testing.T) {
	got := Protocols()
	if !slices.Equal(got, releaseProtocols) {
		t.Errorf("Protocols() = %v\nwant %v", got, releaseProtocols)
	}
	if got[0] != MinProtocol || got[len(got)-1] != MaxProtocol {
		t.Errorf("Protocols() spans %d..%d, constants say %d..%d", got[0], got[len(got)-1], MinProtocol, MaxProtocol)
	}
	got[0] = -5 // a copy: the registry must not change
	if Protocols()[0] != MinProtocol {
		t.Error("Protocols returned the registry's own slice")
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		protocol int32
		ok       bool
		newest   string
		versions []string
	}{
		{46, false, "", nil},
		{4, false, "", nil},  // 1.7.2: netty but older than 1.8
		{48, false, "", nil}, // a 1.9 snapshot number, not a release
		{-1, false, "", nil},
		{MaxProtocol + 1, false, "", nil},
		{1 << 30, false, "", nil},
		{47, true, "1.8.9", []string{"1.8", "1.8.1", "1.8.2", "1.8.3", "1.8.4", "1.8.5", "1.8.6", "1.8.7", "1.8.8", "1.8.9"}},
		{108, true, "1.9.1", []string{"1.9.1"}},
		{485, true, "1.14.2", []string{"1.14.2"}},
		{754, true, "1.16.5", []string{"1.16.4", "1.16.5"}},
		{765, true, "1.20.4", []string{"1.20.3", "1.20.4"}},
		{768, true, "1.21.3", []string{"1.21.2", "1.21.3"}},
		{773, true, "1.21.10", []string{"1.21.9", "1.21.10"}},
		{774, true, "1.21.11", []string{"1.21.11"}},
	}
	for _, tt := range tests {
		tb := Lookup(tt.protocol)
		if (tb != nil) != tt.ok {
			t.Errorf("Lookup(%d) = %v, want supported=%v", tt.protocol, tb, tt.ok)
			continue
		}
		if got := VersionName(tt.protocol); got != tt.newest {
			t.Errorf("VersionName(%d) = %q, want %q", tt.protocol, got, tt.newest)
		}
		if !tt.ok {
			continue
		}
		if tb.Protocol() != tt.protocol {
			t.Errorf("Lookup(%d).Protocol() = %d", tt.protocol, tb.Protocol())
		}
		if got := tb.Versions(); !slices.Equal(got, tt.versions) {
			t.Errorf("Lookup(%d).Versions() = %q, want %q", tt.protocol, got, tt.versions)
		}
	}
	vs := Lookup(765).Versions()
	vs[0] = "mutated"
	if Lookup(765).Versions()[0] != "1.20.3" {
		t.Error("Versions returned the table's own slice")
	}
}

// TestKindIDInverse checks that Kind and ID agree for every id of every
// table, and that Name is set for every id.
func TestKindIDInverse(t *testing.T) {
	for _, p := range Protocols() {
		tb := Lookup(p)
		for s := mcproto.State(0); s < mcproto.NumStates; s++ {
			for d := mcproto.Direction(0); d < mcproto.NumDirections; d++ {
				n := int32(len(tb.names[s][d]))
				for id := int32(0); id < n; id++ {
					if tb.Name(s, d, id) == "" {
						t.Errorf("protocol %d %s %s id %#x: no name", p, s, d, id)
					}
					if k := tb.Kind(s, d, id); k != KindUnknown && tb.ID(s, d, k) != id {
						t.Errorf("protocol %d %s %s: Kind(%#x) = %s but ID(%s) = %#x", p, s, d, id, k, k, tb.ID(s, d, k))
					}
				}
				if tb.Name(s, d, n) != "" || tb.Kind(s, d, n) != KindUnknown {
					t.Errorf("protocol %d %s %s: id %#x past the end is known", p, s, d, n)
				}
				for k := KindUnknown + 1; k < numKinds; k++ {
					if id := tb.ID(s, d, k); id >= 0 && tb.Kind(s, d, id) != k {
						t.Errorf("protocol %d %s %s: ID(%s) = %#x but Kind = %s", p, s, d, k, id, tb.Kind(s, d, id))
					}
				}
			}
		}
	}
}

func TestOutOfRange(t *testing.T) {
	tb := Lookup(765)
	var none *Table
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"negative id", tb.Kind(mcproto.StatePlay, mcproto.Serverbound, -1), KindUnknown},
		{"huge id", tb.Kind(mcproto.StatePlay, mcproto.Serverbound, 1<<20), KindUnknown},
		{"bad state", tb.Kind(mcproto.NumStates, mcproto.Serverbound, 0), KindUnknown},
		{"bad direction", tb.Kind(mcproto.StatePlay, mcproto.NumDirections, 0), KindUnknown},
		{"unknown kind id", tb.ID(mcproto.StatePlay, mcproto.Serverbound, KindUnknown), int32(-1)},
		{"kind past the end", tb.ID(mcproto.StatePlay, mcproto.Serverbound, numKinds), int32(-1)},
		{"kind in wrong state", tb.ID(mcproto.StateStatus, mcproto.Serverbound, KindKeepAlive), int32(-1)},
		{"name negative id", tb.Name(mcproto.StatePlay, mcproto.Clientbound, -1), ""},
		{"name bad state", tb.Name(mcproto.NumStates, mcproto.Clientbound, 0), ""},
		{"nil kind", none.Kind(mcproto.StatePlay, mcproto.Serverbound, 0), KindUnknown},
		{"nil id", none.ID(mcproto.StatePlay, mcproto.Serverbound, KindKeepAlive), int32(-1)},
		{"nil name", none.Name(mcproto.StatePlay, mcproto.Serverbound, 0), ""},
		{"nil protocol", none.Protocol(), int32(0)},
		{"legacy ping is not a framed id", tb.Name(mcproto.StateHandshake, mcproto.Serverbound, 0xFE), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if none.Versions() != nil {
		t.Error("nil table has versions")
	}
}

func TestKindString(t *testing.T) {
	seen := map[string]Kind{}
	for k := KindUnknown; k < numKinds; k++ {
		s := k.String()
		if s == "" || strings.HasPrefix(s, "Kind(") {
			t.Errorf("kind %d has no name", k)
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("kinds %d and %d share the name %q", prev, k, s)
		}
		seen[s] = k
	}
	if got := numKinds.String(); got != "Kind("+strconv.Itoa(int(numKinds))+")" {
		t.Errorf("numKinds.String() = %q", got)
	}
	if KindPlayerPosition.String() != "PlayerPosition" {
		t.Errorf("KindPlayerPosition.String() = %q", KindPlayerPosition.String())
	}
}

// TestRegistryRejects feeds buildRegistry broken inputs: each must fail
// with errTable rather than build a table that misleads the edge.
func TestRegistryRejects(t *testing.T) {
	const (
		pl   = mcproto.StatePlay
		toSv = mcproto.Serverbound
		toCl = mcproto.Clientbound
	)
	good := kindMapping()
	without := func(k Kind) []kindName {
		var out []kindName
		for _, m := range good {
			if m.kind != k {
				out = append(out, m)
			}
		}
		return out
	}
	with := func(extra kindName) []kindName { return append(slices.Clone(good), extra) }
	swapped := slices.Clone(generatedTables[:])
	swapped[1], swapped[2] = swapped[2], swapped[1]
	dupNames := slices.Clone(generatedTables[:])
	dupNames[0].names[mcproto.StateStatus][mcproto.Serverbound] = []string{"ping_start", "ping_start"}

	tests := []struct {
		name    string
		gen     []generatedTable
		mapping []kindName
		want    string
	}{
		{"kind with two ids", generatedTables[:], with(kindName{pl, toSv, "spectate", KindPlayerPosition}), "kind PlayerPosition at ids"},
		{"name in no version", generatedTables[:], with(kindName{pl, toSv, "no_such_packet", KindChat}), "exists in no version"},
		{"name in the wrong direction", generatedTables[:], with(kindName{pl, toCl, "teleport_confirm", KindTeleportConfirm}), "exists in no version"},
		{"row listed twice", generatedTables[:], with(good[0]), "listed twice"},
		{"unmapped kind", generatedTables[:], without(KindBundleDelimiter), "BundleDelimiter has no mapping"},
		{"unknown kind", generatedTables[:], with(kindName{pl, toSv, "spectate", KindUnknown}), "bad kind"},
		{"protocols out of order", swapped, good, "not ascending"},
		{"repeated packet name", dupNames, good, "repeated name"},
		{"no protocols", nil, nil, "has no mapping"},
	}
	for _, tt := range tests {
		_, err := buildRegistry(tt.gen, tt.mapping)
		if !errors.Is(err, errTable) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want errTable mentioning %q", tt.name, err, tt.want)
		}
	}
	if _, err := buildRegistry(generatedTables[:], good); err != nil {
		t.Errorf("the real tables fail: %v", err)
	}
}

func TestLookupNoAlloc(t *testing.T) {
	tb := Lookup(765)
	var sink Kind
	var sinkID int32
	allocs := testing.AllocsPerRun(1000, func() {
		sink = tb.Kind(mcproto.StatePlay, mcproto.Serverbound, 0x17)
		sinkID = tb.ID(mcproto.StatePlay, mcproto.Clientbound, KindKeepAlive)
		if Lookup(47) == nil {
			t.Fatal("lookup failed")
		}
	})
	if allocs != 0 {
		t.Errorf("Kind/ID/Lookup allocate %.1f times per call", allocs)
	}
	if sink != KindPlayerPosition || sinkID != 0x24 {
		t.Errorf("got %s / %#x", sink, sinkID)
	}
}

func BenchmarkKind(b *testing.B) {
	tb := Lookup(MaxProtocol)
	n := int32(len(tb.names[mcproto.StatePlay][mcproto.Serverbound]))
	b.ReportAllocs()
	var sink Kind
	for i := 0; b.Loop(); i++ {
		sink ^= tb.Kind(mcproto.StatePlay, mcproto.Serverbound, int32(i)%n)
	}
	_ = sink
}

func BenchmarkID(b *testing.B) {
	tb := Lookup(MaxProtocol)
	b.ReportAllocs()
	var sink int32
	for i := 0; b.Loop(); i++ {
		sink ^= tb.ID(mcproto.StatePlay, mcproto.Clientbound, Kind(i)%numKinds)
	}
	_ = sink
}

package limbo

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// encoderFixtures is testdata/encoders.json: minecraft-protocol's encoding
// of the packets the limbo writes itself, per protocol, written by
// gen/gen.js next to world.bin.
type encoderFixtures struct {
	OfflineUUIDs map[string]string `json:"offline_uuids"`
	Protocols    []struct {
		Protocol int32 `json:"protocol"`
		Teleport struct {
			X, Y, Z float64
			ID      int32 `json:"id"`
			Hex     string
		} `json:"teleport"`
		KeepAlivePlay          *keepAliveFixture `json:"keep_alive_play"`
		KeepAliveConfiguration *keepAliveFixture `json:"keep_alive_configuration"`
		LoginSuccess           struct {
			UUID, Name, Hex string
		} `json:"login_success"`
		SetCompression struct {
			Threshold int32
			Hex       string
		} `json:"set_compression"`
		FinishConfiguration *struct{ Hex string } `json:"finish_configuration"`
		Transfer            *struct {
			Host string
			Port int
			Hex  string
		} `json:"transfer"`
	} `json:"protocols"`
}

type keepAliveFixture struct {
	ID  string `json:"id"`
	Hex string `json:"hex"`
}

func loadFixtures(t *testing.T) encoderFixtures {
	t.Helper()
	b, err := os.ReadFile("testdata/encoders.json")
	if err != nil {
		t.Fatal(err)
	}
	var f encoderFixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func parseUUID(t *testing.T, s string) mcproto.UUID {
	t.Helper()
	var u mcproto.UUID
	b, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36])
	if err != nil || len(b) != 16 {
		t.Fatalf("uuid %q: %v", s, err)
	}
	copy(u[:], b)
	return u
}

// TestEncodersMatchMinecraftProtocol proves each encoder byte-identical to
// an independent implementation, for every protocol with a world.
func TestEncodersMatchMinecraftProtocol(t *testing.T) {
	f := loadFixtures(t)
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int32]bool{}
	for _, p := range f.Protocols {
		seen[p.Protocol] = true
		check := func(what string, got []byte, want string) {
			t.Helper()
			if hex.EncodeToString(got) != want {
				t.Errorf("protocol %d %s:\n got %x\nwant %s", p.Protocol, what, got, want)
			}
		}
		tp := p.Teleport
		check("teleport", appendTeleport(nil, p.Protocol, tp.ID, tp.X, tp.Y, tp.Z), tp.Hex)

		id, err := strconv.ParseInt(p.KeepAlivePlay.ID, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		check("play keep-alive", appendKeepAlive(nil, p.Protocol, mcproto.StatePlay, id), p.KeepAlivePlay.Hex)
		if ka := p.KeepAliveConfiguration; ka != nil {
			check("configuration keep-alive", appendKeepAlive(nil, p.Protocol, mcproto.StateConfiguration, id), ka.Hex)
		} else if p.Protocol >= mcproto.Protocol1_20_2 {
			t.Errorf("protocol %d: no configuration keep-alive fixture", p.Protocol)
		}
		ls := p.LoginSuccess
		check("login success", packets.LoginSuccess{UUID: parseUUID(t, ls.UUID), Username: ls.Name}.AppendTo(nil, p.Protocol), ls.Hex)
		check("set compression", packets.SetCompression{Threshold: p.SetCompression.Threshold}.AppendTo(nil, p.Protocol), p.SetCompression.Hex)
		if fc := p.FinishConfiguration; fc != nil {
			check("finish configuration", packets.FinishConfiguration{}.AppendTo(nil, p.Protocol), fc.Hex)
		}
		if tr := p.Transfer; tr != nil {
			check("transfer", appendTransfer(nil, p.Protocol, tr.Host, tr.Port), tr.Hex)
		} else if p.Protocol >= mcproto.Protocol1_20_5 {
			t.Errorf("protocol %d: no transfer fixture", p.Protocol)
		}
	}
	for _, p := range l.Protocols() {
		if !seen[p] {
			t.Errorf("protocol %d has a world but no encoder fixtures", p)
		}
	}
}

func TestOfflineUUID(t *testing.T) {
	f := loadFixtures(t)
	if len(f.OfflineUUIDs) == 0 {
		t.Fatal("no offline UUID fixtures")
	}
	for name, want := range f.OfflineUUIDs {
		if got := mcproto.OfflineUUID(name).String(); got != want {
			t.Errorf("mcproto.OfflineUUID(%q) = %s, minecraft-protocol says %s", name, got, want)
		}
	}
}

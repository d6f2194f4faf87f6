package mc18

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// splitID strips the packet ID a builder wrote and checks it.
func splitID(t *testing.T, pkt []byte, want int32) []byte {
	t.Helper()
	id, n, err := mcproto.ReadVarInt(pkt)
	if err != nil || id != want {
		t.Fatalf("packet id = %#x, %v; want %#x", id, err, want)
	}
	return pkt[n:]
}

func TestRoundTrips(t *testing.T) {
	tests := []struct {
		name  string
		pkt   []byte
		id    int32
		check func(data []byte) error
	}{
		{"handshake", AppendHandshake(nil, Protocol, "play.example.com", 25565, mcproto.IntentLogin), HandshakeID, func(d []byte) error {
			h, err := ParseHandshake(d)
			if err == nil && (h != Handshake{Protocol, "play.example.com", 25565, mcproto.IntentLogin}) {
				return errors.New("handshake fields differ")
			}
			return err
		}},
		{"login start", AppendLoginStart(nil, "Notch"), LoginStartID, func(d []byte) error {
			n, err := ParseLoginStart(d)
			if err == nil && n != "Notch" {
				return errors.New("name differs")
			}
			return err
		}},
		{"set compression", AppendSetCompression(nil, 256), SetCompressionID, func(d []byte) error {
			v, err := ParseSetCompression(d)
			if err == nil && v != 256 {
				return errors.New("threshold differs")
			}
			return err
		}},
		{"login success", AppendLoginSuccess(nil, OfflineUUID("jeb_"), "jeb_"), LoginSuccessID, func(d []byte) error {
			u, n, err := ParseLoginSuccess(d)
			if err == nil && (u != OfflineUUID("jeb_").String() || n != "jeb_") {
				return errors.New("login success differs")
			}
			return err
		}},
		{"keep alive", AppendKeepAlive(nil, KeepAliveServerboundID, -5), KeepAliveServerboundID, func(d []byte) error {
			v, err := ParseKeepAlive(d)
			if err == nil && v != -5 {
				return errors.New("id differs")
			}
			return err
		}},
		{"plugin message", AppendPluginMessage(nil, PluginMessageClientboundID, "rg:echo", []byte{1, 2, 3}), PluginMessageClientboundID, func(d []byte) error {
			ch, p, err := ParsePluginMessage(d)
			if err == nil && (ch != "rg:echo" || string(p) != "\x01\x02\x03") {
				return errors.New("plugin message differs")
			}
			return err
		}},
		{"status response", AppendStatusResponse(nil, `{"a":1}`), StatusResponseID, func(d []byte) error {
			s, err := ParseStatusResponse(d)
			if err == nil && s != `{"a":1}` {
				return errors.New("json differs")
			}
			return err
		}},
		{"ping", AppendPing(nil, StatusPingID, -1<<62), StatusPingID, func(d []byte) error {
			v, err := ParsePing(d)
			if err == nil && v != -1<<62 {
				return errors.New("payload differs")
			}
			return err
		}},
		{"disconnect", AppendDisconnect(nil, PlayDisconnectID, `{"text":"bye"}`), PlayDisconnectID, func(d []byte) error {
			s, err := ParseDisconnect(d)
			if err == nil && s != `{"text":"bye"}` {
				return errors.New("reason differs")
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(splitID(t, tt.pkt, tt.id)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParsersRejectLeftoversAndShortData(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]byte) error
		data  []byte
		want  error
	}{
		{"handshake trailing", func(d []byte) error { _, err := ParseHandshake(d); return err },
			append(splitID(t, AppendHandshake(nil, 47, "h", 1, 2), HandshakeID), 0), mcproto.ErrTrailingBytes},
		{"handshake short", func(d []byte) error { _, err := ParseHandshake(d); return err },
			[]byte{47, 1}, mcproto.ErrShort},
		{"login start name too long", func(d []byte) error { _, err := ParseLoginStart(d); return err },
			mcproto.AppendString(nil, "abcdefghijklmnopq"), mcproto.ErrStringTooLong},
		{"ping short", func(d []byte) error { _, err := ParsePing(d); return err },
			[]byte{1, 2, 3}, mcproto.ErrShort},
		{"keep alive trailing", func(d []byte) error { _, err := ParseKeepAlive(d); return err },
			[]byte{1, 2}, mcproto.ErrTrailingBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.parse(tt.data); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOfflineUUID(t *testing.T) {
	// Offline-mode UUIDs as vanilla and every offline proxy compute them
	// (UUID.nameUUIDFromBytes("OfflinePlayer:" + name)).
	tests := map[string]string{
		"Notch": "b50ad385-829d-3141-a216-7e7d7539ba7f",
	}
	for name, want := range tests {
		if got := OfflineUUID(name).String(); got != want {
			t.Errorf("OfflineUUID(%q) = %s, want %s", name, got, want)
		}
	}
}

func TestChunkDataLayout(t *testing.T) {
	sections := make([]byte, 300)
	data := splitID(t, AppendChunkData(nil, 1, -2, 0x00ff, sections), ChunkDataID)
	r := mcproto.NewReader(data)
	x, z, cont, mask := r.Int32(), r.Int32(), r.Bool(), r.Uint16()
	got := r.ByteArray(len(sections))
	if err := r.Finish(); err != nil || x != 1 || z != -2 || !cont || mask != 0x00ff || len(got) != len(sections) {
		t.Fatalf("chunk data = %d %d %v %#x %d bytes, %v", x, z, cont, mask, len(got), err)
	}
}

// TestEncryptionPacketsMatchTheEdgesCodec: the tool's encryption packets
// are read and written the way the edge's own codec (shared/mcproto/packets)
// writes and reads them for protocol 47.
func TestEncryptionPacketsMatchTheEdgesCodec(t *testing.T) {
	want := packets.EncryptionRequest{PublicKey: []byte{0x30, 0x81, 0x9f, 1, 2}, VerifyToken: []byte{9, 8, 7, 6}}
	req, err := ParseEncryptionRequest(splitID(t, want.AppendTo(nil, Protocol), EncryptionRequestID))
	if err != nil || req.ServerID != "" || !bytes.Equal(req.PublicKey, want.PublicKey) || !bytes.Equal(req.VerifyToken, want.VerifyToken) {
		t.Fatalf("request = %+v, %v", req, err)
	}
	back := splitID(t, AppendEncryptionRequest(nil, req), EncryptionRequestID)
	if !bytes.Equal(back, splitID(t, want.AppendTo(nil, Protocol), EncryptionRequestID)) {
		t.Fatalf("request re-encoded differently: %x", back)
	}

	secret, token := bytes.Repeat([]byte{0xaa}, 128), bytes.Repeat([]byte{0xbb}, 128)
	resp, err := packets.DecodeEncryptionResponse(splitID(t, AppendEncryptionResponse(nil, secret, token), EncryptionResponseID), Protocol)
	if err != nil || !bytes.Equal(resp.SharedSecret, secret) || !bytes.Equal(resp.VerifyToken, token) || resp.Signed {
		t.Fatalf("response = %+v, %v", resp, err)
	}

	if _, err := ParseEncryptionRequest(append(back, 0)); !errors.Is(err, mcproto.ErrTrailingBytes) {
		t.Fatalf("leftover byte: err = %v", err)
	}
}

// TestPlayPacketsMatchTheEdgesCodec: the packets of the players workload
// carry the ids of the edge's protocol-47 table and decode with the edge's
// own codec (shared/mcproto/packets) to what the tool meant, so the
// detection engine sees real entity moves, probes and movements.
func TestPlayPacketsMatchTheEdgesCodec(t *testing.T) {
	tab := packets.Lookup(Protocol)
	if tab == nil {
		t.Fatal("no packet table for protocol 47")
	}
	ids := []struct {
		dir  mcproto.Direction
		kind packets.Kind
		id   int32
	}{
		{mcproto.Clientbound, packets.KindSpawnPlayer, SpawnPlayerID},
		{mcproto.Clientbound, packets.KindEntityRelMove, EntityRelMoveID},
		{mcproto.Clientbound, packets.KindEntityMoveLook, EntityMoveLookID},
		{mcproto.Clientbound, packets.KindTransaction, TransactionClientboundID},
		{mcproto.Serverbound, packets.KindTransaction, TransactionServerboundID},
		{mcproto.Serverbound, packets.KindPlayerPositionLook, PlayerPositionLookID},
	}
	for _, x := range ids {
		if got := tab.ID(mcproto.StatePlay, x.dir, x.kind); got != x.id {
			t.Errorf("%v %v: edge's id %#x, tool's %#x", x.dir, x.kind, got, x.id)
		}
	}

	u := OfflineUUID("other")
	sp, err := packets.DecodeSpawnPlayer(splitID(t, AppendSpawnPlayer(nil, 7, u, 1.5, 64, -2.25), SpawnPlayerID), Protocol)
	if err != nil || sp.EntityID != 7 || sp.UUID != u || sp.X != 1.5 || sp.Y != 64 || sp.Z != -2.25 || sp.CurrentItem != 0 {
		t.Errorf("spawn player = %+v, %v", sp, err)
	}
	rm, err := packets.DecodeEntityRelMove(splitID(t, AppendEntityRelMove(nil, 7, 4, 0, -4, true), EntityRelMoveID), Protocol)
	if err != nil || rm.EntityID != 7 || rm.DX != 0.125 || rm.DY != 0 || rm.DZ != -0.125 || !rm.OnGround {
		t.Errorf("relative move = %+v, %v", rm, err)
	}
	ml, err := packets.DecodeEntityMoveLook(splitID(t, AppendEntityMoveLook(nil, 8, -2, 1, 0, 64, 0, false), EntityMoveLookID), Protocol)
	if err != nil || ml.EntityID != 8 || ml.DX != -0.0625 || ml.DY != 0.03125 || ml.Yaw != 90 || ml.OnGround {
		t.Errorf("move and look = %+v, %v", ml, err)
	}
	probe := Transaction{Window: 0, Action: -32000, Accepted: false}
	tr, err := packets.DecodeTransaction(splitID(t, AppendTransaction(nil, TransactionClientboundID, probe), TransactionClientboundID), Protocol)
	if err != nil || tr.WindowID != 0 || tr.Action != -32000 || tr.Accepted {
		t.Errorf("transaction = %+v, %v", tr, err)
	}
	answer := packets.Transaction{WindowID: 0, Action: -32000, Accepted: true}
	back, err := ParseTransaction(answer.AppendData(nil, Protocol))
	if err != nil || back != (Transaction{Window: 0, Action: -32000, Accepted: true}) {
		t.Errorf("parsed answer = %+v, %v", back, err)
	}
	move := PositionLook{X: 10.5, Y: 64, Z: -3.25, Yaw: -90, Pitch: 12.5, OnGround: true}
	pl, err := packets.DecodePlayerPositionLook(splitID(t, AppendPositionLook(nil, move), PlayerPositionLookID), Protocol)
	if err != nil || pl.X != move.X || pl.Y != move.Y || pl.Z != move.Z || pl.Yaw != move.Yaw || pl.Pitch != move.Pitch || !pl.OnGround() {
		t.Errorf("position and look = %+v, %v", pl, err)
	}
	if got, err := ParsePositionLook(splitID(t, AppendPositionLook(nil, move), PlayerPositionLookID)); err != nil || got != move {
		t.Errorf("round trip = %+v, %v", got, err)
	}
	json, pos, err := ParseChat(splitID(t, AppendChat(nil, `{"text":"hi"}`, 1), ChatClientboundID))
	if err != nil || json != `{"text":"hi"}` || pos != 1 {
		t.Errorf("chat = %q %d, %v", json, pos, err)
	}
	if _, err := ParseTransaction([]byte{0, 1}); !errors.Is(err, mcproto.ErrShort) {
		t.Errorf("short transaction: %v", err)
	}
}

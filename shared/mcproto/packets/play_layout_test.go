package packets

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// These tests decode bytes written by hand from minecraft-data's
// protocol.json layouts (play.toServer / play.toClient), so a mistake
// shared by our encoder and decoder cannot hide. Hex is grouped by field.

// ptHex decodes space-separated hex.
func ptHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

const (
	ptHexTS   = "0000018bcfe56800" // i64 1700000000000
	ptHexSalt = "ffffffffffffffd6" // i64 -42
)

func TestPlayLayoutsByHand(t *testing.T) {
	sig := strings.Repeat("ab", 256)
	cases := []struct {
		name     string
		protocol int32
		hex      string
		decode   playDecoder
		want     playPacket
	}{
		{"1.8 position: x, feet y, z, onGround", 47,
			"3ff0000000000000 4050000000000000 c004000000000000 01",
			asPlayDecoder(DecodePlayerPosition), PlayerPosition{X: 1, Y: 64, Z: -2.5, Flags: MoveOnGround}},
		{"1.21.2 position look: flags byte 0x03", 768,
			"0000000000000000 0000000000000000 0000000000000000 42b40000 c2340000 03",
			asPlayDecoder(DecodePlayerPositionLook),
			PlayerPositionLook{Yaw: 90, Pitch: -45, Flags: MoveOnGround | MoveHorizontalCollision}},
		{"1.21.2 flying: collision without ground", 768, "02",
			asPlayDecoder(DecodePlayerOnGround), PlayerOnGround{Flags: MoveHorizontalCollision}},
		{"1.21.4 vehicle move with onGround", 769,
			"3ff0000000000000 4050000000000000 c004000000000000 42b40000 00000000 01",
			asPlayDecoder(DecodeVehicleMove), VehicleMove{X: 1, Y: 64, Z: -2.5, Yaw: 90, OnGround: true}},
		{"1.8 use entity interact-at: no hand", 47, "2a 02 3f000000 3f800000 be800000",
			asPlayDecoder(DecodeUseEntity), UseEntity{Target: 42, Type: InteractAt, X: 0.5, Y: 1, Z: -0.25}},
		{"1.9 use entity interact: hand", 107, "2a 00 01",
			asPlayDecoder(DecodeUseEntity), UseEntity{Target: 42, Type: InteractEntity, Hand: HandOff}},
		{"1.9 use entity attack: no hand", 107, "ac02 01",
			asPlayDecoder(DecodeUseEntity), UseEntity{Target: 300, Type: InteractAttack}},
		{"1.16 use entity attack: sneaking", 735, "2a 01 01",
			asPlayDecoder(DecodeUseEntity), UseEntity{Target: 42, Type: InteractAttack, Sneaking: true}},
		{"1.16 use entity interact-at: xyz, hand, sneaking", 735, "2a 02 3f000000 3f800000 be800000 01 00",
			asPlayDecoder(DecodeUseEntity), UseEntity{Target: 42, Type: InteractAt, X: 0.5, Y: 1, Z: -0.25, Hand: HandOff}},
		{"26.1 use entity: hand, LpVec3 (1,0,-1), sneaking", 775, "2a 01 f1ff0000ffff 01",
			asPlayDecoder(DecodeUseEntity), UseEntity{Target: 42, Type: InteractAt, Hand: HandOff, X: 1, Y: 0, Z: -1, Sneaking: true}},
		{"26.1 use entity: LpVec3 with VarInt scale (10,0,0)", 775, "2a 00 f6ff7ffeffff02 00",
			asPlayDecoder(DecodeUseEntity), UseEntity{Target: 42, Type: InteractAt, X: 10}},
		{"26.1 use entity: zero LpVec3 is one byte", 775, "2a 00 00 00",
			asPlayDecoder(DecodeUseEntity), UseEntity{Target: 42, Type: InteractAt}},
		{"26.1 attack", 775, "2a", asPlayDecoder(DecodeAttack), Attack{EntityID: 42}},
		{"1.8 arm animation is empty", 47, "", asPlayDecoder(DecodeArmAnimation), ArmAnimation{}},
		{"1.12.1 keep alive VarInt", 338, "ac02", asPlayDecoder(DecodeKeepAlive), KeepAlive{ID: 300}},
		{"1.12.2 keep alive i64", 340, "00000000000000ff", asPlayDecoder(DecodeKeepAlive), KeepAlive{ID: 255}},
		{"1.16.5 transaction", 754, "00 8300 00", asPlayDecoder(DecodeTransaction), Transaction{Action: -32000}},
		{"1.17 pong", 755, "fffffff9", asPlayDecoder(DecodePong), Pong{ID: -7}},
		{"1.8 abilities with speeds", 47, "02 3f000000 3f800000", asPlayDecoder(DecodeAbilities),
			Abilities{Flags: AbilityFlying, FlyingSpeed: 0.5, WalkingSpeed: 1}},
		{"1.16 abilities flags only", 735, "02", asPlayDecoder(DecodeAbilities), Abilities{Flags: AbilityFlying}},
		{"1.8 tab complete with block (x26|y12|z26)", 47, "02 2f74 01 0000004008000003",
			asPlayDecoder(DecodeTabComplete), TabComplete{Text: []byte("/t"), HasBlock: true, Block: mcproto.Position{X: 1, Y: 2, Z: 3}}},
		{"1.9 tab complete: assumeCommand", 107, "02 2f74 01 00",
			asPlayDecoder(DecodeTabComplete), TabComplete{Text: []byte("/t"), AssumeCommand: true}},
		{"1.13 tab complete: transaction id", 393, "07 02 2f74",
			asPlayDecoder(DecodeTabComplete), TabComplete{TransactionID: 7, Text: []byte("/t")}},
		{"1.19 block dig with sequence (x26|z26|y12)", 759, "02 0000004000003002 01 05",
			asPlayDecoder(DecodeBlockDig), BlockDig{Status: 2, Location: mcproto.Position{X: 1, Y: 2, Z: 3}, Face: 1, Sequence: 5}},
		{"1.21.2 block place: border hit then sequence", 768,
			"01 0000004000003002 01 3f000000 3f800000 00000000 01 01 09",
			asPlayDecoder(DecodeBlockPlace), BlockPlace{Hand: HandOff, Location: mcproto.Position{X: 1, Y: 2, Z: 3}, Face: 1,
				CursorX: 0.5, CursorY: 1, InsideBlock: true, WorldBorderHit: true, Sequence: 9}},
		{"1.9 block place: byte cursor in sixteenths", 107, "0000004008000003 01 00 08 0f 00",
			asPlayDecoder(DecodeBlockPlace), BlockPlace{Location: mcproto.Position{X: 1, Y: 2, Z: 3}, Face: 1, CursorX: 0.5, CursorY: 0.9375}},
		{"1.21 use item: rotation", 767, "00 03 42b40000 c2340000",
			asPlayDecoder(DecodeUseItem), UseItem{Sequence: 3, Yaw: 90, Pitch: -45}},
		{"1.21.2 client settings: particle status", 768, "05 656e5f7573 0c 00 01 7f 01 00 01 02",
			asPlayDecoder(DecodeClientSettings), ClientSettings{Locale: []byte("en_us"), ViewDistance: 12, ChatColors: true,
				SkinParts: 0x7f, MainHand: 1, ServerListing: true, ParticleStatus: 2}},
		{"1.8 client settings: byte chat mode, no hand", 47, "05 656e5f5553 08 02 00 7f",
			asPlayDecoder(DecodeClientSettings), ClientSettings{Locale: []byte("en_US"), ViewDistance: 8, ChatMode: 2, SkinParts: 0x7f}},
		{"1.8 plugin message: data without length", 47, "08 4d437c4272616e64 76616e696c6c61",
			asPlayDecoder(DecodePluginMessage), PluginMessage{Channel: []byte("MC|Brand"), Data: []byte("vanilla")}},
		{"1.20 update sign: front text", 763, "0000004000003002 01 0161 0162 0163 0164",
			asPlayDecoder(DecodeUpdateSign), UpdateSign{Location: mcproto.Position{X: 1, Y: 2, Z: 3}, FrontText: true,
				Lines: [4][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}}},
		{"1.21.2 close window: VarInt id", 768, "ac02", asPlayDecoder(DecodeCloseWindow), CloseWindow{WindowID: 300}},
		{"1.21.1 close window: u8 id", 767, "c8", asPlayDecoder(DecodeCloseWindow), CloseWindow{WindowID: 200}},
		{"1.17.1 edit book: slot, pages, title", 756, "03 02 0161 026262 01 0174",
			asPlayDecoder(DecodeEditBook), EditBook{Slot: 3, Pages: [][]byte{[]byte("a"), []byte("bb")}, HasTitle: true, Title: []byte("t")}},

		// Clientbound.
		{"1.8 join game: hardcore bit in game mode", 47, "00000457 09 ff 02 14 0764656661756c74 00",
			asPlayDecoder(DecodeJoinGame), JoinGame{EntityID: 1111, Hardcore: true, GameMode: 1,
				Rest: ptHex(t, "ff 02 14 0764656661756c74 00")}},
		{"1.16.2 join game: hardcore bool", 751, "00000001 01 03 ff",
			asPlayDecoder(DecodeJoinGame), JoinGame{EntityID: 1, Hardcore: true, GameMode: 3, Rest: []byte{0xff}}},
		{"1.20.2 join game: world type and name before seed", 764,
			"00000001 00 01 03613a62 64 0a 08 00 01 00 03613a62 03633a64 0102030405060708 02 ff 00 00 00 00",
			asPlayDecoder(DecodeJoinGame), JoinGame{EntityID: 1, GameMode: 2,
				Middle: ptHex(t, "01 03613a62 64 0a 08 00 01 00 03613a62 03633a64 0102030405060708"),
				Rest:   ptHex(t, "ff 00 00 00 00")}},
		{"1.20.5 join game: spawn info with dimension id", 766,
			"00000001 00 02 03613a62 03633a64 64 0a 08 00 01 00 00 03613a62 0102030405060708 02 ff 00 00 00 00 01",
			asPlayDecoder(DecodeJoinGame), JoinGame{EntityID: 1, GameMode: 2,
				Middle: ptHex(t, "02 03613a62 03633a64 64 0a 08 00 01 00 00 03613a62 0102030405060708"),
				Rest:   ptHex(t, "ff 00 00 00 00 01")}},
		{"1.8 respawn: dimension, difficulty, game mode, level type", 47, "ffffffff 02 01 04666c6174",
			asPlayDecoder(DecodeRespawn), Respawn{Middle: ptHex(t, "ffffffff 02"), GameMode: 1, Rest: ptHex(t, "04666c6174")}},
		{"1.16.2 respawn: NBT dimension, game mode found from the end", 751,
			"0a0000 01 0001 61 05 00 0177 0102030405060708 01 ff 00 00 01",
			asPlayDecoder(DecodeRespawn), Respawn{Middle: ptHex(t, "0a0000 01 0001 61 05 00 0177 0102030405060708"),
				GameMode: 1, Rest: ptHex(t, "ff 00 00 01")}},
		{"1.20.5 respawn: spawn info", 766, "00 03613a62 0102030405060708 03 ff 00 00 00 00 01",
			asPlayDecoder(DecodeRespawn), Respawn{Middle: ptHex(t, "00 03613a62 0102030405060708"), GameMode: 3,
				Rest: ptHex(t, "ff 00 00 00 00 01")}},
		{"1.20.3 disconnect: NBT string", 765, "08 0002 6869",
			asPlayDecoder(DecodePlayDisconnect), PlayDisconnect{Reason: ptHex(t, "08 0002 6869"), NBT: true}},
		{"1.20.2 disconnect: JSON string", 764, "02 6869",
			asPlayDecoder(DecodePlayDisconnect), PlayDisconnect{Reason: []byte("hi")}},
		{"1.8 position sync: no teleport id", 47,
			"3ff0000000000000 4050000000000000 c004000000000000 42b40000 c2340000 18",
			asPlayDecoder(DecodeSyncPlayerPosition), SyncPlayerPosition{X: 1, Y: 64, Z: -2.5, Yaw: 90, Pitch: -45, Flags: RelYaw | RelPitch}},
		{"1.17 position sync: teleport id, dismount", 755,
			"3ff0000000000000 4050000000000000 c004000000000000 42b40000 c2340000 00 05 01",
			asPlayDecoder(DecodeSyncPlayerPosition), SyncPlayerPosition{TeleportID: 5, X: 1, Y: 64, Z: -2.5, Yaw: 90, Pitch: -45, Dismount: true}},
		{"1.21.2 position sync: id first, velocity, i32 flags", 768,
			"05 3ff0000000000000 4050000000000000 c004000000000000 3fe0000000000000 bfe0000000000000 0000000000000000 42b40000 c2340000 00000118",
			asPlayDecoder(DecodeSyncPlayerPosition), SyncPlayerPosition{TeleportID: 5, X: 1, Y: 64, Z: -2.5, VX: 0.5, VY: -0.5,
				Yaw: 90, Pitch: -45, Flags: RelYaw | RelPitch | RelRotateDelta}},
		{"1.8 spawn entity: fixed point, no velocity when data is 0", 47,
			"0a 02 00000150 00000800 fffffff8 20 c0 00000000",
			asPlayDecoder(DecodeSpawnEntity), SpawnEntity{EntityID: 10, Type: 2, X: 10.5, Y: 64, Z: -0.25, Pitch: 45, Yaw: -90}},
		{"1.8 spawn entity: velocity when data is set", 47,
			"0a 02 00000150 00000800 fffffff8 20 c0 00000001 03e8 f060 0000",
			asPlayDecoder(DecodeSpawnEntity), SpawnEntity{EntityID: 10, Type: 2, X: 10.5, Y: 64, Z: -0.25, Pitch: 45, Yaw: -90,
				Data: 1, VelX: 0.125, VelY: -0.5}},
		{"1.21.9 spawn entity: LpVec3 velocity before angles", 773,
			"0a 000102030405060708090a0b0c0d0e0f 8002 4025000000000000 4050000000000000 0000000000000000 f1ff0000ffff 20 c0 40 07",
			asPlayDecoder(DecodeSpawnEntity), SpawnEntity{EntityID: 10, UUID: mcproto.UUID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
				Type: 256, X: 10.5, Y: 64, VelX: 1, VelZ: -1, Pitch: 45, Yaw: -90, HeadYaw: 90, Data: 7}},
		{"1.8 spawn player: held item and metadata", 47,
			"02 000102030405060708090a0b0c0d0e0f 00000150 00000800 fffffff8 40 00 0114 7f",
			asPlayDecoder(DecodeSpawnPlayer), SpawnPlayer{EntityID: 2, UUID: mcproto.UUID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
				X: 10.5, Y: 64, Z: -0.25, Yaw: 90, CurrentItem: 276, Metadata: []byte{0x7f}}},
		{"1.8 rel move: i8 of 1/32", 47, "05 04 e0 7f 01",
			asPlayDecoder(DecodeEntityRelMove), EntityRelMove{EntityID: 5, DX: 0.125, DY: -1, DZ: 3.96875, OnGround: true}},
		{"1.9 rel move: i16 of 1/4096", 107, "05 1000 f000 0001 00",
			asPlayDecoder(DecodeEntityRelMove), EntityRelMove{EntityID: 5, DX: 1, DY: -1, DZ: 1.0 / 4096}},
		{"1.9 move look", 107, "05 1000 f000 0000 40 c0 01",
			asPlayDecoder(DecodeEntityMoveLook), EntityMoveLook{EntityID: 5, DX: 1, DY: -1, Yaw: 90, Pitch: -90, OnGround: true}},
		{"1.8 entity look", 47, "05 80 7f 00",
			asPlayDecoder(DecodeEntityLook), EntityLook{EntityID: 5, Yaw: -180, Pitch: 178.59375}},
		{"1.8 entity teleport: fixed point", 47, "05 00000150 00000800 fffffff8 40 00 01",
			asPlayDecoder(DecodeEntityTeleport), EntityTeleport{EntityID: 5, X: 10.5, Y: 64, Z: -0.25, Yaw: 90, OnGround: true}},
		{"1.21.2 entity teleport: velocity, float angles, flags", 768,
			"05 3ff0000000000000 4050000000000000 c004000000000000 3fe0000000000000 0000000000000000 0000000000000000 42b40000 c2340000 00000001 00",
			asPlayDecoder(DecodeEntityTeleport), EntityTeleport{EntityID: 5, X: 1, Y: 64, Z: -2.5, VX: 0.5, Yaw: 90, Pitch: -45, Flags: RelX}},
		{"1.21.2 entity position sync", 768,
			"05 3ff0000000000000 4050000000000000 c004000000000000 3fe0000000000000 0000000000000000 0000000000000000 42b40000 c2340000 01",
			asPlayDecoder(DecodeEntityPositionSync), EntityPositionSync{EntityID: 5, X: 1, Y: 64, Z: -2.5, VX: 0.5, Yaw: 90, Pitch: -45, OnGround: true}},
		{"1.17 destroy entity: one id", 755, "ac02", asPlayDecoder(DecodeEntityDestroy), EntityDestroy{Count: 1, IDs: ptHex(t, "ac02")}},
		{"1.17.1 entity destroy: counted list", 756, "02 01 ac02", asPlayDecoder(DecodeEntityDestroy), EntityDestroy{Count: 2, IDs: ptHex(t, "01 ac02")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := ptHex(t, c.hex)
			got, err := c.decode(body, c.protocol)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("\n got %+v\nwant %+v", got, c.want)
			}
			if enc := got.AppendData(nil, c.protocol); !bytes.Equal(enc, body) {
				t.Fatalf("re-encoded % x, want % x", enc, body)
			}
		})
	}

	// Packets whose decoded form holds slices that the table cannot state
	// compactly, or float results that are only close.
	t.Run("1.19.2 chat: VarInt signature, last seen, last rejected", func(t *testing.T) {
		lastSeen := "01 " + strings.Repeat("11", 16) + " 01ab 01 " + strings.Repeat("22", 16) + " 00"
		body := ptHex(t, "02 6869 "+ptHexTS+" "+ptHexSalt+" 00 00 "+lastSeen)
		c, err := DecodeChat(body, 760)
		if err != nil {
			t.Fatal(err)
		}
		if string(c.Message) != "hi" || c.Timestamp != 1700000000000 || c.Salt != -42 || len(c.Signature) != 0 || c.SignedPreview {
			t.Fatalf("got %+v", c)
		}
		if !bytes.Equal(c.LastSeen.Raw, ptHex(t, lastSeen)) {
			t.Fatalf("last seen % x", c.LastSeen.Raw)
		}
	})
	t.Run("1.19.3 chat: fixed signature, offset, acknowledged", func(t *testing.T) {
		body := ptHex(t, "02 6869 "+ptHexTS+" "+ptHexSalt+" 01 "+sig+" 05 010203")
		c, err := DecodeChat(body, 761)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Signature) != 256 || c.Signature[0] != 0xab || c.LastSeen.Offset != 5 || c.LastSeen.Acknowledged != [3]byte{1, 2, 3} {
			t.Fatalf("got %+v", c)
		}
		// 1.21.5 adds the checksum byte: without it the body is short.
		if _, err := DecodeChat(body, 770); !errors.Is(err, mcproto.ErrShort) {
			t.Fatalf("1.21.5 without checksum: %v", err)
		}
		c, err = DecodeChat(append(body, 0x9c), 770)
		if err != nil || c.LastSeen.Checksum != 0x9c {
			t.Fatalf("1.21.5: %+v, %v", c, err)
		}
	})
	t.Run("1.19.3 chat command: argument signatures of 256 bytes", func(t *testing.T) {
		body := ptHex(t, "02 7470 "+ptHexTS+" "+ptHexSalt+" 01 03 6d7367 "+sig+" 00 000000")
		c, err := DecodeChatCommand(body, 761)
		if err != nil {
			t.Fatal(err)
		}
		if string(c.Command) != "tp" || c.ArgCount != 1 || len(c.ArgSignatures) != 4+256 {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("1.20.5 chat command is the command alone", func(t *testing.T) {
		c, err := DecodeChatCommand(ptHex(t, "02 7470"), 766)
		if err != nil || string(c.Command) != "tp" || c.ArgCount != 0 {
			t.Fatalf("%+v, %v", c, err)
		}
	})
	t.Run("26.1 use entity: LpVec3 quantization", func(t *testing.T) {
		u, err := DecodeUseEntity(ptHex(t, "2a 00 5355eaa8eaaa 00"), 775)
		if err != nil {
			t.Fatal(err)
		}
		const tol = 2.0 * 3 / 32766 // one quantization step at scale 3
		if math.Abs(float64(u.X)-0.5) > tol || math.Abs(float64(u.Y)+0.25) > tol || math.Abs(float64(u.Z)-2.5) > tol {
			t.Fatalf("got %+v", u)
		}
		if enc := u.AppendData(nil, 775); !bytes.Equal(enc, ptHex(t, "2a 00 5355eaa8eaaa 00")) {
			t.Fatalf("re-encoded % x", enc)
		}
	})
	t.Run("1.8 block place: item between face and cursor", func(t *testing.T) {
		body := ptHex(t, "0000004008000003 ff 0001 01 0000 00 08 0f 00")
		p, err := DecodeBlockPlace(body, 47)
		if err != nil {
			t.Fatal(err)
		}
		want := ItemStack{Present: true, ID: 1, Count: 1, Raw: ptHex(t, "0001 01 0000 00")}
		if p.Face != 255 || !reflect.DeepEqual(p.Item, want) || p.CursorX != 0.5 || p.CursorY != 0.9375 || p.CursorZ != 0 {
			t.Fatalf("got %+v", p)
		}
		empty, err := DecodeBlockPlace(ptHex(t, "0000004008000003 ff ffff 00 00 00"), 47)
		if err != nil || empty.Item.Present {
			t.Fatalf("empty hand: %+v, %v", empty, err)
		}
	})
	t.Run("1.13.1 edit book: item, signing, hand", func(t *testing.T) {
		e, err := DecodeEditBook(ptHex(t, "0182 01 00 01 01"), 401)
		if err != nil {
			t.Fatal(err)
		}
		if e.Item.ID != 386 || e.Item.Count != 1 || !e.Signing || e.Hand != HandOff {
			t.Fatalf("got %+v", e)
		}
		e, err = DecodeEditBook(ptHex(t, "0182 01 00 00"), 393)
		if err != nil || e.Item.ID != 386 || e.Signing {
			t.Fatalf("1.13: %+v, %v", e, err)
		}
	})
	t.Run("window click headers", func(t *testing.T) {
		c, err := DecodeWindowClick(ptHex(t, "00 0024 00 0001 00 ffff"), 47)
		if err != nil || c.Slot != 36 || c.Action != 1 || c.Item.Present {
			t.Fatalf("1.8: %+v, %v", c, err)
		}
		c, err = DecodeWindowClick(ptHex(t, "01 05 000a 00 00 00 00"), 756)
		if err != nil || c.WindowID != 1 || c.StateID != 5 || c.Slot != 10 || !bytes.Equal(c.Rest, []byte{0, 0}) {
			t.Fatalf("1.17.1: %+v, %v", c, err)
		}
		c, err = DecodeWindowClick(ptHex(t, "ac02 05 000a 00 00 00 00"), 768)
		if err != nil || c.WindowID != 300 {
			t.Fatalf("1.21.2: %+v, %v", c, err)
		}
	})
	t.Run("creative slot item headers", func(t *testing.T) {
		for _, c := range []struct {
			protocol int32
			hex      string
			want     ItemStack
		}{
			{47, "0024 0001 40 0000 00", ItemStack{Present: true, ID: 1, Count: 64}},
			{47, "0024 ffff", ItemStack{}},
			{404, "0024 01 01 40 00", ItemStack{Present: true, ID: 1, Count: 64}},
			{404, "0024 00", ItemStack{}},
			{766, "0024 01 8002 00 00", ItemStack{Present: true, ID: 256, Count: 1}},
			{770, "0024 00", ItemStack{}},
		} {
			body := ptHex(t, c.hex)
			got, err := DecodeCreativeSlot(body, c.protocol)
			c.want.Raw = body[2:]
			if err != nil || got.Slot != 36 || !reflect.DeepEqual(got.Item, c.want) {
				t.Errorf("@%d %s: %+v, %v", c.protocol, c.hex, got, err)
			}
		}
	})
	t.Run("entity destroy ids", func(t *testing.T) {
		d, err := DecodeEntityDestroy(ptHex(t, "03 01 ac02 ffffffff0f"), 754)
		if err != nil {
			t.Fatal(err)
		}
		if ids := d.AppendIDs(nil); !reflect.DeepEqual(ids, []int32{1, 300, -1}) {
			t.Fatalf("ids %v", ids)
		}
	})
}

func TestPlayEntityActionNormalized(t *testing.T) {
	cases := []struct {
		protocol, action, want int32
	}{
		{47, 0, ActionStartSneaking},
		{47, 6, ActionOpenInventory},
		{47, 7, ActionUnknown},
		{340, 8, ActionStartFallFlying},
		{770, 1, ActionStopSneaking},
		{771, 0, ActionLeaveBed},
		{771, 1, ActionStartSprinting},
		{771, 6, ActionStartFallFlying},
		{771, 7, ActionUnknown},
		{771, -1, ActionUnknown},
	}
	for _, c := range cases {
		if got := (EntityAction{Action: c.action}).Normalized(c.protocol); got != c.want {
			t.Errorf("action %d @%d = %d, want %d", c.action, c.protocol, got, c.want)
		}
	}
}

func TestPlayAngles(t *testing.T) {
	for a := -128; a < 128; a++ {
		if got := AngleByte(AngleDegrees(int8(a))); got != int8(a) {
			t.Fatalf("angle byte %d round-trips to %d", a, got)
		}
	}
	cases := []struct {
		deg  float32
		want int8
	}{{0, 0}, {90, 64}, {-90, -64}, {180, -128}, {360, 0}, {450, 64}, {1, 1}}
	for _, c := range cases {
		if got := AngleByte(c.deg); got != c.want {
			t.Errorf("AngleByte(%v) = %d, want %d", c.deg, got, c.want)
		}
	}
}

func TestPlayRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	str := func(s string) []byte { return mcproto.AppendString(nil, s) }
	cases := []struct {
		name     string
		protocol int32
		body     []byte
		decode   playDecoder
		want     error
	}{
		{"use entity type 3", 340, []byte{1, 3}, asPlayDecoder(DecodeUseEntity), ErrBadField},
		{"use entity negative type", 340, []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}, asPlayDecoder(DecodeUseEntity), ErrBadField},
		{"position trailing byte", 47, make([]byte, 26), asPlayDecoder(DecodePlayerPosition), mcproto.ErrTrailingBytes},
		{"position short", 47, make([]byte, 24), asPlayDecoder(DecodePlayerPosition), mcproto.ErrShort},
		{"on-ground bool 2 before 1.21.2", 767, []byte{2}, asPlayDecoder(DecodePlayerOnGround), nil},
		{"chat of 101 chars on 1.10", 210, str(long(101)), asPlayDecoder(DecodeChat), mcproto.ErrStringTooLong},
		{"chat of 257 chars on 1.12.2", 340, str(long(257)), asPlayDecoder(DecodeChat), mcproto.ErrStringTooLong},
		{"chat negative length", 340, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, asPlayDecoder(DecodeChat), mcproto.ErrNegativeLength},
		{"plugin channel of 21 chars on 1.12.2", 340, str(long(21)), asPlayDecoder(DecodePluginMessage), mcproto.ErrStringTooLong},
		{"plugin data over 32767", 393, append(str("a:b"), make([]byte, MaxPluginDataServerbound+1)...),
			asPlayDecoder(DecodePluginMessage), mcproto.ErrArrayTooLong},
		{"locale of 17 chars", 340, append(str(long(17)), 8, 0, 0, 0x7f, 1), asPlayDecoder(DecodeClientSettings), mcproto.ErrStringTooLong},
		{"book of 201 pages", 756, append([]byte{0, 0xc9, 0x01}, make([]byte, 202)...), asPlayDecoder(DecodeEditBook), mcproto.ErrArrayTooLong},
		{"book page of 8193 chars", 756, append(append([]byte{0, 1}, str(long(8193))...), 0), asPlayDecoder(DecodeEditBook), mcproto.ErrStringTooLong},
		{"book title of 129 chars", 756, append([]byte{0, 0, 1}, str(long(129))...), asPlayDecoder(DecodeEditBook), mcproto.ErrStringTooLong},
		{"book pages claimed beyond body", 756, []byte{0, 100, 1, 'a'}, asPlayDecoder(DecodeEditBook), mcproto.ErrShort},
		{"sign line of 385 chars", 340, append(make([]byte, 8), str(long(385))...), asPlayDecoder(DecodeUpdateSign), mcproto.ErrStringTooLong},
		{"nine argument signatures", 761, append(append(str("tp"), make([]byte, 16)...), 9), asPlayDecoder(DecodeChatCommand), mcproto.ErrArrayTooLong},
		{"six last-seen entries on 1.19.2", 760, append(append(str("hi"), make([]byte, 16)...), 0, 0, 6), asPlayDecoder(DecodeChat), mcproto.ErrArrayTooLong},
		{"signature over 256 bytes on 1.19", 759, append(append(str("hi"), make([]byte, 16)...), 0x81, 0x02), asPlayDecoder(DecodeChat), mcproto.ErrArrayTooLong},
		{"entity destroy count beyond body", 754, []byte{0xff, 0xff, 0x03, 1}, asPlayDecoder(DecodeEntityDestroy), mcproto.ErrShort},
		{"entity destroy negative count", 754, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, asPlayDecoder(DecodeEntityDestroy), mcproto.ErrNegativeLength},
		{"join game world names beyond body", 766, []byte{0, 0, 0, 1, 0, 0x7f}, asPlayDecoder(DecodeJoinGame), mcproto.ErrShort},
		{"respawn 1.16.2 too short for its tail", 751, []byte{0, 1, 2, 3, 4}, asPlayDecoder(DecodeRespawn), mcproto.ErrShort},
		{"empty NBT disconnect", 765, nil, asPlayDecoder(DecodePlayDisconnect), mcproto.ErrShort},
		{"click tail missing on 1.17", 755, []byte{1, 0, 1, 0, 0}, asPlayDecoder(DecodeWindowClick), mcproto.ErrShort},
		{"creative slot with no item", 340, []byte{0, 1}, asPlayDecoder(DecodeCreativeSlot), mcproto.ErrShort},
		{"tick end with data", 768, []byte{0}, asPlayDecoder(DecodeTickEnd), mcproto.ErrTrailingBytes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.decode(c.body, c.protocol)
			switch {
			case c.want == nil && err == nil:
				t.Fatal("accepted")
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestPlayCreativeItemCap(t *testing.T) {
	body := make([]byte, 2+maxItemBytes+1)
	if _, err := DecodeCreativeSlot(body, 766); !errors.Is(err, mcproto.ErrArrayTooLong) {
		t.Fatalf("err = %v, want ErrArrayTooLong", err)
	}
}

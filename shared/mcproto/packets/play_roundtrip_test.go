package packets

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// playPacket is what every play packet type offers.
type playPacket interface {
	AppendData(dst []byte, protocol int32) []byte
}

// playDecoder adapts a typed Decode function.
type playDecoder func(body []byte, protocol int32) (playPacket, error)

func asPlayDecoder[T playPacket](f func([]byte, int32) (T, error)) playDecoder {
	return func(b []byte, p int32) (playPacket, error) {
		v, err := f(b, p)
		return v, err
	}
}

// playTestProtocols is every protocol a play layout changes at, which
// includes the representative set the brief asks for (47, 107, 340, 393,
// 754, 759, 761, 764–769, 772, 774, 775).
var playTestProtocols = []int32{
	47, 107, 210, 315, 340, 393, 401, 404, 477, 573, 735, 736, 751, 754,
	755, 756, 757, 758, 759, 760, 761, 762, 763, 764, 765, 766, 767, 768,
	769, 770, 771, 772, 773, 774, 775,
}

// ptItem builds a raw item slot by hand from protocol.json's slot layout
// (no NBT / no components) and the ItemStack a decoder must report.
func ptItem(p int32, id, count int32) ItemStack {
	var raw []byte
	switch {
	case p >= 766: // Slot: VarInt count, VarInt id, VarInt added, VarInt removed
		raw = mcproto.AppendVarInt(raw, count)
		raw = mcproto.AppendVarInt(raw, id)
		raw = append(raw, 0, 0)
	case p >= 404: // present bool, VarInt id, i8 count, NBT end tag
		raw = append(raw, 1)
		raw = mcproto.AppendVarInt(raw, id)
		raw = append(raw, byte(count), 0)
	case p >= 393: // i16 id, i8 count, NBT end tag
		raw = append(raw, byte(id>>8), byte(id), byte(count), 0)
	default: // i16 id, i8 count, i16 damage, NBT end tag
		raw = append(raw, byte(id>>8), byte(id), byte(count), 0, 3, 0)
	}
	return ItemStack{Present: true, ID: id, Count: count, Raw: raw}
}

type playRTCase struct {
	name     string
	from, to int32 // protocols where the packet exists; to 0 = still exists
	value    func(p int32) playPacket
	decode   playDecoder
}

func ptPick[T any](p, at int32, before, since T) T {
	if p >= at {
		return since
	}
	return before
}

func ptMoveFlags(p int32) uint8 {
	if p >= 768 {
		return MoveOnGround | MoveHorizontalCollision
	}
	return MoveOnGround
}

func ptSig256(b byte) []byte { return bytes.Repeat([]byte{b}, 256) }

func playRoundTripCases() []playRTCase {
	return []playRTCase{
		{name: "player position", from: 47, decode: asPlayDecoder(DecodePlayerPosition),
			value: func(p int32) playPacket {
				return PlayerPosition{X: 1.5, Y: 64, Z: -3.25, Flags: ptMoveFlags(p)}
			}},
		{name: "player position look", from: 47, decode: asPlayDecoder(DecodePlayerPositionLook),
			value: func(p int32) playPacket {
				return PlayerPositionLook{X: -1e6, Y: 70.5, Z: 2, Yaw: 359.5, Pitch: -90, Flags: ptMoveFlags(p)}
			}},
		{name: "player look", from: 47, decode: asPlayDecoder(DecodePlayerLook),
			value: func(p int32) playPacket { return PlayerLook{Yaw: -12.5, Pitch: 45, Flags: ptMoveFlags(p)} }},
		{name: "player on ground", from: 47, decode: asPlayDecoder(DecodePlayerOnGround),
			value: func(p int32) playPacket { return PlayerOnGround{Flags: ptMoveFlags(p)} }},
		{name: "vehicle move", from: 107, decode: asPlayDecoder(DecodeVehicleMove),
			value: func(p int32) playPacket {
				return VehicleMove{X: 10, Y: 62.5, Z: -10, Yaw: 90, Pitch: 1, OnGround: p >= 769}
			}},
		{name: "tick end", from: 768, decode: asPlayDecoder(DecodeTickEnd),
			value: func(int32) playPacket { return TickEnd{} }},
		{name: "teleport confirm", from: 107, decode: asPlayDecoder(DecodeTeleportConfirm),
			value: func(int32) playPacket { return TeleportConfirm{TeleportID: 300} }},
		{name: "keep alive", from: 47, decode: asPlayDecoder(DecodeKeepAlive),
			value: func(p int32) playPacket { return KeepAlive{ID: ptPick[int64](p, 340, 123456, -1<<40)} }},
		{name: "ping", from: 755, decode: asPlayDecoder(DecodePing),
			value: func(int32) playPacket { return Ping{ID: -7} }},
		{name: "pong", from: 755, decode: asPlayDecoder(DecodePong),
			value: func(int32) playPacket { return Pong{ID: 1 << 30} }},
		{name: "transaction", from: 47, to: 754, decode: asPlayDecoder(DecodeTransaction),
			value: func(int32) playPacket { return Transaction{WindowID: 0, Action: -32000, Accepted: true} }},
		{name: "chat", from: 47, decode: asPlayDecoder(DecodeChat),
			value: func(p int32) playPacket {
				c := Chat{Message: []byte("hello é 🙂")}
				if p >= 759 {
					c.Timestamp, c.Salt = 1700000000000, -42
				}
				switch {
				case p >= 761:
					c.Signature = ptSig256(7)
					c.LastSeen = LastSeen{Offset: 3, Acknowledged: [3]byte{0xff, 0x0f, 0x01}}
					if p >= 770 {
						c.LastSeen.Checksum = 0x9c
					}
				case p >= 759:
					c.Signature = []byte{1, 2, 3}
					c.SignedPreview = true
					if p >= 760 {
						// one entry (uuid, 2-byte signature), no last received
						raw := append([]byte{1}, bytes.Repeat([]byte{0xaa}, 16)...)
						c.LastSeen.Raw = append(raw, 2, 9, 9, 0)
					}
				}
				return c
			}},
		{name: "chat command", from: 759, decode: asPlayDecoder(DecodeChatCommand),
			value: func(p int32) playPacket {
				c := ChatCommand{Command: []byte("tp @s ~ ~10 ~")}
				if p >= 766 {
					return c
				}
				c.Timestamp, c.Salt = 99, 100
				if p >= 761 {
					c.ArgCount, c.ArgSignatures = 1, append([]byte{3, 'm', 's', 'g'}, ptSig256(5)...)
					c.LastSeen = LastSeen{Offset: 1, Acknowledged: [3]byte{1, 2, 3}}
				} else {
					c.ArgCount, c.ArgSignatures = 1, []byte{3, 'm', 's', 'g', 2, 8, 8}
					c.SignedPreview = true
					if p >= 760 {
						c.LastSeen.Raw = []byte{0, 0} // no entries, no last received
					}
				}
				return c
			}},
		{name: "chat command signed", from: 766, decode: asPlayDecoder(DecodeChatCommandSigned),
			value: func(p int32) playPacket {
				c := ChatCommandSigned{Command: []byte("msg Bob hi"), Timestamp: 5, Salt: 6,
					ArgCount: 1, ArgSignatures: append([]byte{7, 'm', 'e', 's', 's', 'a', 'g', 'e'}, ptSig256(1)...),
					LastSeen: LastSeen{Offset: 2, Acknowledged: [3]byte{0, 0, 0x0f}}}
				if p >= 770 {
					c.LastSeen.Checksum = 1
				}
				return c
			}},
		{name: "tab complete", from: 47, decode: asPlayDecoder(DecodeTabComplete),
			value: func(p int32) playPacket {
				if p >= 393 {
					return TabComplete{TransactionID: 12, Text: []byte("/gamemode cr")}
				}
				return TabComplete{Text: []byte("/tp Not"), AssumeCommand: p >= 107, HasBlock: true,
					Block: mcproto.Position{X: -100, Y: 64, Z: 200}}
			}},
		{name: "use entity attack", from: 47, to: 774, decode: asPlayDecoder(DecodeUseEntity),
			value: func(p int32) playPacket {
				return UseEntity{Target: 42, Type: InteractAttack, Sneaking: p >= 735}
			}},
		{name: "use entity interact at", from: 47, decode: asPlayDecoder(DecodeUseEntity),
			value: func(p int32) playPacket {
				u := UseEntity{Target: 7, Type: InteractAt, X: 0.5, Y: 1, Z: -0.25}
				if p >= 107 {
					u.Hand = HandOff
				}
				u.Sneaking = p >= 735
				if p >= 775 { // values an LpVec3 of scale 1 represents exactly
					u.X, u.Y, u.Z = 1, 0, -1
				}
				return u
			}},
		{name: "attack", from: 775, decode: asPlayDecoder(DecodeAttack),
			value: func(int32) playPacket { return Attack{EntityID: 99} }},
		{name: "arm animation", from: 47, decode: asPlayDecoder(DecodeArmAnimation),
			value: func(p int32) playPacket { return ArmAnimation{Hand: ptPick[int32](p, 107, 0, HandOff)} }},
		{name: "held item slot", from: 47, decode: asPlayDecoder(DecodeHeldItemSlot),
			value: func(int32) playPacket { return HeldItemSlot{Slot: 8} }},
		{name: "entity action", from: 47, decode: asPlayDecoder(DecodeEntityAction),
			value: func(int32) playPacket { return EntityAction{EntityID: 5, Action: 3, JumpBoost: 90} }},
		{name: "abilities", from: 47, decode: asPlayDecoder(DecodeAbilities),
			value: func(p int32) playPacket {
				a := Abilities{Flags: AbilityFlying | AbilityAllowFlying}
				if p < 735 {
					a.FlyingSpeed, a.WalkingSpeed = 0.05, 0.1
				}
				return a
			}},
		{name: "client settings", from: 47, decode: asPlayDecoder(DecodeClientSettings),
			value: func(p int32) playPacket {
				s := ClientSettings{Locale: []byte("en_us"), ViewDistance: 12, ChatMode: 1, ChatColors: true, SkinParts: 0x7f}
				if p >= 107 {
					s.MainHand = 1
				}
				s.TextFiltering = p >= 755
				s.ServerListing = p >= 757
				if p >= 768 {
					s.ParticleStatus = 2
				}
				return s
			}},
		{name: "plugin message", from: 47, decode: asPlayDecoder(DecodePluginMessage),
			value: func(p int32) playPacket {
				ch := ptPick(p, 393, "MC|Brand", "minecraft:brand")
				return PluginMessage{Channel: []byte(ch), Data: []byte("\x07vanilla")}
			}},
		{name: "edit book", from: 393, decode: asPlayDecoder(DecodeEditBook),
			value: func(p int32) playPacket {
				if p < 756 {
					e := EditBook{Item: ptItem(p, 386, 1), Signing: true}
					if p >= 401 {
						e.Hand = HandOff
					}
					return e
				}
				return EditBook{Slot: 3, Pages: [][]byte{[]byte("page one"), []byte("two")}, HasTitle: true, Title: []byte("Title")}
			}},
		{name: "update sign", from: 47, decode: asPlayDecoder(DecodeUpdateSign),
			value: func(p int32) playPacket {
				s := UpdateSign{Location: mcproto.Position{X: 1, Y: -64, Z: -1}, FrontText: p >= 763}
				s.Lines = [4][]byte{[]byte("a"), []byte("bb"), []byte("ccc"), []byte("\"dddd\"")}
				return s
			}},
		{name: "creative slot", from: 47, decode: asPlayDecoder(DecodeCreativeSlot),
			value: func(p int32) playPacket { return CreativeSlot{Slot: 36, Item: ptItem(p, 1, 64)} }},
		{name: "window click", from: 47, decode: asPlayDecoder(DecodeWindowClick),
			value: func(p int32) playPacket {
				c := WindowClick{WindowID: 1, Slot: 10, Button: 1, Mode: 2}
				if p < 755 {
					c.Action, c.Item = 77, ptItem(p, 5, 3)
				} else {
					c.Rest = []byte{0, 0} // no changed slots, empty cursor
				}
				if p >= 756 {
					c.StateID = 1000
				}
				if p >= 768 {
					c.WindowID = 300 // VarInt window ids since 1.21.2
				}
				return c
			}},
		{name: "close window", from: 47, decode: asPlayDecoder(DecodeCloseWindow),
			value: func(p int32) playPacket { return CloseWindow{WindowID: ptPick[int32](p, 768, 200, 1000)} }},
		{name: "name item", from: mcproto.Protocol1_13, decode: asPlayDecoder(DecodeNameItem),
			value: func(int32) playPacket { return NameItem{Name: []byte("Épée ✦ du ${roi}")} }},
		{name: "block dig", from: 47, decode: asPlayDecoder(DecodeBlockDig),
			value: func(p int32) playPacket {
				d := BlockDig{Status: 2, Location: mcproto.Position{X: 30000000 - 1, Y: -64, Z: -5}, Face: 1}
				if p >= 759 {
					d.Sequence = 17
				}
				return d
			}},
		{name: "block place", from: 47, decode: asPlayDecoder(DecodeBlockPlace),
			value: func(p int32) playPacket {
				b := BlockPlace{Location: mcproto.Position{X: 5, Y: 60, Z: 6}, Face: 1, CursorX: 0.5, CursorY: 0.9375, CursorZ: 0}
				switch {
				case p < 107:
					b.Item = ptItem(p, 4, 1)
				default:
					b.Hand = HandOff
				}
				if p >= 315 {
					b.CursorY = 0.123
				}
				b.InsideBlock = p >= 477
				b.WorldBorderHit = p >= 768
				if p >= 759 {
					b.Sequence = 9
				}
				return b
			}},
		{name: "use item", from: 107, decode: asPlayDecoder(DecodeUseItem),
			value: func(p int32) playPacket {
				u := UseItem{Hand: HandMain}
				if p >= 759 {
					u.Sequence = 4
				}
				if p >= 767 {
					u.Yaw, u.Pitch = 180, -30
				}
				return u
			}},

		// Clientbound.
		{name: "join game", from: 47, decode: asPlayDecoder(DecodeJoinGame),
			value: func(p int32) playPacket {
				j := JoinGame{EntityID: 1234, Hardcore: true, GameMode: GameModeAdventure, Rest: []byte{1, 2, 3}}
				if p >= 764 {
					var m []byte
					m = append(m, 1)                             // one world name
					m = mcproto.AppendString(m, "minecraft:end") // world name
					m = append(m, 20, 10, 8, 0, 1, 0)            // max players, view, simulation, 3 flags
					if p >= 766 {
						m = append(m, 2) // dimension type id
					} else {
						m = mcproto.AppendString(m, "minecraft:the_end")
					}
					m = mcproto.AppendString(m, "minecraft:the_end")
					m = mcproto.AppendInt64(m, -99)
					j.Middle = m
				}
				return j
			}},
		{name: "respawn", from: 47, decode: asPlayDecoder(DecodeRespawn),
			value: func(p int32) playPacket {
				var m []byte
				switch {
				case p < 477:
					m = []byte{0xff, 0xff, 0xff, 0xff, 2} // nether, normal difficulty
				case p < 573:
					m = []byte{0, 0, 0, 1}
				case p < 735:
					m = []byte{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
				case p < 751 || p >= 759:
					if p >= 766 {
						m = append(m, 0)
					} else {
						m = mcproto.AppendString(m, "minecraft:overworld")
					}
					m = mcproto.AppendString(m, "minecraft:overworld")
					m = mcproto.AppendInt64(m, 1)
				default: // an NBT compound: {"a": byte 1}
					m = []byte{10, 0, 0, 1, 0, 1, 'a', 1, 0}
				}
				rest := []byte{0xff, 0, 0, 1}
				return Respawn{Middle: m, GameMode: GameModeCreative, Rest: rest}
			}},
		{name: "disconnect", from: 47, decode: asPlayDecoder(DecodePlayDisconnect),
			value: func(p int32) playPacket {
				if p >= 765 {
					return PlayDisconnect{Reason: []byte{8, 0, 2, 'h', 'i'}, NBT: true} // TAG_String "hi"
				}
				return PlayDisconnect{Reason: []byte(`{"text":"bye"}`)}
			}},
		{name: "sync player position", from: 47, decode: asPlayDecoder(DecodeSyncPlayerPosition),
			value: func(p int32) playPacket {
				s := SyncPlayerPosition{X: 0.5, Y: 100, Z: -0.5, Yaw: 10, Pitch: 20, Flags: RelYaw | RelPitch}
				if p >= 107 {
					s.TeleportID = 77
				}
				s.Dismount = p >= 755 && p < 762
				if p >= 768 {
					s.VX, s.VY, s.VZ = 0.1, -0.08, 0
					s.Flags |= RelDeltaX | RelRotateDelta
				}
				return s
			}},
		{name: "spawn entity", from: 47, decode: asPlayDecoder(DecodeSpawnEntity),
			value: func(p int32) playPacket {
				s := SpawnEntity{EntityID: 500, Type: 2, X: 10.5, Y: 64, Z: -7.25, Pitch: 45, Yaw: -90, Data: 1,
					VelX: 0.125, VelY: -0.5, VelZ: 0}
				if p >= 107 {
					s.UUID = mcproto.UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
				}
				if p >= 477 {
					s.Type = 300
				}
				if p >= 759 {
					s.HeadYaw = 180 - 1.40625
				}
				if p >= 773 { // an LpVec3 of scale 1 with exact components
					s.VelX, s.VelY, s.VelZ = 1, 0, -1
				}
				return s
			}},
		{name: "spawn entity without velocity", from: 47, to: 47, decode: asPlayDecoder(DecodeSpawnEntity),
			value: func(int32) playPacket { return SpawnEntity{EntityID: 1, Type: 60, X: 1, Y: 2, Z: 3} }},
		{name: "spawn living entity", from: 47, to: 758, decode: asPlayDecoder(DecodeSpawnLivingEntity),
			value: func(p int32) playPacket {
				s := SpawnLivingEntity{EntityID: 9, Type: 54, X: -1, Y: 70, Z: 1, Yaw: 90, Pitch: 0, HeadYaw: 45,
					VelX: 0.01, VelY: 0, VelZ: -0.01}
				if p >= 107 {
					s.UUID = mcproto.UUID{15: 1}
				}
				if p >= 315 {
					s.Type = 200
				}
				if p < 573 {
					s.Metadata = []byte{0, 0, 0, 0xff}
				}
				return s
			}},
		{name: "spawn player", from: 47, to: 763, decode: asPlayDecoder(DecodeSpawnPlayer),
			value: func(p int32) playPacket {
				s := SpawnPlayer{EntityID: 2, UUID: mcproto.UUID{0: 0xab}, X: 100.5, Y: 65, Z: 100.5, Yaw: -45, Pitch: 10 * 1.40625}
				if p < 107 {
					s.CurrentItem = 276
				}
				if p < 573 {
					s.Metadata = []byte{0xff}
				}
				return s
			}},
		{name: "entity rel move", from: 47, decode: asPlayDecoder(DecodeEntityRelMove),
			value: func(p int32) playPacket {
				return EntityRelMove{EntityID: 3, DX: 0.125, DY: -1, DZ: ptPick(p, 107, 3.96875, 7.999755859375), OnGround: true}
			}},
		{name: "entity move look", from: 47, decode: asPlayDecoder(DecodeEntityMoveLook),
			value: func(int32) playPacket {
				return EntityMoveLook{EntityID: 4, DX: -0.5, DY: 0.25, DZ: 0, Yaw: 90, Pitch: -180, OnGround: false}
			}},
		{name: "entity look", from: 47, decode: asPlayDecoder(DecodeEntityLook),
			value: func(int32) playPacket { return EntityLook{EntityID: 5, Yaw: 1.40625, Pitch: -1.40625, OnGround: true} }},
		{name: "entity teleport", from: 47, decode: asPlayDecoder(DecodeEntityTeleport),
			value: func(p int32) playPacket {
				t := EntityTeleport{EntityID: 6, X: 1.03125, Y: -60, Z: 2, Yaw: 45, Pitch: 0, OnGround: true}
				if p >= 768 {
					t.X, t.VX, t.VY, t.VZ, t.Yaw, t.Flags = 1.1, 0.5, 0.25, -0.5, 12.3, RelX|RelDeltaY
				}
				return t
			}},
		{name: "entity position sync", from: 768, decode: asPlayDecoder(DecodeEntityPositionSync),
			value: func(int32) playPacket {
				return EntityPositionSync{EntityID: 8, X: 1, Y: 2, Z: 3, VX: 0.1, VY: 0.2, VZ: 0.3, Yaw: 4.5, Pitch: -5.5, OnGround: true}
			}},
		{name: "entity destroy", from: 47, decode: asPlayDecoder(DecodeEntityDestroy),
			value: func(p int32) playPacket {
				if p == 755 {
					return NewEntityDestroy(300)
				}
				return NewEntityDestroy(1, 300, -1)
			}},
	}
}

// TestPlayRoundTrip encodes each packet for every protocol it exists in,
// decodes it back and compares with the value: a field written for the
// wrong version shifts the layout and fails the comparison.
func TestPlayRoundTrip(t *testing.T) {
	for _, c := range playRoundTripCases() {
		for _, p := range playTestProtocols {
			if p < c.from || c.to != 0 && p > c.to {
				continue
			}
			want := c.value(p)
			body := want.AppendData(nil, p)
			got, err := c.decode(body, p)
			if err != nil {
				t.Errorf("%s @%d: decode: %v (body % x)", c.name, p, err, body)
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s @%d:\n got %+v\nwant %+v", c.name, p, got, want)
				continue
			}
			if again := got.AppendData(nil, p); !bytes.Equal(again, body) {
				t.Errorf("%s @%d: re-encoded % x, first % x", c.name, p, again, body)
			}
			// A trailing byte is a malformed packet (docs/PROTOCOL.md, Framing),
			// except where the packet ends in raw bytes by design.
			if !ptEndsRaw(c.name, p) {
				if _, err := c.decode(append(body[:len(body):len(body)], 0), p); err == nil {
					t.Errorf("%s @%d: trailing byte accepted", c.name, p)
				}
			}
			// Every strict prefix is truncated and must fail.
			for n := 0; n < len(body) && !ptEndsRaw(c.name, p); n++ {
				if _, err := c.decode(body[:n], p); err == nil {
					t.Errorf("%s @%d: prefix of %d/%d bytes accepted", c.name, p, n, len(body))
					break
				}
			}
		}
	}
}

// endsRaw reports packets whose last field is "the rest of the packet", so
// neither an extra byte nor (for most prefixes) a short one is detectable.
func ptEndsRaw(name string, p int32) bool {
	switch name {
	case "plugin message", "creative slot", "join game", "respawn", "disconnect":
		return true
	case "window click":
		return true
	case "spawn living entity":
		return p < 573
	case "spawn player":
		return p < 573
	case "block place":
		return p < 107 // the item is delimited from the end
	case "edit book":
		return p < 756
	}
	return false
}

func TestPlayNotInProtocol(t *testing.T) {
	cases := []struct {
		name     string
		protocol int32
		decode   playDecoder
	}{
		{"transaction on 1.17", 755, asPlayDecoder(DecodeTransaction)},
		{"pong on 1.16.5", 754, asPlayDecoder(DecodePong)},
		{"ping on 1.16.5", 754, asPlayDecoder(DecodePing)},
		{"teleport confirm on 1.8", 47, asPlayDecoder(DecodeTeleportConfirm)},
		{"vehicle move on 1.8", 47, asPlayDecoder(DecodeVehicleMove)},
		{"tick end on 1.21.1", 767, asPlayDecoder(DecodeTickEnd)},
		{"chat command on 1.18.2", 758, asPlayDecoder(DecodeChatCommand)},
		{"signed command on 1.20.4", 765, asPlayDecoder(DecodeChatCommandSigned)},
		{"edit book on 1.12.2", 340, asPlayDecoder(DecodeEditBook)},
		{"use item on 1.8", 47, asPlayDecoder(DecodeUseItem)},
		{"attack on 1.21.11", 774, asPlayDecoder(DecodeAttack)},
		{"spawn living on 1.19", 759, asPlayDecoder(DecodeSpawnLivingEntity)},
		{"spawn player on 1.20.2", 764, asPlayDecoder(DecodeSpawnPlayer)},
		{"position sync on 1.21.1", 767, asPlayDecoder(DecodeEntityPositionSync)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.decode([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0}, c.protocol); !errors.Is(err, ErrNotInProtocol) {
				t.Fatalf("err = %v, want ErrNotInProtocol", err)
			}
		})
	}
}

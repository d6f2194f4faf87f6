package packets

import (
	"fmt"
	"math"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Serverbound interaction: attacking and using entities, swinging, digging,
// placing, using items, and the small state packets (held slot, entity
// action, abilities). Use-entity and arm swing are hot (combat checks read
// every one), so their decoders allocate nothing.

// playProto1_21_6 renumbers entity actions (sneaking moved to player input).
const playProto1_21_6 = 771

// Use-entity types (the "mouse" field of protocol.json's use_entity).
const (
	InteractEntity = 0 // right click on an entity
	InteractAttack = 1 // left click: an attack
	InteractAt     = 2 // right click with the hit point on the entity
)

// Hands, as every hand field encodes them (1.9+).
const (
	HandMain = 0
	HandOff  = 1
)

// UseEntity is "Interact" (use entity). Up to 1.21.11 it is target, type,
// the hit point for InteractAt, the hand (1.9+) for the non-attack types
// and sneaking (1.16+). In 26.1 attacks moved to their own packet (Attack)
// and interact always carries a low-precision hit point, so 26.1 decodes
// as InteractAt.
type UseEntity struct {
	Target   int32
	Type     int32   // InteractEntity, InteractAttack or InteractAt
	X, Y, Z  float32 // hit point relative to the entity, InteractAt only
	Hand     int32   // 1.9+, not for attacks
	Sneaking bool    // 1.16+
}

// DecodeUseEntity decodes the interact packet.
func DecodeUseEntity(body []byte, protocol int32) (UseEntity, error) {
	r := mcproto.NewReader(body)
	u := UseEntity{Target: r.VarInt()}
	if protocol >= playProto26_1 {
		u.Type = InteractAt
		u.Hand = r.VarInt()
		x, y, z := readLpVec3(&r)
		u.X, u.Y, u.Z = float32(x), float32(y), float32(z)
		u.Sneaking = r.Bool()
		if err := finish(&r, "use entity"); err != nil {
			return UseEntity{}, err
		}
		return u, nil
	}
	u.Type = r.VarInt()
	if r.Err() == nil && (u.Type < InteractEntity || u.Type > InteractAt) {
		return UseEntity{}, fmt.Errorf("decode use entity: type %d: %w", u.Type, ErrBadField)
	}
	if u.Type == InteractAt {
		u.X, u.Y, u.Z = r.Float32(), r.Float32(), r.Float32()
	}
	if protocol >= mcproto.Protocol1_9 && u.Type != InteractAttack {
		u.Hand = r.VarInt()
	}
	if protocol >= playProto1_16 {
		u.Sneaking = r.Bool()
	}
	if err := finish(&r, "use entity"); err != nil {
		return UseEntity{}, err
	}
	return u, nil
}

// AppendData appends the packet data. In 26.1 the packet cannot carry an
// attack (use Attack) and the hit point is re-quantized.
func (u UseEntity) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, u.Target)
	if protocol >= playProto26_1 {
		dst = mcproto.AppendVarInt(dst, u.Hand)
		dst = appendLpVec3(dst, float64(u.X), float64(u.Y), float64(u.Z))
		return mcproto.AppendBool(dst, u.Sneaking)
	}
	dst = mcproto.AppendVarInt(dst, u.Type)
	if u.Type == InteractAt {
		dst = mcproto.AppendFloat32(dst, u.X)
		dst = mcproto.AppendFloat32(dst, u.Y)
		dst = mcproto.AppendFloat32(dst, u.Z)
	}
	if protocol >= mcproto.Protocol1_9 && u.Type != InteractAttack {
		dst = mcproto.AppendVarInt(dst, u.Hand)
	}
	if protocol >= playProto1_16 {
		dst = mcproto.AppendBool(dst, u.Sneaking)
	}
	return dst
}

// Attack is 26.1's "Attack" packet: the attacked entity id alone.
type Attack struct {
	EntityID int32
}

// UseEntity returns the attack as the InteractAttack form older versions
// send, so checks can treat every version alike.
func (a Attack) UseEntity() UseEntity {
	return UseEntity{Target: a.EntityID, Type: InteractAttack}
}

// DecodeAttack decodes the 26.1 attack packet.
func DecodeAttack(body []byte, protocol int32) (Attack, error) {
	if protocol < playProto26_1 {
		return Attack{}, notIn("attack", protocol)
	}
	r := mcproto.NewReader(body)
	a := Attack{EntityID: r.VarInt()}
	if err := finish(&r, "attack"); err != nil {
		return Attack{}, err
	}
	return a, nil
}

// AppendData appends the packet data.
func (a Attack) AppendData(dst []byte, _ int32) []byte {
	return mcproto.AppendVarInt(dst, a.EntityID)
}

// ArmAnimation is "Swing Arm": empty in 1.8, the hand since 1.9.
type ArmAnimation struct {
	Hand int32
}

// DecodeArmAnimation decodes the swing.
func DecodeArmAnimation(body []byte, protocol int32) (ArmAnimation, error) {
	r := mcproto.NewReader(body)
	var a ArmAnimation
	if protocol >= mcproto.Protocol1_9 {
		a.Hand = r.VarInt()
	}
	if err := finish(&r, "arm animation"); err != nil {
		return ArmAnimation{}, err
	}
	return a, nil
}

// AppendData appends the packet data.
func (a ArmAnimation) AppendData(dst []byte, protocol int32) []byte {
	if protocol >= mcproto.Protocol1_9 {
		dst = mcproto.AppendVarInt(dst, a.Hand)
	}
	return dst
}

// HeldItemSlot is the serverbound "Set Held Item" (hotbar slot, i16).
type HeldItemSlot struct {
	Slot int16
}

// DecodeHeldItemSlot decodes the slot.
func DecodeHeldItemSlot(body []byte, _ int32) (HeldItemSlot, error) {
	r := mcproto.NewReader(body)
	h := HeldItemSlot{Slot: r.Int16()}
	if err := finish(&r, "held item slot"); err != nil {
		return HeldItemSlot{}, err
	}
	return h, nil
}

// AppendData appends the packet data.
func (h HeldItemSlot) AppendData(dst []byte, _ int32) []byte { return appendInt16(dst, h.Slot) }

// Entity actions in the 1.9–1.21.5 numbering, which Normalized maps every
// version onto.
const (
	ActionStartSneaking   = 0
	ActionStopSneaking    = 1
	ActionLeaveBed        = 2
	ActionStartSprinting  = 3
	ActionStopSprinting   = 4
	ActionStartHorseJump  = 5
	ActionStopHorseJump   = 6
	ActionOpenInventory   = 7
	ActionStartFallFlying = 8
	ActionUnknown         = -1
)

// EntityAction is "Player Command": entity id, action, jump boost. The
// action numbering differs by version; see Normalized.
type EntityAction struct {
	EntityID  int32
	Action    int32 // as on the wire
	JumpBoost int32 // 0–100 for a horse jump
}

// Normalized maps Action to the 1.9–1.21.5 numbering (the Action*
// constants), or ActionUnknown. 1.8 has no stop-jump or fall-flying, so its
// open-inventory is 6; 1.21.6 removed the two sneaking actions (sneaking is
// part of player input since) and shifted the rest down by two.
func (e EntityAction) Normalized(protocol int32) int32 {
	a := e.Action
	switch {
	case protocol < mcproto.Protocol1_9:
		if a == 6 {
			return ActionOpenInventory
		}
		if a < 0 || a > ActionStartHorseJump {
			return ActionUnknown
		}
	case protocol >= playProto1_21_6:
		a += 2
		if a < ActionLeaveBed || a > ActionStartFallFlying {
			return ActionUnknown
		}
	default:
		if a < 0 || a > ActionStartFallFlying {
			return ActionUnknown
		}
	}
	return a
}

// DecodeEntityAction decodes the three VarInts.
func DecodeEntityAction(body []byte, _ int32) (EntityAction, error) {
	r := mcproto.NewReader(body)
	e := EntityAction{EntityID: r.VarInt(), Action: r.VarInt(), JumpBoost: r.VarInt()}
	if err := finish(&r, "entity action"); err != nil {
		return EntityAction{}, err
	}
	return e, nil
}

// AppendData appends the packet data.
func (e EntityAction) AppendData(dst []byte, _ int32) []byte {
	dst = mcproto.AppendVarInt(dst, e.EntityID)
	dst = mcproto.AppendVarInt(dst, e.Action)
	return mcproto.AppendVarInt(dst, e.JumpBoost)
}

// Ability flag bits of the serverbound abilities packet. Since 1.16 the
// client sends only AbilityFlying; earlier clients echo all four.
const (
	AbilityInvulnerable int8 = 0x01
	AbilityFlying       int8 = 0x02
	AbilityAllowFlying  int8 = 0x04
	AbilityCreative     int8 = 0x08
)

// Abilities is the serverbound "Player Abilities": flags, and up to 1.15.2
// the flying and walking speeds (which vanilla servers ignore).
type Abilities struct {
	Flags        int8
	FlyingSpeed  float32 // before 1.16
	WalkingSpeed float32 // before 1.16
}

// Flying reports whether the client says it is flying.
func (a Abilities) Flying() bool { return a.Flags&AbilityFlying != 0 }

// DecodeAbilities decodes the abilities.
func DecodeAbilities(body []byte, protocol int32) (Abilities, error) {
	r := mcproto.NewReader(body)
	a := Abilities{Flags: r.Int8()}
	if protocol < playProto1_16 {
		a.FlyingSpeed, a.WalkingSpeed = r.Float32(), r.Float32()
	}
	if err := finish(&r, "abilities"); err != nil {
		return Abilities{}, err
	}
	return a, nil
}

// AppendData appends the packet data.
func (a Abilities) AppendData(dst []byte, protocol int32) []byte {
	dst = appendInt8(dst, a.Flags)
	if protocol < playProto1_16 {
		dst = mcproto.AppendFloat32(dst, a.FlyingSpeed)
		dst = mcproto.AppendFloat32(dst, a.WalkingSpeed)
	}
	return dst
}

// BlockDig is "Player Action" (digging, dropping items, swapping hands):
// status, block position, face, and since 1.19 the block-change sequence.
type BlockDig struct {
	Status   int32
	Location mcproto.Position
	Face     int8
	Sequence int32 // 1.19+
}

// DecodeBlockDig decodes the player action.
func DecodeBlockDig(body []byte, protocol int32) (BlockDig, error) {
	r := mcproto.NewReader(body)
	d := BlockDig{Status: r.VarInt(), Location: r.Position(protocol), Face: r.Int8()}
	if protocol >= mcproto.Protocol1_19 {
		d.Sequence = r.VarInt()
	}
	if err := finish(&r, "block dig"); err != nil {
		return BlockDig{}, err
	}
	return d, nil
}

// AppendData appends the packet data.
func (d BlockDig) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, d.Status)
	dst = appendPosition(dst, d.Location, protocol)
	dst = appendInt8(dst, d.Face)
	if protocol >= mcproto.Protocol1_19 {
		dst = mcproto.AppendVarInt(dst, d.Sequence)
	}
	return dst
}

// cursorByteScale converts the 1.8–1.10 one-byte cursor (sixteenths of a
// block) to the float the later versions send.
const cursorByteScale = 16

// blockPlaceTrailer8 is the three cursor bytes after 1.8's item slot.
const blockPlaceTrailer8 = 3

// BlockPlace is "Use Item On" (block placement). Layouts:
//
//	1.8          position, face u8, held item slot, cursor u8×3
//	1.9–1.10     position, face VarInt, hand, cursor u8×3
//	1.11–1.13.2  position, face VarInt, hand, cursor f32×3
//	1.14+        hand, position, face, cursor f32×3, inside block,
//	             [world border hit 1.21.2+], [sequence 1.19+]
//
// Cursor values are fractions of a block in every version.
type BlockPlace struct {
	Hand                      int32 // 1.9+
	Location                  mcproto.Position
	Face                      int32 // 0–5; 1.8 sends 255 to mean "use the held item"
	CursorX, CursorY, CursorZ float32
	InsideBlock               bool      // 1.14+
	WorldBorderHit            bool      // 1.21.2+
	Sequence                  int32     // 1.19+
	Item                      ItemStack // 1.8 only
}

func readCursorByte(r *mcproto.Reader) float32 { return float32(r.Byte()) / cursorByteScale }

func appendCursorByte(b []byte, v float32) []byte {
	return append(b, byte(int64(math.Round(float64(v)*cursorByteScale))))
}

// DecodeBlockPlace decodes the placement.
func DecodeBlockPlace(body []byte, protocol int32) (BlockPlace, error) {
	r := mcproto.NewReader(body)
	var p BlockPlace
	switch {
	case protocol < mcproto.Protocol1_9:
		p.Location = r.Position(protocol)
		p.Face = int32(r.Byte())
		var trailer []byte
		p.Item, trailer = splitItemTrailer(&r, blockPlaceTrailer8, protocol)
		if trailer != nil {
			p.CursorX = float32(trailer[0]) / cursorByteScale
			p.CursorY = float32(trailer[1]) / cursorByteScale
			p.CursorZ = float32(trailer[2]) / cursorByteScale
		}
	case protocol < playProto1_14:
		p.Location = r.Position(protocol)
		p.Face = r.VarInt()
		p.Hand = r.VarInt()
		if protocol < playProto1_11 {
			p.CursorX, p.CursorY, p.CursorZ = readCursorByte(&r), readCursorByte(&r), readCursorByte(&r)
		} else {
			p.CursorX, p.CursorY, p.CursorZ = r.Float32(), r.Float32(), r.Float32()
		}
	default:
		p.Hand = r.VarInt()
		p.Location = r.Position(protocol)
		p.Face = r.VarInt()
		p.CursorX, p.CursorY, p.CursorZ = r.Float32(), r.Float32(), r.Float32()
		p.InsideBlock = r.Bool()
		if protocol >= mcproto.Protocol1_21_2 {
			p.WorldBorderHit = r.Bool()
		}
		if protocol >= mcproto.Protocol1_19 {
			p.Sequence = r.VarInt()
		}
	}
	if err := finish(&r, "block place"); err != nil {
		return BlockPlace{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p BlockPlace) AppendData(dst []byte, protocol int32) []byte {
	switch {
	case protocol < mcproto.Protocol1_9:
		dst = appendPosition(dst, p.Location, protocol)
		dst = append(dst, byte(p.Face))
		dst = append(dst, p.Item.Raw...)
		dst = appendCursorByte(dst, p.CursorX)
		dst = appendCursorByte(dst, p.CursorY)
		return appendCursorByte(dst, p.CursorZ)
	case protocol < playProto1_14:
		dst = appendPosition(dst, p.Location, protocol)
		dst = mcproto.AppendVarInt(dst, p.Face)
		dst = mcproto.AppendVarInt(dst, p.Hand)
		if protocol < playProto1_11 {
			dst = appendCursorByte(dst, p.CursorX)
			dst = appendCursorByte(dst, p.CursorY)
			return appendCursorByte(dst, p.CursorZ)
		}
		dst = mcproto.AppendFloat32(dst, p.CursorX)
		dst = mcproto.AppendFloat32(dst, p.CursorY)
		return mcproto.AppendFloat32(dst, p.CursorZ)
	}
	dst = mcproto.AppendVarInt(dst, p.Hand)
	dst = appendPosition(dst, p.Location, protocol)
	dst = mcproto.AppendVarInt(dst, p.Face)
	dst = mcproto.AppendFloat32(dst, p.CursorX)
	dst = mcproto.AppendFloat32(dst, p.CursorY)
	dst = mcproto.AppendFloat32(dst, p.CursorZ)
	dst = mcproto.AppendBool(dst, p.InsideBlock)
	if protocol >= mcproto.Protocol1_21_2 {
		dst = mcproto.AppendBool(dst, p.WorldBorderHit)
	}
	if protocol >= mcproto.Protocol1_19 {
		dst = mcproto.AppendVarInt(dst, p.Sequence)
	}
	return dst
}

// UseItem is "Use Item" (1.9+): hand, sequence (1.19+), and since 1.21
// the rotation the client had when it used the item.
type UseItem struct {
	Hand       int32
	Sequence   int32   // 1.19+
	Yaw, Pitch float32 // 1.21+
}

// DecodeUseItem decodes the item use.
func DecodeUseItem(body []byte, protocol int32) (UseItem, error) {
	if protocol < mcproto.Protocol1_9 {
		return UseItem{}, notIn("use item", protocol)
	}
	r := mcproto.NewReader(body)
	u := UseItem{Hand: r.VarInt()}
	if protocol >= mcproto.Protocol1_19 {
		u.Sequence = r.VarInt()
	}
	if protocol >= playProto1_21 {
		u.Yaw, u.Pitch = r.Float32(), r.Float32()
	}
	if err := finish(&r, "use item"); err != nil {
		return UseItem{}, err
	}
	return u, nil
}

// AppendData appends the packet data.
func (u UseItem) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendVarInt(dst, u.Hand)
	if protocol >= mcproto.Protocol1_19 {
		dst = mcproto.AppendVarInt(dst, u.Sequence)
	}
	if protocol >= playProto1_21 {
		dst = mcproto.AppendFloat32(dst, u.Yaw)
		dst = mcproto.AppendFloat32(dst, u.Pitch)
	}
	return dst
}

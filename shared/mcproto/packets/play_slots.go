package packets

import (
	"errors"
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// The server's own item packets for the player's windows, read only as far
// as the dig check needs (edge/internal/detect, FastBreak): the item id of a
// slot and whether it carries NBT or data components (which may hold
// enchantments). Nothing here keeps the items.

// PlayerWindow is the player's own inventory window (container id 0).
const PlayerWindow = 0

// maxWindowSlots bounds the slots of a window items packet: the largest
// vanilla window, a double chest with the player's inventory, has 90.
const maxWindowSlots = 128

// ErrSlotsUnreadable means the packet's items cannot be walked without
// decoding data components (1.20.5+ window items): the caller treats every
// slot as unknown.
var ErrSlotsUnreadable = errors.New("window items with data components are not walked")

// SetSlot is "Set Container Slot": one slot of a window.
type SetSlot struct {
	Window int32
	Slot   int16
	Item   ItemStack
}

// DecodeSetSlot decodes set_slot:
//
//	1.8–1.17     i8 window, i16 slot, slot
//	1.17.1–1.21.1 i8 window, VarInt state id, i16 slot, slot (1.20.5 u8 window)
//	1.21.2+      VarInt window, VarInt state id, i16 slot, slot
func DecodeSetSlot(body []byte, protocol int32) (SetSlot, error) {
	r := &mcproto.Reader{}
	r.Reset(body)
	var s SetSlot
	if protocol >= mcproto.Protocol1_21_2 {
		s.Window = r.VarInt()
	} else {
		s.Window = int32(r.Int8())
	}
	if protocol >= mcproto.Protocol1_17_1 {
		r.VarInt()
	}
	s.Slot = r.Int16()
	s.Item = readItemTail(r, protocol)
	if err := r.Err(); err != nil {
		return SetSlot{}, fmt.Errorf("set slot: %w", err)
	}
	return s, nil
}

// DecodeSetPlayerInventory decodes 1.21.2+ set_player_inventory: a slot of
// the player's inventory by inventory index (0–8 the hotbar), and its item.
func DecodeSetPlayerInventory(body []byte, protocol int32) (SetSlot, error) {
	r := &mcproto.Reader{}
	r.Reset(body)
	s := SetSlot{Window: PlayerWindow}
	slot := r.VarInt()
	if slot < 0 || slot > 0x7fff {
		r.Fail(fmt.Errorf("inventory slot %d: %w", slot, mcproto.ErrArrayTooLong))
	}
	s.Slot = int16(slot)
	s.Item = readItemTail(r, protocol)
	if err := r.Err(); err != nil {
		return SetSlot{}, fmt.Errorf("set player inventory: %w", err)
	}
	return s, nil
}

// WindowItems walks window_items before 1.20.5, calling fn for every slot
// with its index; the window id comes first. 1.20.5+ answers
// ErrSlotsUnreadable (walking components needs a decoder per component).
//
//	1.8–1.17      u8 window, i16 count, slots
//	1.17.1–1.20.4 u8 window, VarInt state id, VarInt count, slots, carried
func WindowItems(body []byte, protocol int32, fn func(window int32, slot int, it ItemStack)) error {
	if protocol >= mcproto.Protocol1_20_5 {
		return ErrSlotsUnreadable
	}
	r := &mcproto.Reader{}
	r.Reset(body)
	window := int32(r.Byte())
	var n int32
	if protocol >= mcproto.Protocol1_17_1 {
		r.VarInt()
		n = r.VarInt()
	} else {
		n = int32(r.Int16())
	}
	if !checkCount(r, n, maxWindowSlots, 1) {
		return fmt.Errorf("window items: %w", r.Err())
	}
	for i := range int(n) {
		start := r.Offset()
		it := readItemWalk(r, protocol)
		if r.Err() != nil {
			break
		}
		it.Raw = body[start:r.Offset()]
		fn(window, i, it)
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("window items: %w", err)
	}
	return nil
}

// readItemWalk reads one pre-1.20.5 slot, skipping its NBT, so that the
// next slot can be read.
func readItemWalk(r *mcproto.Reader, protocol int32) ItemStack {
	var it ItemStack
	if protocol >= playProto1_13_2 {
		it.Present = r.Bool()
		if !it.Present {
			return it
		}
		it.ID = r.VarInt()
		it.Count = int32(r.Int8())
	} else {
		id := r.Int16()
		if id < 0 {
			return it
		}
		it.Present, it.ID, it.Count = true, int32(id), int32(r.Int8())
		if protocol < mcproto.Protocol1_13 {
			r.Int16() // damage
		}
	}
	mcproto.SkipNBT(r, protocol)
	return it
}

// ItemPlain reports whether a present item carries no NBT (before 1.20.5)
// and no added or removed data components (1.20.5+): such an item has no
// enchantments. ok is false when the header does not parse.
func ItemPlain(it ItemStack, protocol int32) (plain, ok bool) {
	if !it.Present {
		return true, true
	}
	r := &mcproto.Reader{}
	r.Reset(it.Raw)
	switch {
	case protocol >= mcproto.Protocol1_20_5:
		r.VarInt() // count
		r.VarInt() // id
		added, removed := r.VarInt(), r.VarInt()
		return added == 0 && removed == 0, r.Err() == nil
	case protocol >= playProto1_13_2:
		r.Bool()
		r.VarInt()
		r.Int8()
	default:
		r.Int16()
		r.Int8()
		if protocol < mcproto.Protocol1_13 {
			r.Int16()
		}
	}
	tag := r.Byte()
	return tag == mcproto.TagEnd, r.Err() == nil
}

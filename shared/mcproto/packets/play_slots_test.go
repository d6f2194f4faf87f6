package packets

import (
	"errors"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

var slotTestProtocols = []int32{47, 340, 393, 754, 756, 765, 766, 769}

// testSlot encodes a present item with, when nbt, a compound holding a
// list of compounds (an enchantment list's shape) before 1.20.5, or one
// added component from 1.20.5.
func testSlot(p, id int32, nbt bool) []byte {
	var b []byte
	tail := func(b []byte) []byte {
		if !nbt {
			return append(b, 0)
		}
		b = append(b, 10)
		if p < mcproto.Protocol1_20_2 {
			b = append(b, 0, 0)
		}
		// "e": list of 1 compound {"id": short 32}
		b = append(b, 9, 0, 1, 'e', 10, 0, 0, 0, 1)
		b = append(b, 2, 0, 2, 'i', 'd', 0, 32, 0)
		return append(b, 0)
	}
	switch {
	case p >= mcproto.Protocol1_20_5:
		b = mcproto.AppendVarInt(mcproto.AppendVarInt(b, 1), id)
		if nbt {
			return append(b, 1, 0, 5, 1)
		}
		return append(b, 0, 0)
	case p >= playProto1_13_2:
		return tail(append(mcproto.AppendVarInt(append(b, 1), id), 1))
	default:
		b = append(b, byte(id>>8), byte(id), 1)
		if p < mcproto.Protocol1_13 {
			b = append(b, 0, 0)
		}
		return tail(b)
	}
}

func emptySlot(p int32) []byte {
	switch {
	case p >= mcproto.Protocol1_20_5, p >= playProto1_13_2:
		return []byte{0}
	}
	return []byte{0xff, 0xff}
}

func TestSetSlotAndItemPlain(t *testing.T) {
	for _, p := range slotTestProtocols {
		for _, nbt := range []bool{false, true} {
			var b []byte
			if p >= mcproto.Protocol1_21_2 {
				b = mcproto.AppendVarInt(b, 0)
			} else {
				b = append(b, 0)
			}
			if p >= mcproto.Protocol1_17_1 {
				b = mcproto.AppendVarInt(b, 9)
			}
			b = append(b, 0, 36)
			b = append(b, testSlot(p, 278, nbt)...)
			s, err := DecodeSetSlot(b, p)
			if err != nil || s.Window != 0 || s.Slot != 36 || !s.Item.Present || s.Item.ID != 278 {
				t.Fatalf("%d: %+v %v", p, s, err)
			}
			if plain, ok := ItemPlain(s.Item, p); !ok || plain == nbt {
				t.Errorf("%d nbt=%v: plain %v ok %v", p, nbt, plain, ok)
			}
		}
	}
}

func TestWindowItemsWalksNBT(t *testing.T) {
	for _, p := range slotTestProtocols {
		b := []byte{0}
		if p >= mcproto.Protocol1_17_1 {
			b = mcproto.AppendVarInt(mcproto.AppendVarInt(b, 1), 45)
		} else {
			b = append(b, 0, 45)
		}
		for i := range 45 {
			switch i {
			case 5, 36:
				b = append(b, testSlot(p, int32(270+i), i == 5)...)
			default:
				b = append(b, emptySlot(p)...)
			}
		}
		if p >= mcproto.Protocol1_17_1 {
			b = append(b, emptySlot(p)...)
		}
		got := map[int]int32{}
		err := WindowItems(b, p, func(w int32, i int, it ItemStack) {
			if it.Present {
				got[i] = it.ID
			}
		})
		if p >= mcproto.Protocol1_20_5 {
			if !errors.Is(err, ErrSlotsUnreadable) {
				t.Errorf("%d: %v, want ErrSlotsUnreadable", p, err)
			}
			continue
		}
		if err != nil || got[5] != 275 || got[36] != 306 || len(got) != 2 {
			t.Errorf("%d: %v %v", p, got, err)
		}
	}
}

func TestWindowItemsHostile(t *testing.T) {
	for _, body := range [][]byte{
		{0, 0x7f, 0xff}, // 32767 slots announced
		{0, 0, 1, 1, 0, 1, 0, 0, 10, 0, 0, 9, 0, 0, 10, 0x7f, 0xff, 0xff, 0xff}, // a list of 2^31 compounds
		{0, 0, 1, 1, 0, 1, 0, 0, 10, 0, 0, 99},                                  // unknown tag
	} {
		if err := WindowItems(body, 47, func(int32, int, ItemStack) {}); err == nil {
			t.Errorf("% x accepted", body)
		}
	}
}

// FuzzSlots feeds hostile bodies to the slot readers: none may panic.
func FuzzSlots(f *testing.F) {
	f.Add(uint8(0), []byte{0, 0, 36, 1, 22, 1, 0})
	f.Fuzz(func(t *testing.T, proto uint8, body []byte) {
		p := slotTestProtocols[int(proto)%len(slotTestProtocols)]
		if s, err := DecodeSetSlot(body, p); err == nil {
			ItemPlain(s.Item, p)
		}
		if s, err := DecodeSetPlayerInventory(body, p); err == nil {
			ItemPlain(s.Item, p)
		}
		_ = WindowItems(body, p, func(_ int32, _ int, it ItemStack) { ItemPlain(it, p) })
	})
}

package packets

import (
	"fmt"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Serverbound inventory, book and sign packets: the classic carriers of
// oversized NBT ("book bans", creative crash items) and of packet-spam
// exploits. Items stay raw (see ItemStack); every list and string is
// capped at vanilla's limit before anything is sliced.

// Caps of these packets, from the vanilla readers.
const (
	// maxBookPages is ServerboundEditBookPacket.MAX_PAGES_COUNT (1.17.1+).
	maxBookPages = 200
	// maxBookPageChars is ServerboundEditBookPacket.PAGE_MAX_CHARS.
	maxBookPageChars = 8192
	// maxBookTitleChars is ServerboundEditBookPacket.TITLE_MAX_CHARS.
	maxBookTitleChars = 128
	// maxSignLineChars is the 1.9+ sign line limit (readUtf(384)).
	maxSignLineChars = 384
	// maxSignLineCharsOld is 1.8's: each line is a JSON chat component
	// read with the default 32767 limit.
	maxSignLineCharsOld = 32767
	// signLines is the number of lines on a sign side.
	signLines = 4
)

// CreativeSlot is "Set Creative Mode Slot": a slot number and the item the
// creative client wants there, kept raw.
type CreativeSlot struct {
	Slot int16
	Item ItemStack
}

// DecodeCreativeSlot decodes the creative inventory action.
func DecodeCreativeSlot(body []byte, protocol int32) (CreativeSlot, error) {
	r := mcproto.NewReader(body)
	c := CreativeSlot{Slot: r.Int16()}
	c.Item = readItemTail(&r, protocol)
	if err := finish(&r, "creative slot"); err != nil {
		return CreativeSlot{}, err
	}
	return c, nil
}

// AppendData appends the packet data.
func (c CreativeSlot) AppendData(dst []byte, _ int32) []byte {
	dst = appendInt16(dst, c.Slot)
	return append(dst, c.Item.Raw...)
}

// readContainerID reads a window id: u8 until 1.21.1, VarInt since 1.21.2
// (protocol.json "ContainerID").
func readContainerID(r *mcproto.Reader, protocol int32) int32 {
	if protocol >= mcproto.Protocol1_21_2 {
		return r.VarInt()
	}
	return int32(r.Byte())
}

func appendContainerID(b []byte, id int32, protocol int32) []byte {
	if protocol >= mcproto.Protocol1_21_2 {
		return mcproto.AppendVarInt(b, id)
	}
	return append(b, byte(id))
}

// WindowClick is "Click Container". The fixed header is decoded; what
// follows stays raw. Layouts:
//
//	1.8          window u8, slot i16, button i8, action i16, mode i8, item
//	1.9–1.16.5   same with mode as VarInt
//	1.17         window, slot, button, mode, changed slots, cursor item
//	1.17.1+      window, state id, slot, button, mode, changed slots, cursor
//
// The window id is a VarInt since 1.21.2; changed slots carry hashed items
// since 1.21.5.
type WindowClick struct {
	WindowID int32
	StateID  int32 // 1.17.1+
	Slot     int16
	Button   int8
	Action   int16 // before 1.17: the transaction number
	Mode     int32
	Item     ItemStack // before 1.17: the clicked item
	Rest     []byte    // 1.17+: changed slots and cursor item, raw
}

// DecodeWindowClick decodes the click header.
func DecodeWindowClick(body []byte, protocol int32) (WindowClick, error) {
	r := mcproto.NewReader(body)
	c := WindowClick{WindowID: readContainerID(&r, protocol)}
	if protocol >= playProto1_17_1 {
		c.StateID = r.VarInt()
	}
	c.Slot = r.Int16()
	c.Button = r.Int8()
	if protocol < playProto1_17 {
		c.Action = r.Int16()
	}
	if protocol >= mcproto.Protocol1_9 {
		c.Mode = r.VarInt()
	} else {
		c.Mode = int32(r.Int8())
	}
	if protocol < playProto1_17 {
		c.Item = readItemTail(&r, protocol)
	} else {
		if r.Err() == nil && r.Len() > maxWindowRestBytes {
			r.Fail(fmt.Errorf("click tail of %d bytes > %d: %w", r.Len(), maxWindowRestBytes, mcproto.ErrArrayTooLong))
		}
		c.Rest = r.Rest()
		if r.Err() == nil && len(c.Rest) == 0 { // at least the changed-slot count and the cursor
			r.Fail(mcproto.ErrShort)
		}
	}
	if err := finish(&r, "click window"); err != nil {
		return WindowClick{}, err
	}
	return c, nil
}

// AppendData appends the packet data.
func (c WindowClick) AppendData(dst []byte, protocol int32) []byte {
	dst = appendContainerID(dst, c.WindowID, protocol)
	if protocol >= playProto1_17_1 {
		dst = mcproto.AppendVarInt(dst, c.StateID)
	}
	dst = appendInt16(dst, c.Slot)
	dst = appendInt8(dst, c.Button)
	if protocol < playProto1_17 {
		dst = appendInt16(dst, c.Action)
	}
	if protocol >= mcproto.Protocol1_9 {
		dst = mcproto.AppendVarInt(dst, c.Mode)
	} else {
		dst = appendInt8(dst, int8(c.Mode))
	}
	if protocol < playProto1_17 {
		return append(dst, c.Item.Raw...)
	}
	return append(dst, c.Rest...)
}

// CloseWindow is the serverbound "Close Container".
type CloseWindow struct {
	WindowID int32
}

// DecodeCloseWindow decodes the window id.
func DecodeCloseWindow(body []byte, protocol int32) (CloseWindow, error) {
	r := mcproto.NewReader(body)
	c := CloseWindow{WindowID: readContainerID(&r, protocol)}
	if err := finish(&r, "close window"); err != nil {
		return CloseWindow{}, err
	}
	return c, nil
}

// AppendData appends the packet data.
func (c CloseWindow) AppendData(dst []byte, protocol int32) []byte {
	return appendContainerID(dst, c.WindowID, protocol)
}

// NameItem is the anvil's "Rename Item" (1.13+; before it was the
// MC|ItemName plugin channel). Vanilla reads the name with the default
// string limit and trims it to the text field's length itself.
type NameItem struct {
	Name []byte // aliases the packet body
}

// maxNameItemChars is vanilla's read limit for the name (the default
// string limit, far above the anvil's own 50).
const maxNameItemChars = 32767

// DecodeNameItem decodes the new name.
func DecodeNameItem(body []byte, protocol int32) (NameItem, error) {
	r := mcproto.NewReader(body)
	n := NameItem{Name: r.StringBytes(maxNameItemChars)}
	if err := finish(&r, "name item"); err != nil {
		return NameItem{}, err
	}
	return n, nil
}

// AppendData appends the packet data.
func (n NameItem) AppendData(dst []byte, protocol int32) []byte {
	return mcproto.AppendByteArray(dst, n.Name)
}

// EditBook is "Edit Book" (1.13+; before it was a plugin message).
// 1.13–1.17 send the whole book as an item slot, a signing flag and (from
// 1.13.1) the hand; 1.17.1+ send the hotbar slot, the pages and an
// optional title.
type EditBook struct {
	Item     ItemStack // 1.13–1.17
	Signing  bool      // 1.13–1.17
	Hand     int32     // 1.13.1–1.17
	Slot     int32     // 1.17.1+
	Pages    [][]byte  // 1.17.1+, each aliasing the body
	HasTitle bool      // 1.17.1+: the book is being signed with Title
	Title    []byte
}

// DecodeEditBook decodes the book edit. Pages are capped at 200 of 8192
// chars and the title at 128 chars, vanilla's limits since 1.17.1.
func DecodeEditBook(body []byte, protocol int32) (EditBook, error) {
	if protocol < mcproto.Protocol1_13 {
		return EditBook{}, notIn("edit book", protocol)
	}
	r := mcproto.NewReader(body)
	var e EditBook
	if protocol < playProto1_17_1 {
		trailer := 1 // signing
		if protocol >= playProto1_13_1 {
			trailer = 2 // signing, hand (a one-byte VarInt from any vanilla client)
		}
		var t []byte
		e.Item, t = splitItemTrailer(&r, trailer, protocol)
		if t != nil {
			tr := mcproto.NewReader(t)
			e.Signing = tr.Bool()
			if protocol >= playProto1_13_1 {
				e.Hand = tr.VarInt()
			}
			if err := tr.Finish(); err != nil {
				r.Fail(err)
			}
		}
	} else {
		e.Slot = r.VarInt()
		n := r.VarInt()
		if checkCount(&r, n, maxBookPages, 1) && n > 0 {
			e.Pages = make([][]byte, 0, n)
			for i := int32(0); i < n && r.Err() == nil; i++ {
				e.Pages = append(e.Pages, r.StringBytes(maxBookPageChars))
			}
		}
		e.HasTitle = r.Bool()
		if e.HasTitle {
			e.Title = r.StringBytes(maxBookTitleChars)
		}
	}
	if err := finish(&r, "edit book"); err != nil {
		return EditBook{}, err
	}
	return e, nil
}

// AppendData appends the packet data.
func (e EditBook) AppendData(dst []byte, protocol int32) []byte {
	if protocol < playProto1_17_1 {
		dst = append(dst, e.Item.Raw...)
		dst = mcproto.AppendBool(dst, e.Signing)
		if protocol >= playProto1_13_1 {
			dst = mcproto.AppendVarInt(dst, e.Hand)
		}
		return dst
	}
	dst = mcproto.AppendVarInt(dst, e.Slot)
	dst = mcproto.AppendVarInt(dst, int32(len(e.Pages)))
	for _, p := range e.Pages {
		dst = mcproto.AppendByteArray(dst, p)
	}
	dst = mcproto.AppendBool(dst, e.HasTitle)
	if e.HasTitle {
		dst = mcproto.AppendByteArray(dst, e.Title)
	}
	return dst
}

// UpdateSign is "Update Sign": the block, the side (1.20+) and four lines.
// 1.8 lines are JSON text components; later ones plain strings.
type UpdateSign struct {
	Location  mcproto.Position
	FrontText bool // 1.20+; signs had one side before
	Lines     [signLines][]byte
}

// DecodeUpdateSign decodes the sign update.
func DecodeUpdateSign(body []byte, protocol int32) (UpdateSign, error) {
	r := mcproto.NewReader(body)
	s := UpdateSign{Location: r.Position(protocol)}
	if protocol >= playProto1_20 {
		s.FrontText = r.Bool()
	}
	max := maxSignLineChars
	if protocol < mcproto.Protocol1_9 {
		max = maxSignLineCharsOld
	}
	for i := range s.Lines {
		s.Lines[i] = r.StringBytes(max)
	}
	if err := finish(&r, "update sign"); err != nil {
		return UpdateSign{}, err
	}
	return s, nil
}

// AppendData appends the packet data.
func (s UpdateSign) AppendData(dst []byte, protocol int32) []byte {
	dst = appendPosition(dst, s.Location, protocol)
	if protocol >= playProto1_20 {
		dst = mcproto.AppendBool(dst, s.FrontText)
	}
	for _, l := range s.Lines {
		dst = mcproto.AppendByteArray(dst, l)
	}
	return dst
}

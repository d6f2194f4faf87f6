package record

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// encoder appends a recording in the file format to byte slices. It keeps
// the kind dictionary and the time of the previous record; one encoder
// writes one file. It allocates only when a kind is seen for the first time.
//
// Record times are offsets from the header's start taken with Time.Sub, so
// when the times carry monotonic clock readings (the relay's time.Now) the
// file holds the durations the live engine measured, not wall-clock
// differences an NTP adjustment may have bent; and they are truncated to
// microseconds once, as offsets, so the rounding never accumulates.
type encoder struct {
	kinds   []int32 // Kind → dictionary index + 1 (0: not written yet)
	nKinds  int32
	base    time.Time // the header's start
	last    int64     // offset of the previous record from base, µs
	packets int64
}

// header appends the magic, the version and h. Strings over their caps are
// clipped and invalid UTF-8 replaced, so the reader accepts whatever the
// writer wrote.
func (e *encoder) header(b []byte, h Header) []byte {
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint16(b, formatVersion)
	var flags int32
	if h.Partial {
		flags |= flagPartial
	}
	e.base, e.last = h.Start, 0
	body := make([]byte, 0, 256)
	body = mcproto.AppendVarInt(body, flags)
	body = mcproto.AppendVarInt(body, h.Protocol)
	body = mcproto.AppendString(body, clip(h.Name, maxNameChars))
	body = mcproto.AppendString(body, clip(h.UUID, maxUUIDChars))
	body = mcproto.AppendString(body, clip(h.ClientAddr, maxFieldChars))
	body = mcproto.AppendString(body, clip(h.Session, maxFieldChars))
	body = mcproto.AppendString(body, clip(h.EdgeVersion, maxFieldChars))
	body = mcproto.AppendString(body, clip(h.Instance, maxFieldChars))
	body = mcproto.AppendString(body, clip(h.Region, maxFieldChars))
	body = mcproto.AppendVarLong(body, h.Start.UnixMicro())
	b = mcproto.AppendVarInt(b, int32(len(body)))
	return append(b, body...)
}

// packetSize is the most packet appends for a packet of n data bytes,
// including a kind record for a kind not yet in the dictionary.
func packetSize(n int) int {
	return recordFraming + maxPacketHead + n + recordFraming + mcproto.MaxVarIntLen + 3*maxKindNameChars
}

// packet appends one packet record (and the kind record before it when the
// kind is new to this file).
func (e *encoder) packet(b []byte, dir mcproto.Direction, st mcproto.State, kind packets.Kind, data []byte, inflated int, t time.Time) []byte {
	if int(kind) >= len(e.kinds) {
		e.kinds = append(e.kinds, make([]int32, int(kind)+1-len(e.kinds))...)
	}
	if e.kinds[kind] == 0 {
		name := kind.String()
		var kb [mcproto.MaxVarIntLen]byte
		idx := mcproto.AppendVarInt(kb[:0], e.nKinds)
		b = append(b, tagKind)
		b = mcproto.AppendVarInt(b, int32(len(idx)+mcproto.VarIntLen(int32(len(name)))+len(name)))
		b = append(b, idx...)
		b = mcproto.AppendString(b, name)
		e.nKinds++
		e.kinds[kind] = e.nKinds
	}
	var hb [maxPacketHead]byte
	head := append(hb[:0], dirCode(dir), stateCode(st))
	head = mcproto.AppendVarInt(head, e.kinds[kind]-1)
	head = mcproto.AppendVarLong(head, zigzag(e.delta(t)))
	head = mcproto.AppendVarInt(head, int32(inflated))
	b = append(b, tagPacket)
	b = mcproto.AppendVarInt(b, int32(len(head)+len(data)))
	b = append(b, head...)
	e.packets++
	return append(b, data...)
}

// marker appends a probe or flag record.
func (e *encoder) marker(b []byte, tag byte, t time.Time) []byte {
	var db [mcproto.MaxVarLongLen]byte
	d := mcproto.AppendVarLong(db[:0], zigzag(e.delta(t)))
	b = append(b, tag)
	b = mcproto.AppendVarInt(b, int32(len(d)))
	return append(b, d...)
}

// end appends the end record.
func (e *encoder) end(b []byte, r EndReason) []byte {
	var eb [1 + mcproto.MaxVarLongLen]byte
	body := append(eb[:0], byte(r))
	body = mcproto.AppendVarLong(body, e.packets)
	b = append(b, tagEnd)
	b = mcproto.AppendVarInt(b, int32(len(body)))
	return append(b, body...)
}

// delta advances the clock to t and returns the step in microseconds.
func (e *encoder) delta(t time.Time) int64 {
	us := t.Sub(e.base).Microseconds()
	d := us - e.last
	e.last = us
	return d
}

// clip makes s valid UTF-8 of at most max UTF-16 code units, the unit the
// protocol's string limits count.
func clip(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	units := 0
	for i, r := range s {
		n := 1
		if r > 0xFFFF {
			n = 2
		}
		if units+n > max {
			return s[:i]
		}
		units += n
	}
	return s
}

package record

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// readStep is how much of a record body is read at a time: a body grows
// with the bytes actually in the file, never to a length the file merely
// claims.
const readStep = 64 << 10

// Reader reads a recording record by record. Files are untrusted input (an
// operator may replay a file from anywhere): every length is checked
// against the format's caps, and memory follows the bytes present. Times
// come back in UTC, at microsecond precision.
type Reader struct {
	src     countingReader
	br      *bufio.Reader
	h       Header
	kinds   []storedKind
	last    int64 // Unix µs of the previous record
	body    []byte
	packets int64
	ended   bool
	reason  EndReason
	err     error // sticky
}

type storedKind struct {
	kind packets.Kind
	name string
}

// countingReader counts bytes read, so errors can say where they are.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewReader reads the magic, the version and the header.
func NewReader(src io.Reader) (*Reader, error) {
	r := &Reader{}
	r.src.r = src
	r.br = bufio.NewReader(&r.src)
	var m [len(magic) + 2]byte
	if _, err := io.ReadFull(r.br, m[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%d bytes: %w", r.src.n, ErrNotRecording)
		}
		return nil, fmt.Errorf("record: read magic: %w", err)
	}
	if string(m[:len(magic)]) != magic {
		return nil, ErrNotRecording
	}
	if v := binary.BigEndian.Uint16(m[len(magic):]); v != formatVersion {
		return nil, fmt.Errorf("version %d (this build reads %d): %w", v, formatVersion, ErrVersion)
	}
	n, err := r.varInt()
	if err != nil {
		return nil, r.fail("header length", err)
	}
	if n < 0 || n > maxHeaderBytes {
		return nil, r.corrupt("header length %d not in 0..%d", n, maxHeaderBytes)
	}
	if err := r.readBody(int(n)); err != nil {
		return nil, r.fail("header", err)
	}
	hr := mcproto.NewReader(r.body)
	flags := hr.VarInt()
	r.h.Protocol = hr.VarInt()
	r.h.Name = hr.String(maxNameChars)
	r.h.UUID = hr.String(maxUUIDChars)
	r.h.ClientAddr = hr.String(maxFieldChars)
	r.h.Session = hr.String(maxFieldChars)
	r.h.EdgeVersion = hr.String(maxFieldChars)
	r.h.Instance = hr.String(maxFieldChars)
	r.h.Region = hr.String(maxFieldChars)
	r.last = hr.VarLong()
	if err := hr.Finish(); err != nil {
		return nil, r.corrupt("header: %v", err)
	}
	if flags&^knownFlags != 0 {
		return nil, r.corrupt("header flags %#x unknown", flags)
	}
	r.h.Partial = flags&flagPartial != 0
	r.h.Start = time.UnixMicro(r.last).UTC()
	return r, nil
}

// Header is the recording's header.
func (r *Reader) Header() Header { return r.h }

// End is why the recording stopped; ok is false until Next has returned
// io.EOF.
func (r *Reader) End() (reason EndReason, ok bool) { return r.reason, r.ended }

// Next returns the next record. It returns io.EOF after a well-formed end
// record, an error wrapping ErrTruncated when the file stops before one,
// and an error wrapping ErrCorrupt for anything out of range. Errors are
// sticky. Record.Data is valid until the next call.
func (r *Reader) Next() (Record, error) {
	for {
		if r.err != nil {
			return Record{}, r.err
		}
		if r.ended {
			return Record{}, io.EOF
		}
		rec, ok, err := r.next()
		if err != nil {
			r.err = err
			return Record{}, err
		}
		if ok {
			return rec, nil
		}
	}
}

// next reads one record; ok is false for records that are not returned
// (kind definitions, the end record).
func (r *Reader) next() (rec Record, ok bool, err error) {
	tag, err := r.br.ReadByte()
	if err != nil {
		return rec, false, r.fail("record tag", err)
	}
	n, err := r.varInt()
	if err != nil {
		return rec, false, r.fail("record length", err)
	}
	if n < 0 || n > maxRecordBody {
		return rec, false, r.corrupt("record length %d not in 0..%d", n, maxRecordBody)
	}
	if err := r.readBody(int(n)); err != nil {
		return rec, false, r.fail("record body", err)
	}
	br := mcproto.NewReader(r.body)
	switch tag {
	case tagKind:
		idx := br.VarInt()
		name := br.String(maxKindNameChars)
		if err := br.Finish(); err != nil {
			return rec, false, r.corrupt("kind record: %v", err)
		}
		if int(idx) != len(r.kinds) || len(r.kinds) >= maxKinds {
			return rec, false, r.corrupt("kind index %d, want %d (at most %d kinds)", idx, len(r.kinds), maxKinds)
		}
		r.kinds = append(r.kinds, storedKind{kind: kindByName[name], name: name})
		return rec, false, nil
	case tagPacket:
		dc, sc := br.Byte(), br.Byte()
		idx := br.VarInt()
		delta := br.VarLong()
		inflated := br.VarInt()
		data := br.Rest()
		if err := br.Err(); err != nil {
			return rec, false, r.corrupt("packet record: %v", err)
		}
		dir, okd := dirFromCode(dc)
		st, oks := stateFromCode(sc)
		switch {
		case !okd:
			return rec, false, r.corrupt("packet direction %d", dc)
		case !oks:
			return rec, false, r.corrupt("packet state %d", sc)
		case idx < 0 || int(idx) >= len(r.kinds):
			return rec, false, r.corrupt("packet kind index %d of %d defined", idx, len(r.kinds))
		case inflated < 0 || int(inflated) > mcproto.MaxInflate(dir):
			return rec, false, r.corrupt("packet inflated size %d not in 0..%d", inflated, mcproto.MaxInflate(dir))
		case len(data) > MaxRecordData:
			return rec, false, r.corrupt("packet of %d bytes > %d", len(data), MaxRecordData)
		}
		k := r.kinds[idx]
		r.packets++
		return Record{Type: RecordPacket, Time: r.advance(delta), Dir: dir, State: st, Kind: k.kind, KindName: k.name,
			Inflated: int(inflated), Data: data}, true, nil
	case tagProbe, tagFlag:
		delta := br.VarLong()
		if err := br.Finish(); err != nil {
			return rec, false, r.corrupt("marker record: %v", err)
		}
		typ := RecordProbe
		if tag == tagFlag {
			typ = RecordFlag
		}
		return Record{Type: typ, Time: r.advance(delta)}, true, nil
	case tagEnd:
		reason := EndReason(br.Byte())
		count := br.VarLong()
		if err := br.Finish(); err != nil {
			return rec, false, r.corrupt("end record: %v", err)
		}
		if reason >= numEndReasons {
			return rec, false, r.corrupt("end reason %d", reason)
		}
		if count != r.packets {
			return rec, false, r.corrupt("end record counts %d packets, file holds %d", count, r.packets)
		}
		if _, err := r.br.Peek(1); err == nil {
			return rec, false, r.corrupt("data after the end record")
		} else if !errors.Is(err, io.EOF) {
			return rec, false, fmt.Errorf("record: read after end record: %w", err)
		}
		r.ended, r.reason = true, reason
		return rec, false, nil
	}
	return rec, false, r.corrupt("record tag %d", tag)
}

func (r *Reader) advance(delta int64) time.Time {
	r.last += unzigzag(delta)
	return time.UnixMicro(r.last).UTC()
}

// varInt reads a VarInt from the stream with mcproto's decoder.
func (r *Reader) varInt() (int32, error) {
	p, err := r.br.Peek(mcproto.MaxVarIntLen)
	if len(p) == 0 {
		return 0, err
	}
	v, n, verr := mcproto.ReadVarInt(p)
	switch {
	case errors.Is(verr, mcproto.ErrShort):
		return 0, io.ErrUnexpectedEOF
	case verr != nil:
		return 0, verr
	}
	_, _ = r.br.Discard(n)
	return v, nil
}

// readBody reads n bytes into r.body, growing it as the bytes arrive.
func (r *Reader) readBody(n int) error {
	r.body = r.body[:0]
	for len(r.body) < n {
		step := min(n-len(r.body), readStep)
		r.body = slices.Grow(r.body, step)
		k, err := io.ReadFull(r.br, r.body[len(r.body):len(r.body)+step])
		r.body = r.body[:len(r.body)+k]
		if err != nil {
			return err
		}
	}
	return nil
}

// offset is where the reader stands in the file.
func (r *Reader) offset() int64 { return r.src.n - int64(r.br.Buffered()) }

// fail classifies a read error: the end of the file before the end record
// is truncation, a bad VarInt is corruption, anything else is the source's.
func (r *Reader) fail(what string, err error) error {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s at byte %d: %w", what, r.offset(), ErrTruncated)
	case errors.Is(err, mcproto.ErrVarIntTooBig):
		return r.corrupt("%s: %v", what, err)
	}
	return fmt.Errorf("record: read %s at byte %d: %w", what, r.offset(), err)
}

func (r *Reader) corrupt(format string, args ...any) error {
	return fmt.Errorf("%s at byte %d: %w", fmt.Sprintf(format, args...), r.offset(), ErrCorrupt)
}

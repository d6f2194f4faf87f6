package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

var testHeader = Header{Protocol: 765, Name: "Notch", UUID: "069a79f4-44e9-4726-a5be-fca90e38aaf5", ClientAddr: "[2001:db8::1]:50000",
	Session: "k3", EdgeVersion: "v1.2.3", Instance: "edge-a-1234", Region: "eu-west", Start: simStart, Partial: true}

// testRecords covers both directions, every state code, a kind this build
// names and Unknown, a repeated kind (dictionary reuse), inflated sizes, an
// empty and a large packet, negative and zero deltas, and both markers.
func testRecords() []Record {
	big := bytes.Repeat([]byte{0xAB}, 300_000)
	t := simStart
	return []Record{
		{Type: RecordPacket, Time: t, Dir: mcproto.Serverbound, State: mcproto.StateConfiguration, Kind: packets.KindFinishConfiguration, Data: []byte{}},
		{Type: RecordPacket, Time: t.Add(50 * time.Millisecond), Dir: mcproto.Serverbound, State: mcproto.StatePlay, Kind: packets.KindPlayerLook, Data: look(1, 2)},
		{Type: RecordPacket, Time: t.Add(49 * time.Millisecond), Dir: mcproto.Clientbound, State: mcproto.StatePlay, Kind: packets.KindJoinGame, Data: big},
		{Type: RecordProbe, Time: t.Add(49 * time.Millisecond)},
		{Type: RecordPacket, Time: t.Add(80 * time.Millisecond), Dir: mcproto.Serverbound, State: mcproto.StatePlay, Kind: packets.KindPlayerLook, Data: look(3, 4)},
		{Type: RecordPacket, Time: t.Add(81 * time.Millisecond), Dir: mcproto.Serverbound, State: mcproto.StatePlay, Kind: packets.KindUnknown, Inflated: 4000, Data: []byte{1, 2, 3}},
		{Type: RecordPacket, Time: t.Add(time.Hour), Dir: mcproto.Serverbound, State: mcproto.StateLogin, Kind: packets.KindLoginStart, Data: []byte{5}},
		{Type: RecordPacket, Time: t.Add(time.Hour), Dir: mcproto.Serverbound, State: mcproto.StateHandshake, Kind: packets.KindHandshake, Data: []byte{6}},
		{Type: RecordPacket, Time: t.Add(time.Hour), Dir: mcproto.Serverbound, State: mcproto.StateStatus, Kind: packets.KindStatusRequest, Data: []byte{7}},
		{Type: RecordFlag, Time: t.Add(time.Hour + time.Microsecond)},
	}
}

// encodeRecords writes a whole file.
func encodeRecords(h Header, recs []Record, reason EndReason) []byte {
	var enc encoder
	b := enc.header(nil, h)
	for _, r := range recs {
		switch r.Type {
		case RecordPacket:
			b = enc.packet(b, r.Dir, r.State, r.Kind, r.Data, r.Inflated, r.Time)
		case RecordProbe:
			b = enc.marker(b, tagProbe, r.Time)
		case RecordFlag:
			b = enc.marker(b, tagFlag, r.Time)
		}
	}
	return enc.end(b, reason)
}

// readAll reads every record, copying data.
func readAll(b []byte) (Header, []Record, EndReason, error) {
	rd, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return Header{}, nil, 0, err
	}
	var out []Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			reason, _ := rd.End()
			return rd.Header(), out, reason, nil
		}
		if err != nil {
			return rd.Header(), out, 0, err
		}
		if rec.Data != nil {
			rec.Data = append([]byte{}, rec.Data...)
		}
		out = append(out, rec)
	}
}

func TestRoundTrip(t *testing.T) {
	recs := testRecords()
	b := encodeRecords(testHeader, recs, EndSizeCap)
	h, got, reason, err := readAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h, testHeader) {
		t.Errorf("header:\n got %+v\nwant %+v", h, testHeader)
	}
	if reason != EndSizeCap {
		t.Errorf("end reason %v, want size_cap", reason)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		want := recs[i]
		want.Time = want.Time.UTC()
		if want.Type == RecordPacket {
			want.KindName = want.Kind.String()
		} else {
			want.Data = nil
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, short(got[i]), short(want))
		}
	}
}

func short(r Record) Record {
	if len(r.Data) > 16 {
		r.Data = r.Data[:16]
	}
	return r
}

// TestTimesKeepMicroseconds: the file keeps µs; sub-µs parts are dropped.
func TestTimesKeepMicroseconds(t *testing.T) {
	at := simStart.Add(1234567891 * time.Nanosecond)
	b := encodeRecords(Header{Start: simStart}, []Record{{Type: RecordFlag, Time: at}}, EndClosed)
	_, got, _, err := readAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Truncate(time.Microsecond); !got[0].Time.Equal(want) {
		t.Errorf("time %v, want %v", got[0].Time, want)
	}
}

// TestHeaderClipped: over-long or invalid header strings are clipped so
// the reader accepts what the writer wrote.
func TestHeaderClipped(t *testing.T) {
	h := Header{Name: strings.Repeat("é", 40), UUID: "x\xffy", ClientAddr: strings.Repeat("😀", 200), Start: simStart}
	got, _, _, err := readAll(encodeRecords(h, nil, EndClosed))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != strings.Repeat("é", maxNameChars) || got.UUID != "x\uFFFDy" || got.ClientAddr != strings.Repeat("😀", maxFieldChars/2) {
		t.Errorf("clipped header = %q %q %d chars", got.Name, got.UUID, len([]rune(got.ClientAddr)))
	}
}

// TestKindNamesCoverKinds: every Kind this build names resolves back, so
// any kind the engine records replays as itself.
func TestKindNamesCoverKinds(t *testing.T) {
	n := 0
	for k := packets.Kind(0); !strings.HasPrefix(k.String(), "Kind("); k++ {
		if kindByName[k.String()] != k {
			t.Errorf("%v resolves to %v", k, kindByName[k.String()])
		}
		n++
	}
	if n < 50 {
		t.Errorf("only %d kinds named", n)
	}
}

func TestZigzag(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 2, -2, 1 << 40, -(1 << 40), 1<<63 - 1, -1 << 63} {
		if got := unzigzag(zigzag(v)); got != v {
			t.Errorf("unzigzag(zigzag(%d)) = %d", v, got)
		}
	}
	if zigzag(-1) != 1 || zigzag(1) != 2 {
		t.Error("zigzag does not map small negatives to small numbers")
	}
}

// file builders for the rejection table
func fileWith(records ...[]byte) []byte {
	var enc encoder
	b := enc.header(nil, testHeader)
	for _, r := range records {
		b = append(b, r...)
	}
	return b
}

func rec(tag byte, body ...byte) []byte {
	b := []byte{tag}
	b = mcproto.AppendVarInt(b, int32(len(body)))
	return append(b, body...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func str(s string) []byte { return mcproto.AppendString(nil, s) }

var (
	kindRec  = rec(tagKind, cat([]byte{0}, str("PlayerLook"))...)
	endRec0  = rec(tagEnd, byte(EndClosed), 0)
	endRec1  = rec(tagEnd, byte(EndClosed), 1)
	okPacket = rec(tagPacket, 0, 4, 0, 0, 0, 9)
)

func headerWith(body []byte) []byte {
	b := []byte(magic)
	b = binary.BigEndian.AppendUint16(b, formatVersion)
	b = mcproto.AppendVarInt(b, int32(len(body)))
	return append(b, body...)
}

// validHeaderBody is a header body with every field empty.
func validHeaderBody(flags int32) []byte {
	b := mcproto.AppendVarInt(nil, flags)
	b = mcproto.AppendVarInt(b, 765)
	for i := 0; i < 7; i++ {
		b = mcproto.AppendString(b, "")
	}
	return mcproto.AppendVarLong(b, 0)
}

// TestReaderRejects: every malformed file is refused with the right
// sentinel, never a panic, never accepted.
func TestReaderRejects(t *testing.T) {
	valid := fileWith(kindRec, okPacket, endRec1)
	if _, _, _, err := readAll(valid); err != nil {
		t.Fatalf("the valid base file fails: %v", err)
	}
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrNotRecording},
		{"short magic", []byte("\x89RG"), ErrNotRecording},
		{"bad magic", []byte("PK\x03\x04 not a recording"), ErrNotRecording},
		{"version 2", append([]byte(magic), 0, 2, 0), ErrVersion},
		{"version 0", append([]byte(magic), 0, 0, 0), ErrVersion},
		{"no header", []byte(magic + "\x00\x01"), ErrTruncated},
		{"header length negative", append([]byte(magic+"\x00\x01"), 0xff, 0xff, 0xff, 0xff, 0x0f), ErrCorrupt},
		{"header length huge", append([]byte(magic+"\x00\x01"), 0xff, 0xff, 0x7f), ErrCorrupt},
		{"header length varint too wide", append([]byte(magic+"\x00\x01"), 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), ErrCorrupt},
		{"header cut", headerWith(validHeaderBody(0))[:20], ErrTruncated},
		{"header trailing bytes", headerWith(append(validHeaderBody(0), 1)), ErrCorrupt},
		{"header unknown flag", headerWith(validHeaderBody(2)), ErrCorrupt},
		{"header name too long", headerWith(cat([]byte{0, 0}, str(strings.Repeat("a", 17)))), ErrCorrupt},
		{"no end record", fileWith(kindRec, okPacket), ErrTruncated},
		{"cut inside a record", fileWith(kindRec, okPacket[:4]), ErrTruncated},
		{"cut inside a length", fileWith([]byte{tagPacket, 0x80}), ErrTruncated},
		{"unknown tag", fileWith(rec(9, 1, 2, 3), endRec0), ErrCorrupt},
		{"record length over cap", fileWith(cat([]byte{tagPacket}, mcproto.AppendVarInt(nil, maxRecordBody+1))), ErrCorrupt},
		{"record length negative", fileWith([]byte{tagPacket, 0xff, 0xff, 0xff, 0xff, 0x0f}), ErrCorrupt},
		{"record claims more than the file holds", fileWith(cat([]byte{tagPacket}, mcproto.AppendVarInt(nil, maxRecordBody), []byte{1, 2, 3})), ErrTruncated},
		{"kind index skips", fileWith(rec(tagKind, cat([]byte{1}, str("PlayerLook"))...), endRec0), ErrCorrupt},
		{"kind name too long", fileWith(rec(tagKind, cat([]byte{0}, str(strings.Repeat("k", maxKindNameChars+1)))...), endRec0), ErrCorrupt},
		{"kind trailing bytes", fileWith(rec(tagKind, cat([]byte{0}, str("PlayerLook"), []byte{0})...), endRec0), ErrCorrupt},
		{"packet with undefined kind", fileWith(okPacket, endRec1), ErrCorrupt},
		{"packet direction 2", fileWith(kindRec, rec(tagPacket, 2, 4, 0, 0, 0), endRec1), ErrCorrupt},
		{"packet state 5", fileWith(kindRec, rec(tagPacket, 0, 5, 0, 0, 0), endRec1), ErrCorrupt},
		{"packet inflated negative", fileWith(kindRec, rec(tagPacket, cat([]byte{0, 4, 0, 0}, mcproto.AppendVarInt(nil, -1))...), endRec1), ErrCorrupt},
		{"packet inflated over cap", fileWith(kindRec, rec(tagPacket, cat([]byte{0, 4, 0, 0}, mcproto.AppendVarInt(nil, 2<<20+1))...), endRec1), ErrCorrupt},
		{"packet fields cut", fileWith(kindRec, rec(tagPacket, 0, 4), endRec1), ErrCorrupt},
		{"marker trailing bytes", fileWith(rec(tagProbe, 0, 0), endRec0), ErrCorrupt},
		{"end count wrong", fileWith(kindRec, okPacket, endRec0), ErrCorrupt},
		{"end reason unknown", fileWith(rec(tagEnd, 200, 0)), ErrCorrupt},
		{"data after end", fileWith(endRec0, []byte{0}), ErrCorrupt},
		{"two end records", fileWith(endRec0, endRec0), ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := readAll(tc.file)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != ErrNotRecording && tc.want != ErrVersion && !strings.Contains(err.Error(), "at byte") {
				t.Errorf("error %q does not say where", err)
			}
		})
	}
}

// TestReaderErrorsSticky: after an error, Next keeps returning it.
func TestReaderErrorsSticky(t *testing.T) {
	rd, err := NewReader(bytes.NewReader(fileWith(rec(9))))
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := rd.Next()
	_, err2 := rd.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("errors %v then %v, want the same error twice", err1, err2)
	}
}

// TestReaderAnnouncedLengthNotAllocated: a record that claims the largest
// body but holds a few bytes costs a few bytes, not 8 MiB.
func TestReaderAnnouncedLengthNotAllocated(t *testing.T) {
	file := fileWith(cat([]byte{tagPacket}, mcproto.AppendVarInt(nil, maxRecordBody), []byte{0, 4, 0, 0, 0}))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const runs = 20
	for i := 0; i < runs; i++ {
		if _, _, _, err := readAll(file); !errors.Is(err, ErrTruncated) {
			t.Fatalf("err = %v, want ErrTruncated", err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 4*readStep {
		t.Errorf("%d bytes allocated per read of a file claiming %d, want at most %d", per, maxRecordBody, 4*readStep)
	}
}

// FuzzReader: no input panics, every packet respects the caps, and what
// reads completely re-encodes to a file that reads back the same.
func FuzzReader(f *testing.F) {
	f.Add(encodeRecords(testHeader, testRecords()[:2], EndClosed))
	f.Add(fileWith(kindRec, okPacket, endRec1))
	f.Add(fileWith(kindRec, okPacket))
	f.Add(headerWith(validHeaderBody(1)))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, recs, reason, err := readAll(b)
		for _, r := range recs {
			if len(r.Data) > MaxRecordData || r.Inflated < 0 || r.Inflated > mcproto.MaxInflate(r.Dir) {
				t.Fatalf("record over the caps: %d bytes, inflated %d", len(r.Data), r.Inflated)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrNotRecording) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error %v wraps none of the sentinels", err)
			}
			return
		}
		h2, recs2, reason2, err := readAll(encodeRecords(h, recs, reason))
		if err != nil {
			t.Fatalf("re-encoded file does not read: %v", err)
		}
		if !reflect.DeepEqual(h2, h) || reason2 != reason || len(recs2) != len(recs) {
			t.Fatalf("re-encoded file differs: %+v %v %d vs %+v %v %d", h2, reason2, len(recs2), h, reason, len(recs))
		}
		for i := range recs {
			a, b := recs[i], recs2[i]
			if a.Type != b.Type || !a.Time.Equal(b.Time) || a.Kind != b.Kind || a.Dir != b.Dir || a.State != b.State ||
				a.Inflated != b.Inflated || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("record %d differs after re-encoding: %+v vs %+v", i, short(a), short(b))
			}
		}
	})
}

// TestTimesDoNotDrift: times are stored as µs offsets from the start, so
// truncation never accumulates over many sub-µs steps.
func TestTimesDoNotDrift(t *testing.T) {
	var recs []Record
	for i := 1; i <= 10_000; i++ {
		recs = append(recs, Record{Type: RecordProbe, Time: simStart.Add(time.Duration(i) * 1500 * time.Nanosecond)})
	}
	_, got, _, err := readAll(encodeRecords(Header{Start: simStart}, recs, EndClosed))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if d := recs[i].Time.Sub(r.Time); d < 0 || d >= time.Microsecond {
			t.Fatalf("record %d is off by %v", i, d)
		}
	}
}

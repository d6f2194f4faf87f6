package record

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The .rgrec format, version 1. Integers are big-endian unless they are
// VarInt/VarLong (the Minecraft encodings, from shared/mcproto); strings are
// VarInt byte count + UTF-8, as in the protocol.
//
//	file    = magic version header record* end
//	magic   = "\x89RGREC\r\n"   (8 bytes; the high byte and CR LF catch
//	                              7-bit and newline-mangling transfers)
//	version = u16               (1)
//	header  = VarInt length, then: VarInt flags, VarInt protocol,
//	          String name, String uuid, String client address,
//	          String session, String edge version, String instance,
//	          String region, VarLong start (Unix microseconds)
//	record  = tag byte, VarInt body length, body
//
// Record bodies by tag:
//
//	kind   (1): VarInt index, String name
//	packet (2): byte direction, byte state, VarInt kind index,
//	            VarLong delta, VarInt inflated, data (the rest of the body)
//	probe  (3): VarLong delta
//	flag   (4): VarLong delta
//	end    (5): byte reason, VarLong packet count
//
// Packet kinds are stored by their stable name (packets.Kind.String), not by
// Kind number and not by packet id. Kind numbers are only meaningful inside
// one build (kind.go says so). A packet id would need the protocol's table
// to resolve and the recorder is never told it: the engine hands over the
// Kind, and ids the table does not know all arrive as Unknown. A name is
// what the engine saw, resolves without tables, and survives renumbering.
// Each name is written once per file, in a kind record, and packets refer
// to it by index: a movement packet's kind costs one byte.
//
// A record's time is kept as its offset from the header's start in whole
// microseconds; delta is that offset minus the previous record's (0 before
// the first), zigzag-encoded: the two relay goroutines read their clocks
// independently, so a clientbound packet can carry an earlier time than
// the serverbound one recorded before it.
// Directions and states have their own codes on disk (dirCode, stateCode)
// so that a reordering of mcproto's enums cannot change old files.
//
// A file ends with exactly one end record; a file without one was cut short
// (the edge died, the disk failed) and Reader reports ErrTruncated after the
// records it could read.

const (
	magic         = "\x89RGREC\r\n"
	formatVersion = 1

	tagKind   = 1
	tagPacket = 2
	tagProbe  = 3
	tagFlag   = 4
	tagEnd    = 5

	// flagPartial marks a recording that does not start at the session's
	// first packet (on-detection recording whose ring had to forget).
	flagPartial = 1
	knownFlags  = flagPartial
)

// Bounds on what a file may claim. The reader checks every length against
// these before reading it, so a hostile file costs at most what it holds.
const (
	// maxHeaderBytes caps the header block; the fields below add up to
	// under 3 KiB.
	maxHeaderBytes = 4 << 10
	// maxNameChars is vanilla's username limit (Login Start, String(16)).
	maxNameChars = 16
	// maxUUIDChars fits a hyphenated UUID.
	maxUUIDChars = 36
	// maxFieldChars caps the other header strings (address, session, edge
	// version, instance, region): a host name is at most 253 characters.
	maxFieldChars = 255
	// maxKindNameChars caps a kind name; the longest today has 26.
	maxKindNameChars = 64
	// maxKinds caps a file's kind dictionary; the engine knows about 100.
	maxKinds = 1024
	// MaxRecordData is the largest packet a file may hold: the largest
	// packet the engine can be handed, a clientbound one inflated within
	// vanilla's 8 MiB cap (docs/PROTOCOL.md, Compression).
	MaxRecordData = 8 << 20
	// maxPacketHead is the most a packet record's fields before its data
	// take: direction, state, VarInt, VarLong, VarInt.
	maxPacketHead = 1 + 1 + mcproto.MaxVarIntLen + mcproto.MaxVarLongLen + mcproto.MaxVarIntLen
	// maxRecordBody caps any record body.
	maxRecordBody = MaxRecordData + maxPacketHead
	// recordFraming is the tag byte and the body length of a record.
	recordFraming = 1 + mcproto.MaxVarIntLen
	// endRecordBytes is the most an end record takes; a writer keeps this
	// much of its size cap in reserve so the end record always fits.
	endRecordBytes = recordFraming + 1 + mcproto.MaxVarLongLen
)

// Errors a Reader returns. Callers branch on them: a truncated file is
// still evidence up to where it stops, a corrupt one is not to be trusted.
var (
	// ErrNotRecording: the file does not start with the magic.
	ErrNotRecording = errors.New("record: not a RustGuard recording (bad magic)")
	// ErrVersion: a format version this build does not read.
	ErrVersion = errors.New("record: unsupported format version")
	// ErrCorrupt: a field or length is out of range, or records are
	// inconsistent.
	ErrCorrupt = errors.New("record: corrupt recording")
	// ErrTruncated: the file ends before its end record.
	ErrTruncated = errors.New("record: recording ends without an end record")
)

// Header describes the recorded session.
type Header struct {
	Protocol    int32
	Name        string
	UUID        string
	ClientAddr  string // ip:port as the edge saw it
	Session     string // the edge's session id, as in detection events
	EdgeVersion string
	Instance    string // the edge instance that recorded
	Region      string
	// Start is the time of the first record.
	Start time.Time
	// Partial is set when the recording does not start with the session's
	// first packet: an on-detection recording whose ring forgot older
	// packets. A replay starts without the state they built (the join
	// game, the entity table), so its detections may differ.
	Partial bool
}

// RecordType is what a record is.
type RecordType uint8

const (
	RecordPacket RecordType = iota + 1 // a packet the engine received
	RecordProbe                        // the engine sent a probe to the client
	RecordFlag                         // the engine raised a detection
)

func (t RecordType) String() string {
	switch t {
	case RecordPacket:
		return "packet"
	case RecordProbe:
		return "probe"
	case RecordFlag:
		return "flag"
	}
	return "RecordType(" + strconv.Itoa(int(t)) + ")"
}

// Record is one record of a recording.
type Record struct {
	Type RecordType
	Time time.Time
	// Packet records only.
	Dir      mcproto.Direction
	State    mcproto.State
	Kind     packets.Kind // KindUnknown also for names this build does not know
	KindName string       // the name as stored
	Inflated int          // bytes inflated to get the packet (0: it travelled raw)
	Data     []byte       // the packet after its id; valid until the next Reader.Next
}

// EndReason says why a recording stopped. New reasons go at the end: a
// reader older than a reason reads every record before it and reports the
// end record as corrupt.
type EndReason uint8

const (
	EndClosed       EndReason = iota // the connection ended
	EndSizeCap                       // the file reached its size cap
	EndRecordTooBig                  // a packet was over the record cap
	EndWriterBehind                  // the disk could not keep up; the rest of the session was not recorded
	EndDiskCap                       // the recordings directory reached its total cap with only recordings being written in it
	numEndReasons
)

var endReasonNames = [numEndReasons]string{"closed", "size_cap", "record_too_big", "writer_behind", "disk_cap"}

func (r EndReason) String() string {
	if r < numEndReasons {
		return endReasonNames[r]
	}
	return "EndReason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText implements encoding.TextMarshaler (for JSON summaries).
func (r EndReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// dirCode and stateCode are the on-disk codes of directions and states.
func dirCode(d mcproto.Direction) byte {
	if d == mcproto.Clientbound {
		return 1
	}
	return 0
}

func dirFromCode(c byte) (mcproto.Direction, bool) {
	switch c {
	case 0:
		return mcproto.Serverbound, true
	case 1:
		return mcproto.Clientbound, true
	}
	return 0, false
}

// stateCodes lists states by on-disk code.
var stateCodes = [...]mcproto.State{
	0: mcproto.StateHandshake,
	1: mcproto.StateStatus,
	2: mcproto.StateLogin,
	3: mcproto.StateConfiguration,
	4: mcproto.StatePlay,
}

func stateCode(s mcproto.State) byte {
	for i, st := range stateCodes {
		if st == s {
			return byte(i)
		}
	}
	return byte(len(stateCodes)) // unknown: the reader refuses it
}

func stateFromCode(c byte) (mcproto.State, bool) {
	if int(c) < len(stateCodes) {
		return stateCodes[c], true
	}
	return 0, false
}

// kindByName resolves stored kind names. Built once from packets.Kind's own
// names; read-only afterwards.
var kindByName = func() map[string]packets.Kind {
	m := make(map[string]packets.Kind)
	// Kind is a uint16; its String says "Kind(n)" past the last name.
	for k := packets.Kind(0); ; k++ {
		name := k.String()
		if strings.HasPrefix(name, "Kind(") {
			break
		}
		m[name] = k
	}
	return m
}()

// zigzag maps signed deltas to small unsigned numbers (−1 → 1, 1 → 2), so
// a negative delta costs one byte, not ten.
func zigzag(v int64) int64   { return (v << 1) ^ (v >> 63) }
func unzigzag(v int64) int64 { return int64(uint64(v)>>1) ^ -(v & 1) }

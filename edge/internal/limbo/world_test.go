package limbo

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The limbo must have a world for every release protocol from 1.8 up to
// this one; newer ones are welcome but optional (their registries are not
// in minecraft-data yet, see the package doc).
const requiredUpTo = 769 // 1.21.4

func TestWorldCoversEveryProtocol(t *testing.T) {
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packets.Protocols() {
		if p > requiredUpTo {
			continue
		}
		if !l.Supports(p) {
			t.Errorf("protocol %d (%s): no world", p, packets.VersionName(p))
		}
	}
	for _, p := range l.Protocols() {
		if packets.Lookup(p) == nil {
			t.Errorf("world for protocol %d, which the packet tables do not know", p)
		}
	}
	if l.Supports(46) || l.Supports(packets.MaxProtocol+1) {
		t.Error("Supports accepts a protocol outside the tables")
	}
}

// unframe undoes the compressed-leg framing of one world frame.
func unframe(t *testing.T, frame []byte, threshold int) []byte {
	t.Helper()
	n, h, err := mcproto.ParseFrameHeader(frame)
	if err != nil || h+n != len(frame) {
		t.Fatalf("frame header: len %d + %d != %d (%v)", h, n, len(frame), err)
	}
	dataLen, payload, err := mcproto.SplitCompressed(frame[h:], threshold, mcproto.MaxClientboundInflate, true)
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	if dataLen == 0 {
		return payload
	}
	var z mcproto.Inflater
	out, err := z.Inflate(nil, payload, dataLen)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

// TestWorldPackets checks every precomputed frame: it is framed the way a
// vanilla encoder frames it at the threshold, and its packet id is, in the
// id tables generated independently from the same minecraft-data, the
// packet the generator says it wrote.
func TestWorldPackets(t *testing.T) {
	w, err := parseWorld(worldData)
	if err != nil {
		t.Fatal(err)
	}
	if w.threshold != compressionThreshold {
		t.Fatalf("threshold %d, want %d", w.threshold, compressionThreshold)
	}
	type seq struct {
		state  mcproto.State
		frames [][]byte
		names  []string
	}
	for _, p := range w.protocols {
		pw := w.lookup(p)
		table := packets.Lookup(p)
		seqs := []seq{{mcproto.StateConfiguration, pw.configuration, pw.configurationNames}, {mcproto.StatePlay, pw.join, pw.joinNames}}
		for i, v := range pw.variants {
			seqs = append(seqs, seq{mcproto.StatePlay, v.chunk, pw.chunkNames[i]})
		}
		if (len(pw.configuration) > 0) != (p >= mcproto.Protocol1_20_2) {
			t.Errorf("protocol %d: %d configuration packets", p, len(pw.configuration))
		}
		for _, q := range seqs {
			for i, frame := range q.frames {
				packet := unframe(t, frame, w.threshold)
				if len(packet) < w.threshold && frame[mcproto.VarIntLen(int32(len(frame)-1))] != 0 {
					t.Errorf("protocol %d %s: %d-byte packet compressed", p, q.names[i], len(packet))
				}
				id, _, err := mcproto.ReadVarInt(packet)
				if err != nil {
					t.Fatalf("protocol %d %s: %v", p, q.names[i], err)
				}
				if got := table.Name(q.state, mcproto.Clientbound, id); got != q.names[i] {
					t.Errorf("protocol %d %s: packet id %#x is %q in the tables", p, q.names[i], id, got)
				}
			}
		}
		if got := pw.joinNames[0]; got != "login" {
			t.Errorf("protocol %d: join sequence starts with %q, want Join Game", p, got)
		}
		for _, v := range pw.variants {
			// 1.18+ worlds reach from −64 to 320, older ones 0 to 256; the
			// platform and a fall of up to ~20 blocks must fit either.
			if v.platformY < 1 || v.platformY+24 > 256 {
				t.Errorf("protocol %d: platform at y=%d", p, v.platformY)
			}
		}
	}
}

func TestParseWorldRejects(t *testing.T) {
	good := worldData
	cut := func(n int) []byte { return good[:n] }
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte("XXLIMBO1"), good[8:]...)},
		{"truncated in the blobs", cut(100)},
		{"truncated in the records", cut(len(good) - 3)},
		{"trailing bytes", append(bytes.Clone(good), 0)},
		{"huge blob count", append([]byte(worldMagic+"\x80\x02"), 0xff, 0xff, 0xff, 0xff, 0x07)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseWorld(tt.data); !errors.Is(err, errWorld) {
				t.Fatalf("err = %v, want errWorld", err)
			}
		})
	}
}

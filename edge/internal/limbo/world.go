package limbo

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// worldData is the limbo's world for every supported protocol, written by
// gen/gen.js from the PrismarineJS packages (see THIRD_PARTY.md) and checked
// by world_test.go and gen_test.go.
//
//go:generate node gen/gen.js --modules ../../../test/e2e --out data/world.bin --fixtures testdata/encoders.json
//go:embed data/world.bin
var worldData []byte

// Layout of world.bin (all integers VarInts, strings VarInt-prefixed UTF-8):
//
//	magic "RGLIMBO1" | threshold
//	blob count, then per blob: state name | packet name | frame length | frame
//	protocol count, then per protocol:
//	    protocol | minecraft-data version
//	    configuration: count, blob indices     (1.20.2+; empty before)
//	    join:          count, blob indices     (Join Game, Spawn Position, …)
//	    variant count, then per variant: platform Y | count, blob indices (the chunk)
//
// A frame is a complete frame for a leg compressed at the threshold: length,
// Data Length, then the raw packet (Data Length 0) or its zlib stream.
const worldMagic = "RGLIMBO1"

// Caps applied while reading world.bin. The file is ours and embedded, so a
// violation is a broken build, but parsing it with caps costs nothing and
// keeps a bad generator run from turning into a huge allocation.
const (
	// maxWorldBlobs bounds the distinct packets in the file: about 200
	// today (42 protocols share most of their packets).
	maxWorldBlobs = 4096
	// maxWorldProtocols bounds the protocol records (42 today).
	maxWorldProtocols = 256
	// maxSequence bounds the packets of one sequence; the longest is the
	// 1.21.x configuration with 14.
	maxSequence = 64
	// maxVariants bounds the platform heights per protocol (8 today).
	maxVariants = 64
	// maxWorldName bounds state, packet and version names.
	maxWorldName = 64
)

// errWorld marks a world.bin that does not parse; it can only come from a
// bad generator run, and New refuses to build a Limbo on it.
var errWorld = errors.New("limbo: malformed world data")

// blob is one precomputed packet.
type blob struct {
	state mcproto.State
	name  string // minecraft-data's packet name, checked against the id tables in tests
	frame []byte // aliases worldData
}

// variant is the chunk column with the platform at one height.
type variant struct {
	platformY int32
	chunk     [][]byte
}

// protocolWorld is what the limbo sends to one protocol.
type protocolWorld struct {
	protocol      int32
	version       string
	configuration [][]byte
	join          [][]byte
	variants      []variant
	// names of the frames above, in the same order, for tests and logs.
	configurationNames, joinNames []string
	chunkNames                    [][]string
}

// world is the parsed world.bin. It is immutable after parsing and shared
// by every connection.
type world struct {
	threshold int
	byProto   map[int32]*protocolWorld
	protocols []int32 // ascending
}

func (w *world) lookup(protocol int32) *protocolWorld { return w.byProto[protocol] }

// parseWorld reads world.bin. Frames alias b.
func parseWorld(b []byte) (*world, error) {
	if len(b) < len(worldMagic) || string(b[:len(worldMagic)]) != worldMagic {
		return nil, fmt.Errorf("bad magic: %w", errWorld)
	}
	r := mcproto.NewReader(b[len(worldMagic):])
	w := &world{threshold: int(r.VarInt()), byProto: map[int32]*protocolWorld{}}
	n := count(&r, maxWorldBlobs)
	blobs := make([]blob, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		state, name := r.String(maxWorldName), r.String(maxWorldName)
		frame := r.ByteArray(mcproto.MaxFrameLength + mcproto.MaxFrameHeaderLen)
		st, ok := stateByName(state)
		if !ok {
			r.Fail(fmt.Errorf("blob %d: state %q: %w", i, state, errWorld))
		}
		blobs = append(blobs, blob{state: st, name: name, frame: frame})
	}
	seq := func(what string) ([][]byte, []string) {
		m := count(&r, maxSequence)
		frames, names := make([][]byte, 0, m), make([]string, 0, m)
		for j := 0; j < m && r.Err() == nil; j++ {
			k := int(r.VarInt())
			if k < 0 || k >= len(blobs) {
				r.Fail(fmt.Errorf("%s: blob index %d of %d: %w", what, k, len(blobs), errWorld))
				break
			}
			frames, names = append(frames, blobs[k].frame), append(names, blobs[k].name)
		}
		return frames, names
	}
	np := count(&r, maxWorldProtocols)
	for i := 0; i < np && r.Err() == nil; i++ {
		pw := &protocolWorld{protocol: r.VarInt(), version: r.String(maxWorldName)}
		pw.configuration, pw.configurationNames = seq("configuration")
		pw.join, pw.joinNames = seq("join")
		nv := count(&r, maxVariants)
		for j := 0; j < nv && r.Err() == nil; j++ {
			v := variant{platformY: r.VarInt()}
			var names []string
			v.chunk, names = seq("chunk")
			pw.variants = append(pw.variants, v)
			pw.chunkNames = append(pw.chunkNames, names)
		}
		if r.Err() == nil && (len(pw.join) == 0 || len(pw.variants) == 0) {
			r.Fail(fmt.Errorf("protocol %d: no join packets or no platform: %w", pw.protocol, errWorld))
		}
		if _, dup := w.byProto[pw.protocol]; dup {
			r.Fail(fmt.Errorf("protocol %d listed twice: %w", pw.protocol, errWorld))
		}
		w.byProto[pw.protocol] = pw
		w.protocols = append(w.protocols, pw.protocol)
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("parse world data: %w", errors.Join(err, errWorld))
	}
	slices.Sort(w.protocols)
	return w, nil
}

// count reads a VarInt count and refuses negative ones and ones over max.
func count(r *mcproto.Reader, max int) int {
	n := r.VarInt()
	if r.Err() == nil && (n < 0 || int(n) > max) {
		r.Fail(fmt.Errorf("count %d outside 0..%d: %w", n, max, errWorld))
		return 0
	}
	return int(n)
}

func stateByName(s string) (mcproto.State, bool) {
	for st := mcproto.State(0); st < mcproto.NumStates; st++ {
		if st.String() == s {
			return st, true
		}
	}
	return 0, false
}

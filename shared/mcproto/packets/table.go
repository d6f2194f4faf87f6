package packets

//go:generate go run ./internal/gen -data ../../../test/e2e/node_modules/minecraft-data/minecraft-data/data -out tables_gen.go

import (
	"errors"
	"fmt"
	"slices"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// maxPacketsPerList bounds the id space of one state and direction. The
// largest list in any supported release is play clientbound with 141
// packets (26.1); 256 leaves room for growth and keeps ids inside int16.
const maxPacketsPerList = 256

// generatedTable is one protocol as the generator writes it: packet names
// by state, direction and id.
type generatedTable struct {
	protocol int32
	versions []string
	names    [mcproto.NumStates][mcproto.NumDirections][]string
}

// Table is the packet-id table of one protocol version. It is immutable and
// shared; all methods are safe for concurrent use and accept a nil *Table
// (an unsupported protocol), which knows no packet.
type Table struct {
	protocol int32
	versions []string
	names    *[mcproto.NumStates][mcproto.NumDirections][]string
	kinds    [mcproto.NumStates][mcproto.NumDirections][]Kind
	ids      [mcproto.NumStates][mcproto.NumDirections][numKinds]int16
}

// registry holds every Table, indexed by protocol − MinProtocol. It is built
// once at init and never written afterwards.
type registry struct {
	byProtocol [MaxProtocol - MinProtocol + 1]*Table
	protocols  []int32
}

// packetRegistry is built from the generated names at init. Building panics
// on any inconsistency, so a wrong table fails every test rather than a
// player.
var packetRegistry = mustBuildRegistry(generatedTables[:], kindMapping())

func mustBuildRegistry(gen []generatedTable, mapping []kindName) *registry {
	r, err := buildRegistry(gen, mapping)
	if err != nil {
		panic("packets: " + err.Error())
	}
	return r
}

// errTable marks an inconsistent table or mapping.
var errTable = errors.New("inconsistent packet table")

func buildRegistry(gen []generatedTable, mapping []kindName) (*registry, error) {
	byName, err := checkMapping(gen, mapping)
	if err != nil {
		return nil, err
	}
	r := &registry{}
	for i := range gen {
		g := &gen[i]
		if g.protocol < MinProtocol || g.protocol > MaxProtocol {
			return nil, fmt.Errorf("protocol %d outside %d..%d: %w", g.protocol, MinProtocol, MaxProtocol, errTable)
		}
		if i > 0 && g.protocol <= gen[i-1].protocol {
			return nil, fmt.Errorf("protocol %d after %d: not ascending: %w", g.protocol, gen[i-1].protocol, errTable)
		}
		if len(g.versions) == 0 || slices.Contains(g.versions, "") {
			return nil, fmt.Errorf("protocol %d: missing release name: %w", g.protocol, errTable)
		}
		t, err := buildTable(g, byName)
		if err != nil {
			return nil, fmt.Errorf("protocol %d: %w", g.protocol, err)
		}
		r.byProtocol[g.protocol-MinProtocol] = t
		r.protocols = append(r.protocols, g.protocol)
	}
	if len(r.protocols) == 0 || r.protocols[0] != MinProtocol || r.protocols[len(r.protocols)-1] != MaxProtocol {
		return nil, fmt.Errorf("protocols do not span %d..%d: %w", MinProtocol, MaxProtocol, errTable)
	}
	return r, nil
}

// nameKey identifies a packet name in one state and direction.
type nameKey struct {
	s    mcproto.State
	d    mcproto.Direction
	name string
}

// checkMapping rejects duplicate rows, rows with an invalid Kind, Kinds that
// no row names, and names that exist in no version at all (a typo would
// otherwise silently map nothing). It returns the mapping as a map.
func checkMapping(gen []generatedTable, mapping []kindName) (map[nameKey]Kind, error) {
	known := map[nameKey]bool{}
	for i := range gen {
		for s := range gen[i].names {
			for d, list := range gen[i].names[s] {
				for _, name := range list {
					known[nameKey{mcproto.State(s), mcproto.Direction(d), name}] = true
				}
			}
		}
	}
	byName := make(map[nameKey]Kind, len(mapping))
	var used [numKinds]bool
	for _, m := range mapping {
		k := nameKey{m.state, m.dir, m.name}
		if m.state >= mcproto.NumStates || m.dir >= mcproto.NumDirections {
			return nil, fmt.Errorf("mapping %q: bad state or direction: %w", m.name, errTable)
		}
		if m.kind == KindUnknown || m.kind >= numKinds {
			return nil, fmt.Errorf("mapping %s %s %q: bad kind %d: %w", m.state, m.dir, m.name, m.kind, errTable)
		}
		if _, dup := byName[k]; dup {
			return nil, fmt.Errorf("mapping %s %s %q listed twice: %w", m.state, m.dir, m.name, errTable)
		}
		if !known[k] {
			return nil, fmt.Errorf("mapping %s %s %q (%s): name exists in no version: %w", m.state, m.dir, m.name, m.kind, errTable)
		}
		byName[k] = m.kind
		used[m.kind] = true
	}
	for k := KindUnknown + 1; k < numKinds; k++ {
		if !used[k] {
			return nil, fmt.Errorf("kind %s has no mapping: %w", k, errTable)
		}
		if kindNames[k] == "" {
			return nil, fmt.Errorf("kind %d has no name: %w", k, errTable)
		}
	}
	return byName, nil
}

func buildTable(g *generatedTable, byName map[nameKey]Kind) (*Table, error) {
	t := &Table{protocol: g.protocol, versions: g.versions, names: &g.names}
	for s := range t.ids {
		for d := range t.ids[s] {
			for k := range t.ids[s][d] {
				t.ids[s][d][k] = -1
			}
		}
	}
	for s := mcproto.State(0); s < mcproto.NumStates; s++ {
		for d := mcproto.Direction(0); d < mcproto.NumDirections; d++ {
			list := g.names[s][d]
			if len(list) > maxPacketsPerList {
				return nil, fmt.Errorf("%s %s: %d packets > %d: %w", s, d, len(list), maxPacketsPerList, errTable)
			}
			kinds := make([]Kind, len(list))
			seen := make(map[string]bool, len(list))
			for id, name := range list {
				if name == "" || seen[name] {
					return nil, fmt.Errorf("%s %s id %#x: empty or repeated name %q: %w", s, d, id, name, errTable)
				}
				seen[name] = true
				k, ok := byName[nameKey{s, d, name}]
				if !ok {
					continue
				}
				if prev := t.ids[s][d][k]; prev >= 0 {
					return nil, fmt.Errorf("%s %s: kind %s at ids %#x (%s) and %#x (%s): %w",
						s, d, k, prev, list[prev], id, name, errTable)
				}
				t.ids[s][d][k] = int16(id)
				kinds[id] = k
			}
			t.kinds[s][d] = kinds
		}
	}
	return t, nil
}

// Lookup returns the table of a protocol number, or nil when the protocol
// is not a supported release.
func Lookup(protocol int32) *Table {
	if protocol < MinProtocol || protocol > MaxProtocol {
		return nil
	}
	return packetRegistry.byProtocol[protocol-MinProtocol]
}

// Protocols lists every supported protocol number, ascending.
func Protocols() []int32 { return slices.Clone(packetRegistry.protocols) }

// VersionName returns the newest release name of a protocol ("1.20.4" for
// 765), or "" when the protocol is not supported.
func VersionName(protocol int32) string {
	t := Lookup(protocol)
	if t == nil {
		return ""
	}
	return t.versions[len(t.versions)-1]
}

// Protocol returns the protocol number of t.
func (t *Table) Protocol() int32 {
	if t == nil {
		return 0
	}
	return t.protocol
}

// Versions returns the release names that speak this protocol, oldest
// first, e.g. ["1.20.3", "1.20.4"]. The slice is a copy.
func (t *Table) Versions() []string {
	if t == nil {
		return nil
	}
	return slices.Clone(t.versions)
}

// Kind returns the Kind of packet id in a state and direction, or
// KindUnknown for ids we do not name or that do not exist. It does not
// allocate.
func (t *Table) Kind(s mcproto.State, d mcproto.Direction, id int32) Kind {
	if t == nil || s >= mcproto.NumStates || d >= mcproto.NumDirections {
		return KindUnknown
	}
	kinds := t.kinds[s][d]
	if uint32(id) >= uint32(len(kinds)) {
		return KindUnknown
	}
	return kinds[id]
}

// ID returns the packet id of k in a state and direction, or -1 when the
// packet does not exist in this version, state and direction. It does not
// allocate.
func (t *Table) ID(s mcproto.State, d mcproto.Direction, k Kind) int32 {
	if t == nil || s >= mcproto.NumStates || d >= mcproto.NumDirections || k >= numKinds || k == KindUnknown {
		return -1
	}
	return int32(t.ids[s][d][k])
}

// Name returns minecraft-data's name for packet id, or "" if there is none.
// Useful in logs for packets that have no Kind.
func (t *Table) Name(s mcproto.State, d mcproto.Direction, id int32) string {
	if t == nil || s >= mcproto.NumStates || d >= mcproto.NumDirections {
		return ""
	}
	names := t.names[s][d]
	if uint32(id) >= uint32(len(names)) {
		return ""
	}
	return names[id]
}

// mustID returns the id of k for a protocol, state and direction, and panics
// when the packet does not exist there: writing a packet the version lacks
// is a bug in the caller, not something a peer can cause.
func mustID(protocol int32, s mcproto.State, d mcproto.Direction, k Kind) int32 {
	id := Lookup(protocol).ID(s, d, k)
	if id < 0 {
		panic(fmt.Sprintf("packets: %s %s %s does not exist in protocol %d", s, d, k, protocol))
	}
	return id
}

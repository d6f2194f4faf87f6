// Command gen writes tables_gen.go, the per-protocol packet-name tables of
// package packets, from the data folder of the npm package minecraft-data
// (PrismarineJS, MIT licence).
//
// It reads three things:
//
//   - pc/common/protocolVersions.json, to list the releases and their
//     protocol numbers;
//   - dataPaths.json (pc.<release>.protocol), to find the folder whose
//     protocol.json describes a release;
//   - <folder>/protocol.json, where the packet ids of one state and
//     direction are the mapper at <state>.<toServer|toClient>.types.packet.
//
// The output lists, for every release protocol number from 1.8 (47) up to
// the newest release the data describes, the packet names ordered by id.
// Identical lists are written once and shared. Run it through go generate in
// the packets folder; a test in this folder fails when the committed file and
// a fresh run differ.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/rustguard/rustguard/shared/mcdata"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// firstProtocol is 1.8, the oldest release the edge serves (docs/PROTOCOL.md, Protocol numbers).
// Older netty versions (1.7.x) are left out on purpose.
const firstProtocol = 47

// legacyPingName is minecraft-data's pseudo-packet for the 0xFE legacy ping.
// It is not a framed packet (0xFE replaces the frame length, docs/PROTOCOL.md, Status and the legacy ping),
// so it has no place in an id table; packets.ParseLegacyPing handles it.
const legacyPingName = "legacy_server_list_ping"

// states maps minecraft-data's state keys to mcproto identifiers, in the
// order of mcproto.State.
var states = []struct{ data, goName, ident string }{
	{"handshaking", "mcproto.StateHandshake", "handshake"},
	{"status", "mcproto.StateStatus", "status"},
	{"login", "mcproto.StateLogin", "login"},
	{"configuration", "mcproto.StateConfiguration", "configuration"},
	{"play", "mcproto.StatePlay", "play"},
}

// directions maps minecraft-data's direction keys, in mcproto.Direction order.
var directions = []struct{ data, goName, ident string }{
	{"toServer", "mcproto.Serverbound", "Serverbound"},
	{"toClient", "mcproto.Clientbound", "Clientbound"},
}

func main() {
	data := flag.String("data", "", "minecraft-data data folder (…/node_modules/minecraft-data/minecraft-data/data)")
	out := flag.String("out", "tables_gen.go", "file to write")
	flag.Parse()
	if *data == "" {
		log.Fatal("gen: -data is required")
	}
	if err := run(*data, *out); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

// run generates the tables from dataDir and writes them to out.
func run(dataDir, out string) error {
	src, err := generate(dataDir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

// names holds one protocol's packet names by state, direction and id.
type names [5][2][]string

// protocolEntry is one protocol number and what describes it.
type protocolEntry struct {
	protocol int32
	releases []string // oldest first
	major    string   // majorVersion of the releases (e.g. "1.9")
	folder   string   // dataPaths folder, e.g. "pc/1.20.3"
	note     string   // why a folder was borrowed, "" when the data names it
	tables   names
}

// mcdata.Package is the part of the npm package.json we record.
func generate(dataDir string) ([]byte, error) {
	pkg, licence, err := mcdata.Open(dataDir)
	if err != nil {
		return nil, err
	}
	entries, err := resolve(dataDir)
	if err != nil {
		return nil, err
	}
	return render(pkg, licence, entries)
}

// resolve lists the supported protocols with the folder and names that
// describe each.
func resolve(dataDir string) ([]protocolEntry, error) {
	entries, err := releases(dataDir)
	if err != nil {
		return nil, err
	}
	folders, err := readDataPaths(dataDir)
	if err != nil {
		return nil, err
	}
	cache := map[string]names{}
	load := func(folder string) (names, error) {
		if t, ok := cache[folder]; ok {
			return t, nil
		}
		t, err := readProtocol(filepath.Join(dataDir, filepath.FromSlash(folder), "protocol.json"))
		if err != nil {
			return names{}, fmt.Errorf("%s: %w", folder, err)
		}
		cache[folder] = t
		return t, nil
	}

	// The folder of a protocol is the one dataPaths gives its newest release
	// that has one (1.21.2 has none, 1.21.3 shares its protocol and has).
	for i := range entries {
		e := &entries[i]
		for j := len(e.releases) - 1; j >= 0 && e.folder == ""; j-- {
			e.folder = folders[e.releases[j]]
		}
		if e.folder == "" {
			continue
		}
		if e.tables, err = load(e.folder); err != nil {
			return nil, err
		}
	}

	// Protocols newer than the newest described one are not supported: the
	// data says nothing about them.
	last := len(entries) - 1
	for last >= 0 && entries[last].folder == "" {
		last--
	}
	if last < 0 {
		return nil, errors.New("no release protocol is described by dataPaths.json")
	}
	entries = entries[:last+1]

	// A release in the middle with no folder (1.9.1, 1.14.2) borrows its
	// neighbour's tables, but only when both neighbours belong to the same
	// major version and agree on every id: then the ids cannot have changed
	// in between. Anything else needs a human decision.
	for i := range entries {
		e := &entries[i]
		if e.folder != "" {
			continue
		}
		if i == 0 {
			return nil, fmt.Errorf("protocol %d (%s) has no data folder", e.protocol, strings.Join(e.releases, ", "))
		}
		// The last entry has a folder (trimmed above), so next exists.
		prev, next := &entries[i-1], &entries[i+1]
		for k := i + 1; next.folder == ""; k++ {
			next = &entries[k+1]
		}
		if prev.major != e.major || next.major != e.major {
			return nil, fmt.Errorf("protocol %d (%s) has no data folder and no same-version neighbours to borrow from",
				e.protocol, strings.Join(e.releases, ", "))
		}
		if !sameNames(prev.tables, next.tables) {
			return nil, fmt.Errorf("protocol %d (%s) has no data folder and its neighbours %d and %d differ",
				e.protocol, strings.Join(e.releases, ", "), prev.protocol, next.protocol)
		}
		e.folder, e.tables = prev.folder, prev.tables
		e.note = fmt.Sprintf("no data for %s; %s and %s agree", e.releases[len(e.releases)-1],
			prev.releases[len(prev.releases)-1], next.releases[len(next.releases)-1])
	}
	return entries, nil
}

// releases lists the release protocols ≥ firstProtocol, ascending, each with
// its release names oldest first.
func releases(dataDir string) ([]protocolEntry, error) {
	rs, err := mcdata.Releases(dataDir, firstProtocol)
	if err != nil {
		return nil, err
	}
	out := make([]protocolEntry, len(rs))
	for i, r := range rs {
		out[i] = protocolEntry{protocol: r.Protocol, major: r.Major, releases: r.Names}
	}
	return out, nil
}

// readDataPaths returns release name → protocol folder.
func readDataPaths(dataDir string) (map[string]string, error) {
	var dp struct {
		PC map[string]map[string]string `json:"pc"`
	}
	if err := mcdata.ReadJSON(filepath.Join(dataDir, "dataPaths.json"), &dp); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for release, paths := range dp.PC {
		if p := paths["protocol"]; p != "" {
			out[release] = p
		}
	}
	return out, nil
}

// readProtocol extracts the packet names by id from one protocol.json.
func readProtocol(path string) (names, error) {
	var t names
	var doc map[string]json.RawMessage
	if err := mcdata.ReadJSON(path, &doc); err != nil {
		return t, err
	}
	for si, st := range states {
		raw, ok := doc[st.data]
		if !ok {
			continue // no configuration state before 1.20.2
		}
		var dirs map[string]struct {
			Types map[string]json.RawMessage `json:"types"`
		}
		if err := json.Unmarshal(raw, &dirs); err != nil {
			return t, fmt.Errorf("%s: %w", st.data, err)
		}
		for di, d := range directions {
			packet, ok := dirs[d.data].Types["packet"]
			if !ok {
				return t, fmt.Errorf("%s.%s: no packet type", st.data, d.data)
			}
			list, err := packetNames(packet)
			if err != nil {
				return t, fmt.Errorf("%s.%s: %w", st.data, d.data, err)
			}
			t[si][di] = list
		}
	}
	return t, nil
}

// packetNames reads ["container", [{"name":"name","type":["mapper",
// {"type":"varint","mappings":{"0x00":"…"}}]}, …]] into a dense list.
func packetNames(packet json.RawMessage) ([]string, error) {
	var container []json.RawMessage
	if err := json.Unmarshal(packet, &container); err != nil || len(container) != 2 {
		return nil, fmt.Errorf("packet type is not a container: %w", err)
	}
	var fields []struct {
		Name string            `json:"name"`
		Type []json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(container[1], &fields); err != nil || len(fields) == 0 {
		return nil, fmt.Errorf("packet container fields: %w", err)
	}
	if fields[0].Name != "name" || len(fields[0].Type) != 2 || string(fields[0].Type[0]) != `"mapper"` {
		return nil, errors.New(`first packet field is not the "name" mapper`)
	}
	var mapper struct {
		Type     string            `json:"type"`
		Mappings map[string]string `json:"mappings"`
	}
	if err := json.Unmarshal(fields[0].Type[1], &mapper); err != nil {
		return nil, fmt.Errorf("mapper: %w", err)
	}
	if mapper.Type != "varint" {
		return nil, fmt.Errorf("packet id type %q, want varint", mapper.Type)
	}
	byID := map[int]string{}
	maxID := -1
	for key, name := range mapper.Mappings {
		if name == legacyPingName {
			continue
		}
		id, err := strconv.ParseInt(key, 0, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("packet id %q: %w", key, err)
		}
		byID[int(id)] = name
		maxID = max(maxID, int(id))
	}
	list := make([]string, maxID+1)
	seen := map[string]bool{}
	for id := range list {
		name, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("packet ids are not dense: %#x missing", id)
		}
		if seen[name] {
			return nil, fmt.Errorf("packet name %q used twice", name)
		}
		seen[name] = true
		list[id] = name
	}
	return list, nil
}

func sameNames(a, b names) bool {
	for s := range a {
		for d := range a[s] {
			if !slices.Equal(a[s][d], b[s][d]) {
				return false
			}
		}
	}
	return true
}

// namesPerLine keeps the generated lists compact yet readable.
const namesPerLine = 4

func render(pkg mcdata.Package, licence string, entries []protocolEntry) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/gen from %s %s; DO NOT EDIT.\n\n", pkg.Name, pkg.Version)
	b.WriteString("// The packet names below come from minecraft-data (PrismarineJS), used under\n")
	b.WriteString("// the MIT licence, whose notice follows.\n//\n")
	for _, line := range strings.Split(strings.TrimRight(licence, "\n"), "\n") {
		if line == "" {
			b.WriteString("//\n")
		} else {
			fmt.Fprintf(&b, "//\t%s\n", line)
		}
	}
	b.WriteString("\npackage packets\n\n")
	b.WriteString("import \"github.com/rustguard/rustguard/shared/mcproto\"\n\n")
	fmt.Fprintf(&b, "// MinProtocol and MaxProtocol bound the release protocols the tables cover\n")
	fmt.Fprintf(&b, "// (%s to %s).\n", entries[0].releases[0], entries[len(entries)-1].releases[len(entries[len(entries)-1].releases)-1])
	fmt.Fprintf(&b, "const (\n\tMinProtocol int32 = %d\n\tMaxProtocol int32 = %d\n)\n\n", entries[0].protocol, entries[len(entries)-1].protocol)

	// Shared name lists: one variable per distinct list and state/direction,
	// named after the first protocol that uses it.
	varOf := map[string]string{}
	ref := make([]names, len(entries)) // holds variable names, not packet names
	var lists bytes.Buffer
	for si, st := range states {
		for di, d := range directions {
			for i, e := range entries {
				list := e.tables[si][di]
				if len(list) == 0 {
					continue
				}
				key := fmt.Sprintf("%d/%d/%s", si, di, strings.Join(list, ","))
				v, ok := varOf[key]
				if !ok {
					v = fmt.Sprintf("%s%s%d", st.ident, d.ident, e.protocol)
					varOf[key] = v
					writeList(&lists, v, list)
				}
				ref[i][si][di] = []string{v}
			}
		}
	}

	b.WriteString("// generatedTables lists every supported protocol, ascending.\n")
	b.WriteString("var generatedTables = [...]generatedTable{\n")
	for i, e := range entries {
		fmt.Fprintf(&b, "\t{ // %s", e.folder)
		if e.note != "" {
			fmt.Fprintf(&b, " (%s)", e.note)
		}
		fmt.Fprintf(&b, "\n\t\tprotocol: %d,\n\t\tversions: []string{", e.protocol)
		for j, r := range e.releases {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", r)
		}
		b.WriteString("},\n\t\tnames: [mcproto.NumStates][mcproto.NumDirections][]string{\n")
		for si, st := range states {
			var parts []string
			for di, d := range directions {
				if v := ref[i][si][di]; v != nil {
					parts = append(parts, d.goName+": "+v[0])
				}
			}
			if len(parts) > 0 {
				fmt.Fprintf(&b, "\t\t\t%s: {%s},\n", st.goName, strings.Join(parts, ", "))
			}
		}
		b.WriteString("\t\t},\n\t},\n")
	}
	b.WriteString("}\n\n")
	b.Write(lists.Bytes())

	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated code: %w", err)
	}
	return src, nil
}

func writeList(b *bytes.Buffer, name string, list []string) {
	fmt.Fprintf(b, "var %s = []string{\n", name)
	for i, n := range list {
		if i%namesPerLine == 0 {
			b.WriteString("\t")
		} else {
			b.WriteString(" ")
		}
		fmt.Fprintf(b, "0x%02x: %q,", i, n)
		if i%namesPerLine == namesPerLine-1 || i == len(list)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString("}\n\n")
}

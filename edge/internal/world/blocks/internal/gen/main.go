// Command gen writes tables.bin and tables_gen.go, package blocks' per-protocol
// block state classes; shapes.bin and shapes_gen.go, the exact collision
// boxes of every state (shapes.go); and hardness.bin and hardness_gen.go, the
// dig tables; from the data folder of the npm package minecraft-data
// (PrismarineJS, MIT licence).
//
// It reads, per release: dataPaths.json (pc.<release>.blocks and
// .blockCollisionShapes) to find the folders, <folder>/blocks.json (names,
// state ranges, state properties; before 1.13 ids and metadata) and
// <folder>/blockCollisionShapes.json (the boxes of every state). Each state
// becomes one byte (blocks.Pack): a shape class from its boxes, a movement
// property from its block name, and whether it holds water. Identical tables
// are stored once; tables.bin holds them concatenated and DEFLATE
// compressed (neighbouring versions share most of their bytes, so the
// whole set compresses to a few KiB), and tables_gen.go maps protocols to
// them. A test in this folder fails when the committed files and a fresh
// run differ.
package main

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/mcdata"
)

// firstProtocol is 1.8, the oldest release the edge serves (docs/PROTOCOL.md).
const firstProtocol = 47

// preFlatteningStates is the state space before 1.13: block id (8 bits in
// the chunk format's global palette of 13 bits... id<<4 | metadata, with ids
// below 256).
const preFlatteningStates = 256 << 4

func main() {
	data := flag.String("data", "", "minecraft-data data folder (…/node_modules/minecraft-data/minecraft-data/data)")
	outDir := flag.String("out", ".", "folder to write the generated files into")
	flag.Parse()
	if *data == "" {
		log.Fatal("gen: -data is required")
	}
	files, err := generate(*data)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(*outDir, name), content, 0o644); err != nil {
			log.Fatalf("gen: %v", err)
		}
	}
}

type protocolEntry struct {
	protocol int32
	releases []string
	major    string
	folders  string // "blocks|shapes" folders
	note     string
	table    []blocks.State
	shapes   []stateShape // per state id, parallel to table (shapes.go)
}

// generate returns the generated files by name: tables_gen.go and tables.bin
// (the classes), shapes_gen.go and shapes.bin (the exact boxes),
// hardness_gen.go and hardness.bin (the dig tables).
func generate(dataDir string) (map[string][]byte, error) {
	pkg, licence, err := mcdata.Open(dataDir)
	version := pkg.Version
	if err != nil {
		return nil, err
	}
	entries, err := releases(dataDir)
	if err != nil {
		return nil, err
	}
	var dp struct {
		PC map[string]map[string]string `json:"pc"`
	}
	if err := mcdata.ReadJSON(filepath.Join(dataDir, "dataPaths.json"), &dp); err != nil {
		return nil, err
	}
	cache := map[string][]blocks.State{}
	shapeCache := map[string][]stateShape{}
	for i := range entries {
		e := &entries[i]
		for j := len(e.releases) - 1; j >= 0 && e.folders == ""; j-- {
			p := dp.PC[e.releases[j]]
			if p["blocks"] != "" && p["blockCollisionShapes"] != "" {
				e.folders = p["blocks"] + "|" + p["blockCollisionShapes"]
			}
		}
		if e.folders == "" {
			continue
		}
		t, ok := cache[e.folders]
		if !ok {
			bf, sf, _ := strings.Cut(e.folders, "|")
			var sh []stateShape
			if t, sh, err = buildTable(dataDir, bf, sf); err != nil {
				return nil, fmt.Errorf("%s: %w", e.folders, err)
			}
			cache[e.folders], shapeCache[e.folders] = t, sh
		}
		e.table, e.shapes = t, shapeCache[e.folders]
	}
	last := len(entries) - 1
	for last >= 0 && entries[last].folders == "" {
		last--
	}
	entries = entries[:last+1]
	// A protocol in the middle without data borrows its neighbours' table
	// only when both belong to the same major version and agree; otherwise
	// it gets no table and its players get no world (never a guess).
	kept := entries[:0]
	for i := range entries {
		e := entries[i]
		if e.folders == "" && i > 0 {
			prev := entries[i-1]
			var next *protocolEntry
			for k := i + 1; k < len(entries); k++ {
				if entries[k].folders != "" {
					next = &entries[k]
					break
				}
			}
			if next != nil && prev.major == e.major && next.major == e.major && slices.Equal(prev.table, next.table) {
				e.folders, e.table, e.shapes = prev.folders, prev.table, prev.shapes
				e.note = fmt.Sprintf("no data for %s; %s and %s agree", e.releases[len(e.releases)-1],
					prev.releases[len(prev.releases)-1], next.releases[len(next.releases)-1])
			}
		}
		if e.folders != "" {
			kept = append(kept, e)
		}
	}
	src, bin, err := render(version, licence, kept)
	if err != nil {
		return nil, err
	}
	shapesSrc, shapesBin, err := renderShapes(version, kept)
	if err != nil {
		return nil, err
	}
	hardSrc, hardBin, err := generateHardness(dataDir)
	if err != nil {
		return nil, fmt.Errorf("hardness: %w", err)
	}
	return map[string][]byte{"tables_gen.go": src, "tables.bin": bin, "shapes_gen.go": shapesSrc, "shapes.bin": shapesBin,
		"hardness_gen.go": hardSrc, "hardness.bin": hardBin}, nil
}

// block is the part of one blocks.json entry we use.
type block struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	MinStateID *int   `json:"minStateId"`
	MaxStateID *int   `json:"maxStateId"`
	States     []struct {
		Name      string `json:"name"`
		Type      string `json:"type"`
		NumValues int    `json:"num_values"`
	} `json:"states"`
}

func buildTable(dataDir, blocksFolder, shapesFolder string) ([]blocks.State, []stateShape, error) {
	var list []block
	if err := mcdata.ReadJSON(filepath.Join(dataDir, filepath.FromSlash(blocksFolder), "blocks.json"), &list); err != nil {
		return nil, nil, err
	}
	var shapes struct {
		Blocks map[string]json.RawMessage `json:"blocks"`
		Shapes map[string][][6]float64    `json:"shapes"`
	}
	if err := mcdata.ReadJSON(filepath.Join(dataDir, filepath.FromSlash(shapesFolder), "blockCollisionShapes.json"), &shapes); err != nil {
		return nil, nil, err
	}
	// shapeIDs parses a block's entry once: one shape id for every state,
	// or one per state (parsing it per state made generation quadratic in
	// the states of walls and fences).
	parsed := map[string][]int{}
	shapeIDs := func(name string) []int {
		if ids, ok := parsed[name]; ok {
			return ids
		}
		var ids []int
		if raw, ok := shapes.Blocks[name]; ok {
			var id int
			if err := json.Unmarshal(raw, &id); err == nil {
				ids = []int{id}
			} else if err := json.Unmarshal(raw, &ids); err != nil {
				ids = nil
			}
		}
		parsed[name] = ids
		return ids
	}
	// shapeOf returns the boxes of the i-th state of a block (metadata before
	// 1.13), or ok=false when the data has none.
	shapeOf := func(name string, i int) ([][6]float64, bool) {
		ids := shapeIDs(name)
		var id int
		switch {
		case len(ids) == 1:
			id = ids[0]
		case i < len(ids):
			id = ids[i]
		default:
			return nil, false
		}
		boxes, ok := shapes.Shapes[strconv.Itoa(id)]
		return boxes, ok
	}

	flattened := len(list) > 0 && list[0].MinStateID != nil
	if !flattened {
		out := make([]blocks.State, preFlatteningStates)
		sh := make([]stateShape, preFlatteningStates)
		for _, b := range list {
			if b.ID < 0 || b.ID >= 256 {
				return nil, nil, fmt.Errorf("block %s: id %d out of range", b.Name, b.ID)
			}
			for meta := range 16 {
				boxes, ok := shapeOf(b.Name, meta)
				out[b.ID<<4|meta] = classify(b.Name, boxes, ok, false, false)
				sh[b.ID<<4|meta] = shapeFor(b.Name, boxes, ok, true, meta) // a liquid's metadata is its level
			}
		}
		out = trimUnknown(out)
		return out, sh[:len(out)], nil
	}
	maxState := 0
	for _, b := range list {
		if b.MaxStateID == nil || b.MinStateID == nil {
			return nil, nil, fmt.Errorf("block %s: no state range", b.Name)
		}
		maxState = max(maxState, *b.MaxStateID)
	}
	if maxState >= 1<<16 {
		return nil, nil, fmt.Errorf("%d states: more than the table format holds", maxState+1)
	}
	out := make([]blocks.State, maxState+1)
	sh := make([]stateShape, maxState+1)
	for _, b := range list {
		n := *b.MaxStateID - *b.MinStateID + 1
		for i := range n {
			boxes, ok := shapeOf(b.Name, i)
			water := propertyIndex(b, "waterlogged", i) == 0 // booleans list true first
			drag := propertyIndex(b, "drag", i) == 0
			out[*b.MinStateID+i] = classify(b.Name, boxes, ok, water, drag)
			sh[*b.MinStateID+i] = shapeFor(b.Name, boxes, ok, false, propertyIndex(b, "level", i))
		}
	}
	return out, sh, nil
}

// propertyIndex returns the value index of property name in the i-th state of
// b, or -1. States enumerate properties with the last one changing fastest.
func propertyIndex(b block, name string, i int) int {
	stride := 1
	for k := len(b.States) - 1; k >= 0; k-- {
		p := b.States[k]
		if p.Name == name {
			return i / stride % p.NumValues
		}
		stride *= max(p.NumValues, 1)
	}
	return -1
}

// trimUnknown drops trailing unknown states: Lookup answers unknown past the end.
func trimUnknown(t []blocks.State) []blocks.State {
	for len(t) > 0 && t[len(t)-1] == blocks.Pack(blocks.ShapeUnknown, blocks.MoveNone, false) {
		t = t[:len(t)-1]
	}
	return t
}

// movementByName: block names (both sides of the flattening) → movement.
var movementByName = map[string]blocks.Movement{
	"water": blocks.MoveWater, "flowing_water": blocks.MoveWater,
	"lava": blocks.MoveLava, "flowing_lava": blocks.MoveLava,
	"ladder": blocks.MoveClimbable, "vine": blocks.MoveClimbable,
	"twisting_vines": blocks.MoveClimbable, "twisting_vines_plant": blocks.MoveClimbable,
	"weeping_vines": blocks.MoveClimbable, "weeping_vines_plant": blocks.MoveClimbable,
	"cave_vines": blocks.MoveClimbable, "cave_vines_plant": blocks.MoveClimbable,
	"ice": blocks.MoveIce, "packed_ice": blocks.MoveIce, "frosted_ice": blocks.MoveIce,
	"blue_ice":    blocks.MoveBlueIce,
	"slime_block": blocks.MoveSlime, "slime": blocks.MoveSlime,
	"honey_block": blocks.MoveHoney,
	"soul_sand":   blocks.MoveSoulSand,
	"cobweb":      blocks.MoveCobweb, "web": blocks.MoveCobweb,
	"powder_snow": blocks.MovePowderSnow,
	"scaffolding": blocks.MoveScaffolding,
}

// alwaysWater are blocks that are water without a waterlogged property.
var alwaysWater = map[string]bool{
	"water": true, "flowing_water": true, "bubble_column": true,
	"kelp": true, "kelp_plant": true, "seagrass": true, "tall_seagrass": true,
}

func classify(name string, boxes [][6]float64, known, waterlogged, drag bool) blocks.State {
	move := movementByName[name]
	if name == "bubble_column" {
		move = blocks.MoveBubbleUp
		if drag {
			move = blocks.MoveBubbleDown
		}
	}
	water := waterlogged || alwaysWater[name]
	if !known {
		return blocks.Pack(blocks.ShapeUnknown, move, water)
	}
	return blocks.Pack(shapeClass(name, boxes), move, water)
}

func shapeClass(name string, boxes [][6]float64) blocks.Shape {
	switch {
	case len(boxes) == 0:
		return blocks.ShapeEmpty
	case strings.HasSuffix(name, "_stairs"):
		return blocks.ShapeStairs
	case len(boxes) == 1 && boxes[0] == [6]float64{0, 0, 0, 1, 1, 1}:
		return blocks.ShapeFull
	case len(boxes) == 1 && boxes[0] == [6]float64{0, 0, 0, 1, 0.5, 1}:
		return blocks.ShapeSlabBottom
	case len(boxes) == 1 && boxes[0] == [6]float64{0, 0.5, 0, 1, 1, 1}:
		return blocks.ShapeSlabTop
	}
	for _, b := range boxes {
		if b[4] > 1 { // fences, walls, closed gates: 1.5 high
			return blocks.ShapeFence
		}
	}
	return blocks.ShapePartial
}

// releases lists the release protocols ≥ firstProtocol, ascending, each with
// its release names oldest first (the same rule as the packet tables).
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

func render(version, licence string, entries []protocolEntry) ([]byte, []byte, error) {
	if len(entries) == 0 {
		return nil, nil, errors.New("no protocol has block data")
	}
	var raw []byte
	offsets := map[string]int{} // table → offset in the inflated stream
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/gen from minecraft-data %s; DO NOT EDIT.\n\n", version)
	b.WriteString("// The block classes in tables.bin are derived from minecraft-data\n")
	b.WriteString("// (PrismarineJS), used under the MIT licence, whose notice follows.\n//\n")
	for _, line := range strings.Split(strings.TrimRight(licence, "\n"), "\n") {
		if line == "" {
			b.WriteString("//\n")
		} else {
			fmt.Fprintf(&b, "//\t%s\n", line)
		}
	}
	b.WriteString("\npackage blocks\n\n")
	fmt.Fprintf(&b, "// DataVersion is the minecraft-data version the tables come from.\nconst DataVersion = %q\n\n", version)
	b.WriteString("// protocolTables maps each protocol, ascending, to its table: offset and\n")
	b.WriteString("// length in tables.bin once inflated, one byte (a State) per state id.\n")
	b.WriteString("var protocolTables = [...]struct {\n\tprotocol      int32\n\toffset, length int\n}{\n")
	for _, e := range entries {
		enc := make([]byte, len(e.table))
		for i, st := range e.table {
			enc[i] = byte(st)
		}
		off, ok := offsets[string(enc)]
		if !ok {
			off = len(raw)
			offsets[string(enc)] = off
			raw = append(raw, enc...)
		}
		bf, sf, _ := strings.Cut(e.folders, "|")
		comment := fmt.Sprintf("%s: %s, shapes %s, %d states", strings.Join(e.releases, ", "), bf, sf, len(e.table))
		if e.note != "" {
			comment += " (" + e.note + ")"
		}
		fmt.Fprintf(&b, "\t{%d, %d, %d}, // %s\n", e.protocol, off, len(enc), comment)
	}
	b.WriteString("}\n\n")
	b.WriteString("// inflatedSize is the length of tables.bin once inflated.\n")
	fmt.Fprintf(&b, "const inflatedSize = %d\n", len(raw))
	return formatAndPack(b.Bytes(), raw)
}

// formatAndPack gofmts a generated Go file and DEFLATE-compresses the raw
// table bytes it describes: every table file here is written so.
func formatAndPack(goSrc, raw []byte) (src, bin []byte, err error) {
	var packed bytes.Buffer
	zw, err := flate.NewWriter(&packed, flate.BestCompression)
	if err != nil {
		return nil, nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	if src, err = format.Source(goSrc); err != nil {
		return nil, nil, fmt.Errorf("format: %w", err)
	}
	return src, packed.Bytes(), nil
}

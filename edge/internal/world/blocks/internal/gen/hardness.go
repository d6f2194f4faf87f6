package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rustguard/rustguard/shared/mcdata"
)

// The dig tables (hardness.bin, hardness_gen.go): what vanilla's break
// time needs of a block state and the held item. Per release, from
// <blocks folder>/blocks.json (hardness, material, harvestTools; state
// ranges, or ids before 1.13) and <materials folder>/materials.json (the
// destroy speed of every tool item on every material). Layout of one
// table once inflated, every number an unsigned varint:
//
//	materials: n, then per material: entries, then per entry item id, speed×10
//	harvest sets: n, then per set: items, then the item ids
//	blocks: n, then per block: first state, states, hardness×100+1 (0 =
//	unknown), material+1 (0 = unknown), harvest set+1 (0 = any hand)
//
// A material name missing from materials.json (null in older data) is
// unknown: the runtime then assumes the fastest tool of the whole game.

// speedScale and hardnessScale turn the data's decimals (tool speeds 1.5,
// 4.8, 12; hardness 0.2, 1.5, 22.5) into integers exactly.
const (
	speedScale    = 10
	hardnessScale = 100
)

// specialBreak lists blocks whose break time vanilla computes in code, not
// from the data: bamboo breaks at once under a sword
// (BambooStalkBlock.getDestroyProgress, BambooSaplingBlock). Their
// hardness is written as unknown, so they are never judged.
var specialBreak = map[string]bool{"bamboo": true, "bamboo_sapling": true}

// digBlockJSON is the part of one blocks.json entry the dig tables use.
type digBlockJSON struct {
	ID           int             `json:"id"`
	Name         string          `json:"name"`
	Hardness     *float64        `json:"hardness"`
	Material     *string         `json:"material"`
	HarvestTools map[string]bool `json:"harvestTools"`
	MinStateID   *int            `json:"minStateId"`
	MaxStateID   *int            `json:"maxStateId"`
}

type digEntry struct {
	protocol int32
	releases []string
	folders  string // "blocks|materials"
	table    []byte
}

func generateHardness(dataDir string) ([]byte, []byte, error) {
	pkg, _, err := mcdata.Open(dataDir)
	if err != nil {
		return nil, nil, err
	}
	entries, err := releases(dataDir)
	if err != nil {
		return nil, nil, err
	}
	var dp struct {
		PC map[string]map[string]string `json:"pc"`
	}
	if err := mcdata.ReadJSON(filepath.Join(dataDir, "dataPaths.json"), &dp); err != nil {
		return nil, nil, err
	}
	cache := map[string][]byte{}
	var out []digEntry
	for _, e := range entries {
		var folders string
		for j := len(e.releases) - 1; j >= 0 && folders == ""; j-- {
			p := dp.PC[e.releases[j]]
			if p["blocks"] != "" && p["materials"] != "" {
				folders = p["blocks"] + "|" + p["materials"]
			}
		}
		if folders == "" {
			continue // no data: no table, never a guess
		}
		t, ok := cache[folders]
		if !ok {
			bf, mf, _ := strings.Cut(folders, "|")
			if t, err = buildDigTable(dataDir, bf, mf); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", folders, err)
			}
			cache[folders] = t
		}
		out = append(out, digEntry{protocol: e.protocol, releases: e.releases, folders: folders, table: t})
	}
	return renderDig(pkg.Version, out)
}

func buildDigTable(dataDir, blocksFolder, materialsFolder string) ([]byte, error) {
	var list []digBlockJSON
	if err := mcdata.ReadJSON(filepath.Join(dataDir, filepath.FromSlash(blocksFolder), "blocks.json"), &list); err != nil {
		return nil, err
	}
	var mats map[string]map[string]float64
	if err := mcdata.ReadJSON(filepath.Join(dataDir, filepath.FromSlash(materialsFolder), "materials.json"), &mats); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(mats))
	for n := range mats {
		names = append(names, n)
	}
	sort.Strings(names)
	matIndex := map[string]int{}
	var raw []byte
	raw = binary.AppendUvarint(raw, uint64(len(names)))
	for i, n := range names {
		matIndex[n] = i
		items := sortedIDs(mats[n])
		raw = binary.AppendUvarint(raw, uint64(len(items)))
		for _, id := range items {
			sp := math.Round(mats[n][strconv.Itoa(id)] * speedScale)
			if sp < 0 {
				return nil, fmt.Errorf("material %s item %d: negative speed", n, id)
			}
			raw = binary.AppendUvarint(raw, uint64(id))
			raw = binary.AppendUvarint(raw, uint64(sp))
		}
	}
	// Harvest sets, stored once each.
	var sets []string
	setIndex := map[string]int{}
	setOf := func(b digBlockJSON) (int, error) {
		if len(b.HarvestTools) == 0 {
			return 0, nil
		}
		ids := make([]int, 0, len(b.HarvestTools))
		for k, ok := range b.HarvestTools {
			id, err := strconv.Atoi(k)
			if err != nil {
				return 0, fmt.Errorf("block %s: harvest tool %q: %w", b.Name, k, err)
			}
			if ok {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		key := fmt.Sprint(ids)
		i, ok := setIndex[key]
		if !ok {
			i = len(sets)
			setIndex[key] = i
			sets = append(sets, key)
		}
		return i + 1, nil
	}
	type row struct{ first, n, hard, mat, set int }
	var rows []row
	flattened := len(list) > 0 && list[0].MinStateID != nil
	for _, b := range list {
		var first, n int
		if flattened {
			if b.MinStateID == nil || b.MaxStateID == nil {
				return nil, fmt.Errorf("block %s: no state range", b.Name)
			}
			first, n = *b.MinStateID, *b.MaxStateID-*b.MinStateID+1
		} else {
			if b.ID < 0 || b.ID >= 256 {
				return nil, fmt.Errorf("block %s: id %d out of range", b.Name, b.ID)
			}
			first, n = b.ID<<4, 16
		}
		hard := 0
		if b.Hardness != nil && *b.Hardness >= 0 && !specialBreak[b.Name] {
			hard = int(math.Round(*b.Hardness*hardnessScale)) + 1
		}
		mat := 0
		// From 1.20.5 the data names some blocks' material after a tool
		// tier tag ("incorrect_for_wooden_tool": ores, metal blocks,
		// obsidian) whose speeds list only wooden tools: the real
		// material is lost, so it counts as unknown (fastest assumed).
		if b.Material != nil && !strings.HasPrefix(*b.Material, "incorrect_for_") {
			if i, ok := matIndex[*b.Material]; ok {
				mat = i + 1
			}
		}
		set, err := setOf(b)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{first, n, hard, mat, set})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].first < rows[j].first })
	for i := 1; i < len(rows); i++ {
		if rows[i].first < rows[i-1].first+rows[i-1].n {
			return nil, fmt.Errorf("state ranges overlap at %d", rows[i].first)
		}
	}
	raw = binary.AppendUvarint(raw, uint64(len(sets)))
	for _, s := range sets {
		var ids []int
		for _, f := range strings.Fields(strings.Trim(s, "[]")) {
			id, _ := strconv.Atoi(f)
			ids = append(ids, id)
		}
		raw = binary.AppendUvarint(raw, uint64(len(ids)))
		for _, id := range ids {
			raw = binary.AppendUvarint(raw, uint64(id))
		}
	}
	raw = binary.AppendUvarint(raw, uint64(len(rows)))
	for _, r := range rows {
		for _, v := range []int{r.first, r.n, r.hard, r.mat, r.set} {
			raw = binary.AppendUvarint(raw, uint64(v))
		}
	}
	return raw, nil
}

func sortedIDs(m map[string]float64) []int {
	ids := make([]int, 0, len(m))
	for k := range m {
		if id, err := strconv.Atoi(k); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func renderDig(version string, entries []digEntry) ([]byte, []byte, error) {
	if len(entries) == 0 {
		return nil, nil, errors.New("no protocol has dig data")
	}
	var raw []byte
	offsets := map[string]int{}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/gen from minecraft-data %s; DO NOT EDIT.\n\n", version)
	b.WriteString("// The dig data in hardness.bin is derived from minecraft-data (MIT\n")
	b.WriteString("// licence; the notice is in tables_gen.go and THIRD_PARTY.md).\n\n")
	b.WriteString("package blocks\n\n")
	b.WriteString("// protocolDig maps each protocol, ascending, to its dig table: offset and\n")
	b.WriteString("// length in hardness.bin once inflated.\n")
	b.WriteString("var protocolDig = [...]struct {\n\tprotocol      int32\n\toffset, length int\n}{\n")
	for _, e := range entries {
		off, ok := offsets[string(e.table)]
		if !ok {
			off = len(raw)
			offsets[string(e.table)] = off
			raw = append(raw, e.table...)
		}
		bf, mf, _ := strings.Cut(e.folders, "|")
		fmt.Fprintf(&b, "\t{%d, %d, %d}, // %s: %s, materials %s\n", e.protocol, off, len(e.table), strings.Join(e.releases, ", "), bf, mf)
	}
	b.WriteString("}\n\n")
	b.WriteString("// digInflatedSize is the length of hardness.bin once inflated.\n")
	fmt.Fprintf(&b, "const digInflatedSize = %d\n", len(raw))
	return formatAndPack(b.Bytes(), raw)
}

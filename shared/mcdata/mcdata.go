// Package mcdata reads the minecraft-data npm package for the repository's
// table generators (the packet tables in shared/mcproto/packets, the block
// tables in edge/internal/world/blocks): it checks the package is the one
// and under the licence we expect, and finds the licence text the generated
// files must carry (THIRD_PARTY.md).
package mcdata

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

// Package is what the generators read from the npm package.json.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	License string `json:"license"`
}

// MITText is the standard MIT licence body. The npm package declares
// "license": "MIT" but ships no LICENSE file; when a future version ships
// one, Open returns that file verbatim instead.
const MITText = `MIT License

Copyright (c) PrismarineJS and the minecraft-data contributors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

// Open checks the package whose data folder is dataDir
// (<package>/minecraft-data/data) and returns its package.json fields and
// licence text. A package that is not minecraft-data under MIT is refused:
// regenerating from it needs its licence checked first.
func Open(dataDir string) (Package, string, error) {
	var pkg Package
	root := filepath.Dir(filepath.Dir(dataDir))
	if err := ReadJSON(filepath.Join(root, "package.json"), &pkg); err != nil {
		return pkg, "", err
	}
	if pkg.Name != "minecraft-data" || pkg.License != "MIT" {
		return pkg, "", fmt.Errorf("package.json: name %q licence %q, want minecraft-data under MIT; check the licence before regenerating",
			pkg.Name, pkg.License)
	}
	for _, dir := range []string{root, filepath.Dir(dataDir)} {
		for _, name := range []string{"LICENSE", "LICENSE.md", "LICENSE.txt", "license"} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				return pkg, string(b), nil
			}
		}
	}
	return pkg, MITText, nil
}

// ReadJSON decodes the JSON file at path into v, naming the file in errors.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Release is one protocol number with the release names that speak it.
type Release struct {
	Protocol int32
	Major    string   // majorVersion of the releases (e.g. "1.9")
	Names    []string // oldest first
}

// releaseName matches plain release names (1.8.9, 1.21.11, 26.1). Old
// entries of protocolVersions.json carry no releaseType, so the name is the
// only way to tell a release from a snapshot, pre-release or candidate.
var releaseName = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// versionRow is one row of protocolVersions.json.
type versionRow struct {
	MinecraftVersion string `json:"minecraftVersion"`
	Version          int32  `json:"version"`
	UsesNetty        bool   `json:"usesNetty"`
	MajorVersion     string `json:"majorVersion"`
	ReleaseType      string `json:"releaseType"`
}

// Releases lists the release protocols ≥ first from the package's
// protocolVersions.json, ascending, each with its release names oldest
// first. first itself must be among them: a package that lost it is refused
// rather than silently shrinking what the generated tables serve.
func Releases(dataDir string, first int32) ([]Release, error) {
	var rows []versionRow
	if err := ReadJSON(filepath.Join(dataDir, "pc", "common", "protocolVersions.json"), &rows); err != nil {
		return nil, err
	}
	byProtocol := map[int32]*Release{}
	var order []int32
	// The file lists the newest version first; walk it backwards so
	// release names come out oldest first.
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		isRelease := r.ReleaseType == "release" || r.ReleaseType == "" && releaseName.MatchString(r.MinecraftVersion)
		if !isRelease || !r.UsesNetty || r.Version < first {
			continue
		}
		e := byProtocol[r.Version]
		if e == nil {
			e = &Release{Protocol: r.Version, Major: r.MajorVersion}
			byProtocol[r.Version] = e
			order = append(order, r.Version)
		}
		if e.Major != r.MajorVersion {
			return nil, fmt.Errorf("protocol %d spans major versions %s and %s", r.Version, e.Major, r.MajorVersion)
		}
		if !slices.Contains(e.Names, r.MinecraftVersion) {
			e.Names = append(e.Names, r.MinecraftVersion)
		}
	}
	slices.Sort(order)
	out := make([]Release, 0, len(order))
	for _, p := range order {
		out = append(out, *byProtocol[p])
	}
	if len(out) == 0 || out[0].Protocol != first {
		return nil, fmt.Errorf("protocolVersions.json: no release with protocol %d", first)
	}
	return out, nil
}

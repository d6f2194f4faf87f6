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

// Package infra checks terraform/ without a cloud account: it parses every
// .tf file with HCL and checks the wiring that OpenTofu itself only checks
// once the providers are installed (which, for AWS and Consul, needs a
// registry and an account), plus the few facts the fleet depends on (the
// player port, PROXY v2, one accelerator endpoint group per region).
//
// Load reads one directory of .tf files into a Module; the checks in
// checks.go turn a tree of modules into Problems.
package infra

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Module is one directory of .tf files.
type Module struct {
	Dir       string
	Variables map[string]*Variable
	Outputs   map[string]*Output
	Locals    map[string]*hclsyntax.Attribute
	Calls     map[string]*Call
	Resources map[string]*Resource // "type.name"
	Data      map[string]*Resource // "type.name"
	// Required lists required_providers by local name.
	Required map[string]*RequiredProvider
	// ProviderBlocks are the local names of provider "x" {} blocks.
	ProviderBlocks map[string]hcl.Range
}

// Variable is a variable block.
type Variable struct {
	Name                       string
	Type, Description, Default *hclsyntax.Attribute
	Range                      hcl.Range
}

// Output is an output block.
type Output struct {
	Name               string
	Value, Description *hclsyntax.Attribute
	Range              hcl.Range
}

// Call is a module block.
type Call struct {
	Name   string
	Source string // as written
	Dir    string // resolved, for local sources
	Attrs  map[string]*hclsyntax.Attribute
	Range  hcl.Range
}

// Resource is a resource or data block.
type Resource struct {
	Type, Name string
	Body       *hclsyntax.Body
	Range      hcl.Range
}

// RequiredProvider is one entry of required_providers.
type RequiredProvider struct {
	Name, Source, Version string
	Range                 hcl.Range
}

// callMeta are module block arguments that are not the module's variables.
var callMeta = map[string]bool{"source": true, "version": true, "count": true, "for_each": true, "depends_on": true, "providers": true}

// Load parses every .tf file in dir. A file that does not parse is an
// error: the checks need the whole module.
func Load(dir string) (*Module, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .tf files", dir)
	}
	sort.Strings(files)
	m := &Module{
		Dir: dir, Variables: map[string]*Variable{}, Outputs: map[string]*Output{},
		Locals: map[string]*hclsyntax.Attribute{}, Calls: map[string]*Call{},
		Resources: map[string]*Resource{}, Data: map[string]*Resource{},
		Required: map[string]*RequiredProvider{}, ProviderBlocks: map[string]hcl.Range{},
	}
	p := hclparse.NewParser()
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse: %s", diags.Error())
		}
		body, ok := file.Body.(*hclsyntax.Body)
		if !ok {
			return nil, fmt.Errorf("%s: not native HCL syntax", f)
		}
		if err := m.add(body); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return m, nil
}

func (m *Module) add(body *hclsyntax.Body) error {
	for _, b := range body.Blocks {
		rng := b.DefRange()
		switch b.Type {
		case "variable":
			a := b.Body.Attributes
			m.Variables[b.Labels[0]] = &Variable{Name: b.Labels[0], Type: a["type"], Description: a["description"], Default: a["default"], Range: rng}
		case "output":
			a := b.Body.Attributes
			m.Outputs[b.Labels[0]] = &Output{Name: b.Labels[0], Value: a["value"], Description: a["description"], Range: rng}
		case "locals":
			for name, a := range b.Body.Attributes {
				m.Locals[name] = a
			}
		case "module":
			c := &Call{Name: b.Labels[0], Attrs: b.Body.Attributes, Range: rng}
			if src, ok := b.Body.Attributes["source"]; ok {
				v, diags := src.Expr.Value(nil)
				if diags.HasErrors() || v.Type() != cty.String {
					return fmt.Errorf("module %q: source must be a literal string", c.Name)
				}
				c.Source = v.AsString()
				if strings.HasPrefix(c.Source, "./") || strings.HasPrefix(c.Source, "../") {
					c.Dir = filepath.Clean(filepath.Join(m.Dir, c.Source))
				}
			}
			m.Calls[c.Name] = c
		case "resource":
			m.Resources[b.Labels[0]+"."+b.Labels[1]] = &Resource{Type: b.Labels[0], Name: b.Labels[1], Body: b.Body, Range: rng}
		case "data":
			m.Data[b.Labels[0]+"."+b.Labels[1]] = &Resource{Type: b.Labels[0], Name: b.Labels[1], Body: b.Body, Range: rng}
		case "provider":
			m.ProviderBlocks[b.Labels[0]] = rng
		case "terraform":
			for _, rb := range b.Body.Blocks {
				if rb.Type != "required_providers" {
					continue
				}
				for name, a := range rb.Body.Attributes {
					rp := &RequiredProvider{Name: name, Range: a.SrcRange}
					v, diags := a.Expr.Value(nil)
					if diags.HasErrors() || !v.Type().IsObjectType() {
						return fmt.Errorf("required_providers %q: want { source = ..., version = ... }", name)
					}
					if v.Type().HasAttribute("source") {
						rp.Source = v.GetAttr("source").AsString()
					}
					if v.Type().HasAttribute("version") {
						rp.Version = v.GetAttr("version").AsString()
					}
					m.Required[name] = rp
				}
			}
		}
	}
	return nil
}

// Tree is every module under a directory, plus the modules their calls
// reach, by directory.
type Tree struct {
	Root    string
	Modules map[string]*Module
}

// LoadTree loads every directory under root that holds .tf files and every
// local module those call.
func LoadTree(root string) (*Tree, error) {
	t := &Tree{Root: root, Modules: map[string]*Module{}}
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".terraform" || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".tf") {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if _, err := t.Load(d); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Load returns the module in dir, loading it (and what it calls) once.
func (t *Tree) Load(dir string) (*Module, error) {
	dir = filepath.Clean(dir)
	if m, ok := t.Modules[dir]; ok {
		return m, nil
	}
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	t.Modules[dir] = m
	for _, c := range m.Calls {
		if c.Dir == "" {
			continue
		}
		if _, err := os.Stat(c.Dir); err != nil {
			continue // reported by checkCalls
		}
		if _, err := t.Load(c.Dir); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Dirs returns the module directories, sorted.
func (t *Tree) Dirs() []string {
	out := make([]string, 0, len(t.Modules))
	for d := range t.Modules {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

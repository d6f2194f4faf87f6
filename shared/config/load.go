package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"
	"go.yaml.in/yaml/v3"
)

// maxFileSize caps how much of the config file is read. The full document
// is about 2 KB; a megabyte is far past any real file and stops a wrong
// path (a log, a device) from being read whole.
const maxFileSize = 1 << 20

// Errors a caller or a test may branch on. Each is wrapped with the file
// path, line or variable it concerns.
var (
	// ErrUnknownKey is a key in the file that names no setting.
	ErrUnknownKey = errors.New("unknown key")
	// ErrFileTooLarge is a config file over maxFileSize.
	ErrFileTooLarge = errors.New("file too large")
)

// Source says which layer set a field.
type Source int

// Layers, lowest precedence first.
const (
	SourceDefault Source = iota
	SourceFile
	SourceEnv
	// SourceFleet is the fleet document (fleet.go), laid over the rest
	// while the edge runs.
	SourceFleet
)

func (s Source) String() string {
	switch s {
	case SourceDefault:
		return "default"
	case SourceFile:
		return "file"
	case SourceEnv:
		return "env"
	case SourceFleet:
		return "fleet"
	default:
		return fmt.Sprintf("Source(%d)", int(s))
	}
}

// Provenance records where each field's value came from. The zero value
// means "everything is a default".
type Provenance struct {
	// File is the config file that was read, "" when none was.
	File    string
	sources map[string]Source // dotted path → layer; absent = default
}

// Source returns the layer that set the field at the dotted YAML path
// (e.g. "proxy.timeout").
func (p Provenance) Source(path string) Source {
	return p.sources[path] // a nil map reads as SourceDefault
}

// Fields returns the sorted dotted paths set by layer s. For SourceDefault
// it returns the fields no file or variable touched.
func (p Provenance) Fields(s Source) []string {
	var out []string
	for _, f := range edgeFields() {
		if p.Source(f.path) == s {
			out = append(out, f.path)
		}
	}
	slices.Sort(out)
	return out
}

func (p *Provenance) set(path string, s Source) {
	if p.sources == nil {
		p.sources = make(map[string]Source)
	}
	p.sources[path] = s
}

// LogValue implements slog.LogValuer: the file and which fields the file
// and the environment set (everything else is a default).
func (p Provenance) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("file", p.File),
		slog.String("from_file", strings.Join(p.Fields(SourceFile), ",")),
		slog.String("from_env", strings.Join(p.Fields(SourceEnv), ",")),
	)
}

// LoadEdge builds the configuration: defaults, then the file named by
// RUSTGUARD_CONFIG, then RUSTGUARD_* variables, then Validate. lookup reads
// one environment variable (os.LookupEnv in production, a map in tests);
// nil means os.LookupEnv. An empty variable counts as unset, as it does in
// caarlos0/env.
func LoadEdge(lookup func(string) (string, bool)) (Edge, Provenance, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	e := DefaultEdge()
	var prov Provenance

	if path, ok := lookup(EnvConfigFile); ok && path != "" {
		data, err := readFile(path)
		if err != nil {
			return Edge{}, Provenance{}, err
		}
		if err := decodeYAML(data, &e, &prov); err != nil {
			return Edge{}, Provenance{}, fmt.Errorf("config file %s: %w", path, err)
		}
		prov.File = path
	}

	if err := applyEnv(lookup, &e, &prov); err != nil {
		return Edge{}, Provenance{}, err
	}

	if err := e.Validate(); err != nil {
		return Edge{}, Provenance{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return e, prov, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s (from %s): %w", path, EnvConfigFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config file %s: read: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("config file %s: %w (over %d bytes)", path, ErrFileTooLarge, maxFileSize)
	}
	return data, nil
}

// decodeYAML lays the file over e. It walks the document itself instead of
// decoding it in one call, so that it can (1) refuse unknown keys with
// their full dotted path and line, (2) record provenance per key, and (3)
// prefix each value error with its key. A key with an empty (null) value
// keeps its default.
func decodeYAML(data []byte, e *Edge, prov *Provenance) error {
	root, err := parseYAML(data)
	if err != nil || root == nil {
		return err
	}
	w := newWalker(reflect.ValueOf(e).Elem(), edgeFields(), prov, SourceFile)
	w.mapping(root, "")
	return errors.Join(w.errs...)
}

// parseYAML reads exactly one YAML document and returns its root node, or
// nil for an empty or null document.
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty file: nothing to override
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, &KeyError{Line: extra.Line, Reason: "a second YAML document; the file must hold one"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.ShortTag() == "!!null" {
		return nil, nil
	}
	return root, nil
}

// KeyError is a problem with one key of a document: where it is, its
// dotted path and what is wrong. Decoding returns them joined.
type KeyError struct {
	Line   int    // line in the document; 0 when unknown
	Field  string // dotted path ("proxy.timeout"); "" for the document itself
	Reason string
	// kind is a sentinel for errors.Is (ErrUnknownKey), or nil.
	kind error
}

func (e *KeyError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.kind == ErrUnknownKey {
		fmt.Fprintf(&b, "%v %q", ErrUnknownKey, e.Field)
		if e.Reason != "" {
			b.WriteString("; " + e.Reason)
		}
		return b.String()
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap lets callers test for ErrUnknownKey.
func (e *KeyError) Unwrap() error { return e.kind }

// yamlWalker lays a YAML mapping over a struct, key by key.
type yamlWalker struct {
	root     reflect.Value // the addressable struct being set
	prov     *Provenance   // nil: no provenance kept
	source   Source        // what prov records for a key that was set
	fields   map[string]field
	sections map[string]bool
	// shown is put in front of every field an error names, when the
	// document's paths differ from the struct's ("regions.eu.").
	shown string
	// fleet: the document is a fleet document (fleet.go): per-edge keys
	// are refused, and a null entry of a map removes the key.
	fleet bool
	errs  []error
}

func newWalker(root reflect.Value, fields []field, prov *Provenance, source Source) *yamlWalker {
	byPath := make(map[string]field, len(fields))
	for _, f := range fields {
		byPath[f.path] = f
	}
	return &yamlWalker{root: root, prov: prov, source: source, fields: byPath, sections: sections(fields)}
}

func (w *yamlWalker) fail(line int, field, reason string) {
	w.errs = append(w.errs, &KeyError{Line: line, Field: field, Reason: reason})
}

// mapping walks one section (prefix "" is the top level).
func (w *yamlWalker) mapping(n *yaml.Node, prefix string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		if prefix == "" {
			w.fail(n.Line, strings.TrimSuffix(w.shown, "."), "the top level must be a mapping of keys, got a "+kindName(n.Kind))
			return
		}
		w.fail(n.Line, w.shown+strings.TrimSuffix(prefix, "."), "must be a mapping of keys, got a "+kindName(n.Kind))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.fail(k.Line, w.shown+strings.TrimSuffix(prefix, "."), "keys must be plain names")
			continue
		}
		path := prefix + k.Value
		if f, ok := w.fields[path]; ok {
			if w.fleet && f.fleet == fleetLocal {
				w.fail(k.Line, w.shown+path, "is set per edge, in its own file or environment, not by the fleet document")
				continue
			}
			w.leaf(f, v)
			continue
		}
		if w.sections[path] {
			if v.ShortTag() != "!!null" {
				w.mapping(v, path+".")
			}
			continue
		}
		ke := &KeyError{Line: k.Line, Field: w.shown + path, kind: ErrUnknownKey}
		if near := w.suggest(path); near != "" {
			ke.Reason = fmt.Sprintf("did you mean %q?", w.shown+near)
		}
		w.errs = append(w.errs, ke)
	}
}

func (w *yamlWalker) leaf(f field, v *yaml.Node) {
	if v.ShortTag() == "!!null" {
		return
	}
	dst := w.root.FieldByIndex(f.index)
	if w.fleet && dst.Kind() == reflect.Map {
		w.mergeMap(f, dst, v)
	} else {
		w.decode(f.path, v, dst)
	}
	if w.prov != nil {
		w.prov.set(f.path, w.source)
	}
}

// mergeMap lays a mapping over a map key by key: an entry replaces the
// key's whole value, a null entry removes the key. dst must not be shared
// with a value the caller keeps (Fleet.Apply clones its maps).
func (w *yamlWalker) mergeMap(f field, dst reflect.Value, v *yaml.Node) {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v.Kind != yaml.MappingNode {
		w.fail(v.Line, w.shown+f.path, "must be a mapping, got a "+kindName(v.Kind))
		return
	}
	if dst.IsNil() {
		dst.Set(reflect.MakeMap(dst.Type()))
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		key := reflect.New(dst.Type().Key()).Elem()
		if !w.decode(f.path, k, key) {
			continue
		}
		if val.ShortTag() == "!!null" {
			dst.SetMapIndex(key, reflect.Value{})
			continue
		}
		elem := reflect.New(dst.Type().Elem()).Elem()
		if w.decode(f.path+"."+k.Value, val, elem) {
			dst.SetMapIndex(key, elem)
		}
	}
}

// decode decodes one value into dst, reporting errors against path; false
// means it failed.
func (w *yamlWalker) decode(path string, v *yaml.Node, dst reflect.Value) bool {
	if !w.knownKeys(path, v, dst.Type()) {
		return false
	}
	err := v.Decode(dst.Addr().Interface())
	if err == nil {
		return true
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		// Each message starts with "line N:" (N may be a list item's
		// line); put the key right after it.
		for _, msg := range te.Errors {
			line := v.Line
			if l, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(l, "line ") {
				if n, err := strconv.Atoi(strings.TrimPrefix(l, "line ")); err == nil {
					line, msg = n, rest
				}
			}
			w.fail(line, w.shown+path, msg)
		}
		return false
	}
	w.fail(v.Line, w.shown+path, err.Error())
	return false
}

// knownKeys refuses keys that name no field of a struct inside a leaf
// value (detection.checks.<key>.kick_vl): the YAML library ignores them,
// and a misspelt threshold that silently keeps its default is worse than
// an error. It reports whether every key is known.
func (w *yamlWalker) knownKeys(path string, v *yaml.Node, t reflect.Type) bool {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ok := true
	switch {
	case t.Kind() == reflect.Map && v.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(v.Content); i += 2 {
			ok = w.knownKeys(path+"."+v.Content[i].Value, v.Content[i+1], t.Elem()) && ok
		}
	case t.Kind() == reflect.Slice && v.Kind == yaml.SequenceNode:
		for i, item := range v.Content {
			ok = w.knownKeys(fmt.Sprintf("%s[%d]", path, i), item, t.Elem()) && ok
		}
	case t.Kind() == reflect.Struct && isSection(t) && v.Kind == yaml.MappingNode:
		byKey := make(map[string]reflect.StructField, t.NumField())
		for i := 0; i < t.NumField(); i++ {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
				byKey[name] = t.Field(i)
			}
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k := v.Content[i]
			sf, found := byKey[k.Value]
			if !found {
				ke := &KeyError{Line: k.Line, Field: w.shown + path + "." + k.Value, kind: ErrUnknownKey}
				if near := nearest(k.Value, mapKeys(byKey)); near != "" {
					ke.Reason = fmt.Sprintf("did you mean %q?", w.shown+path+"."+near)
				}
				w.errs = append(w.errs, ke)
				ok = false
				continue
			}
			ok = w.knownKeys(path+"."+k.Value, v.Content[i+1], sf.Type) && ok
		}
	}
	return ok
}

const (
	// maxSuggestDistance is how many single-character edits a typo may be
	// from a real key for the error to suggest it.
	maxSuggestDistance = 3
	// maxSuggestKeyLen: real keys are under 40 bytes; longer unknown keys
	// get no suggestion, which also bounds the quadratic distance cost.
	maxSuggestKeyLen = 64
)

// suggest returns the known key closest to an unknown one, or "".
func (w *yamlWalker) suggest(unknown string) string {
	if len(unknown) > maxSuggestKeyLen {
		return ""
	}
	best, bestDist := "", maxSuggestDistance+1
	consider := func(known string) {
		// Ties go to the smaller name so the message is deterministic.
		if d := editDistance(unknown, known); d < bestDist || d == bestDist && known < best {
			best, bestDist = known, d
		}
	}
	for p, f := range w.fields {
		if !w.fleet || f.fleet != fleetLocal {
			consider(p)
		}
	}
	for p := range w.sections {
		consider(p)
	}
	return best
}

// editDistance is the Levenshtein distance between two short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// applyEnv lays RUSTGUARD_* variables over e with caarlos0/env. It parses
// one variable per pass: the library's aggregate error names the Go field
// (and "ListenAddress" exists twice), while an operator needs the variable.
// The OnSet hook is what marks a field as set by the environment.
func applyEnv(lookup func(string) (string, bool), e *Edge, prov *Provenance) error {
	fields := edgeFields()
	byEnv := make(map[string]string, len(fields))
	for _, f := range fields {
		byEnv[f.env] = f.path
	}
	onSet := func(tag string, value any, _ bool) {
		// The hook also fires for every variable that is absent, with "".
		if s, _ := value.(string); s != "" {
			prov.set(byEnv[tag], SourceEnv)
		}
	}
	var errs []error
	for _, f := range fields {
		val, ok := lookup(f.env)
		if !ok || val == "" {
			continue
		}
		opts := env.Options{Environment: map[string]string{f.env: val}, OnSet: onSet}
		if err := env.ParseWithOptions(e, opts); err != nil {
			errs = append(errs, fmt.Errorf("environment %s=%q: %w", f.env, val, unwrapEnvError(err)))
		}
	}
	return errors.Join(errs...)
}

// unwrapEnvError strips the library's "env: parse error on field X of type
// Y:" wrapping when it holds exactly one cause: the variable name we add
// says more.
func unwrapEnvError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) || len(agg.Errors) != 1 {
		return err
	}
	var pe env.ParseError
	if errors.As(agg.Errors[0], &pe) && pe.Err != nil {
		return pe.Err
	}
	return agg.Errors[0]
}

package infra

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Check names, one per rule; every Problem carries one.
const (
	CheckCalls      = "calls"      // module arguments are declared variables; required ones are given
	CheckVariables  = "variables"  // every variable has a type and a description
	CheckReferences = "references" // outputs (and every other expression) refer to things that exist
	CheckProviders  = "providers"  // every provider used is in required_providers with a pinned version
	CheckEdge       = "edge"       // edge-region: TCP 25565, PROXY v2, /readyz, VPC trust
	CheckEntry      = "entry"      // global-entry: TCP 25565, SOURCE_IP, one endpoint group per region
)

// Problem is one rule broken at one place.
type Problem struct {
	Check string
	Pos   hcl.Range
	Msg   string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: [%s] %s", p.Pos.Filename, p.Pos.Start.Line, p.Check, p.Msg)
}

// Names of the modules whose resources carry the fleet's invariants.
const (
	edgeModule  = "edge-region"
	entryModule = "global-entry"
	// playerPort is Minecraft's port, which the load balancers and the
	// accelerator listen on.
	playerPort = 25565
)

// CheckTree runs every check on every module of t.
func CheckTree(t *Tree) []Problem {
	var ps []Problem
	for _, dir := range t.Dirs() {
		m := t.Modules[dir]
		ps = append(ps, checkVariables(m)...)
		ps = append(ps, checkProviders(m)...)
		ps = append(ps, checkReferences(m, t)...)
		ps = append(ps, checkCalls(m, t)...)
		switch filepath.Base(dir) {
		case edgeModule:
			ps = append(ps, checkEdge(m)...)
		case entryModule:
			ps = append(ps, checkEntry(m)...)
		}
		ps = append(ps, checkEntryCalls(m)...)
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].String() < ps[j].String() })
	return ps
}

func problem(check string, rng hcl.Range, format string, args ...any) Problem {
	return Problem{Check: check, Pos: rng, Msg: fmt.Sprintf(format, args...)}
}

// --- calls --------------------------------------------------------------------

// checkCalls: every argument of a module block is a variable the module
// declares, and every variable without a default is given.
func checkCalls(m *Module, t *Tree) []Problem {
	var ps []Problem
	for _, name := range sortedKeys(m.Calls) {
		c := m.Calls[name]
		if c.Dir == "" {
			ps = append(ps, problem(CheckCalls, c.Range, "module %q: source %q is not a local path; only local modules can be checked", name, c.Source))
			continue
		}
		child, ok := t.Modules[filepath.Clean(c.Dir)]
		if !ok {
			ps = append(ps, problem(CheckCalls, c.Range, "module %q: no module at %s", name, c.Source))
			continue
		}
		for _, arg := range sortedKeys(c.Attrs) {
			if callMeta[arg] {
				continue
			}
			if _, ok := child.Variables[arg]; !ok {
				ps = append(ps, problem(CheckCalls, c.Attrs[arg].SrcRange, "module %q: argument %q is not a variable of %s", name, arg, c.Source))
			}
		}
		for _, vn := range sortedKeys(child.Variables) {
			if child.Variables[vn].Default != nil {
				continue
			}
			if _, given := c.Attrs[vn]; !given {
				ps = append(ps, problem(CheckCalls, c.Range, "module %q: required variable %q of %s (it has no default) is not given", name, vn, c.Source))
			}
		}
	}
	return ps
}

// --- variables ----------------------------------------------------------------

func checkVariables(m *Module) []Problem {
	var ps []Problem
	for _, name := range sortedKeys(m.Variables) {
		v := m.Variables[name]
		if v.Type == nil {
			ps = append(ps, problem(CheckVariables, v.Range, "variable %q has no type", name))
		}
		if v.Description == nil {
			ps = append(ps, problem(CheckVariables, v.Range, "variable %q has no description", name))
			continue
		}
		d, diags := v.Description.Expr.Value(nil)
		if diags.HasErrors() || d.Type() != cty.String || d.IsNull() || len(d.AsString()) == 0 {
			ps = append(ps, problem(CheckVariables, v.Range, "variable %q has an empty or non-literal description", name))
		}
	}
	return ps
}

// --- providers ----------------------------------------------------------------

// pinned accepts an exact version (2.9.0) or a pessimistic constraint
// (~> 6.0): a new major version, with its breaking changes, never arrives
// unannounced.
var pinned = regexp.MustCompile(`^(=\s*)?[0-9]+\.[0-9]+\.[0-9]+$|^~>\s*[0-9]+\.[0-9]+(\.[0-9]+)?$`)

// providerOf is the provider local name of a resource type: the part
// before the first underscore (aws_lb → aws).
var providerOf = regexp.MustCompile(`^([a-z0-9]+)_`)

func checkProviders(m *Module) []Problem {
	used := map[string]hcl.Range{}
	for _, set := range []map[string]*Resource{m.Resources, m.Data} {
		for _, key := range sortedKeys(set) {
			r := set[key]
			if p := providerOf.FindStringSubmatch(r.Type); p != nil {
				if _, seen := used[p[1]]; !seen {
					used[p[1]] = r.Range
				}
			}
		}
	}
	for name, rng := range m.ProviderBlocks {
		if _, seen := used[name]; !seen {
			used[name] = rng
		}
	}
	var ps []Problem
	for _, name := range sortedKeys(used) {
		rp, ok := m.Required[name]
		switch {
		case !ok:
			ps = append(ps, problem(CheckProviders, used[name], "provider %q is used but not in required_providers", name))
		case rp.Source == "":
			ps = append(ps, problem(CheckProviders, rp.Range, "provider %q has no source", name))
		case rp.Version == "":
			ps = append(ps, problem(CheckProviders, rp.Range, "provider %q has no version", name))
		case !pinned.MatchString(rp.Version):
			ps = append(ps, problem(CheckProviders, rp.Range, "provider %q version %q is not pinned (an exact version or ~> MAJOR.MINOR)", name, rp.Version))
		}
	}
	return ps
}

// --- references -----------------------------------------------------------------

// Roots of traversals that name no declared object.
var builtinRoots = map[string]bool{"each": true, "count": true, "path": true, "self": true, "terraform": true}

// checkReferences: every var., local., module., data. and resource
// reference in outputs, locals, module arguments, resources and provider
// blocks names something declared; module.X.Y also needs output Y in X.
// Problems inside outputs are reported as such.
func checkReferences(m *Module, t *Tree) []Problem {
	var ps []Problem
	ref := func(check string, e hclsyntax.Expression, skip map[string]bool) {
		ps = append(ps, exprRefs(m, t, check, e, skip)...)
	}
	for _, name := range sortedKeys(m.Outputs) {
		o := m.Outputs[name]
		if o.Value == nil {
			ps = append(ps, problem(CheckReferences, o.Range, "output %q has no value", name))
			continue
		}
		ref(CheckReferences, o.Value.Expr, nil)
	}
	for _, name := range sortedKeys(m.Locals) {
		ref(CheckReferences, m.Locals[name].Expr, nil)
	}
	for _, name := range sortedKeys(m.Calls) {
		for _, a := range sortedKeys(m.Calls[name].Attrs) {
			if a == "providers" || a == "source" {
				continue
			}
			ref(CheckReferences, m.Calls[name].Attrs[a].Expr, nil)
		}
	}
	for _, set := range []map[string]*Resource{m.Resources, m.Data} {
		for _, key := range sortedKeys(set) {
			walkBody(set[key].Body, map[string]bool{}, ref)
		}
	}
	return ps
}

// walkBody visits a resource body's expressions. A dynamic block's name
// (or iterator) is a local symbol inside its content; lifecycle's
// ignore_changes names attributes, not objects.
func walkBody(b *hclsyntax.Body, skip map[string]bool, ref func(string, hclsyntax.Expression, map[string]bool)) {
	for _, name := range sortedKeys(b.Attributes) {
		if name == "provider" {
			continue
		}
		ref(CheckReferences, b.Attributes[name].Expr, skip)
	}
	for _, blk := range b.Blocks {
		switch blk.Type {
		case "lifecycle":
			for name, a := range blk.Body.Attributes {
				if name != "ignore_changes" {
					ref(CheckReferences, a.Expr, skip)
				}
			}
			for _, inner := range blk.Body.Blocks { // preconditions
				walkBody(inner.Body, skip, ref)
			}
		case "dynamic":
			inner := map[string]bool{blk.Labels[0]: true}
			if it, ok := blk.Body.Attributes["iterator"]; ok {
				if tr, ok := it.Expr.(*hclsyntax.ScopeTraversalExpr); ok {
					inner[tr.Traversal.RootName()] = true
				}
			}
			for k := range skip {
				inner[k] = true
			}
			if fe, ok := blk.Body.Attributes["for_each"]; ok {
				ref(CheckReferences, fe.Expr, skip)
			}
			for _, c := range blk.Body.Blocks {
				walkBody(c.Body, inner, ref)
			}
		default:
			walkBody(blk.Body, skip, ref)
		}
	}
}

// exprRefs checks the references in one expression.
func exprRefs(m *Module, t *Tree, check string, e hclsyntax.Expression, skip map[string]bool) []Problem {
	var ps []Problem
	for _, tr := range hclsyntax.Variables(e) {
		root := tr.RootName()
		if builtinRoots[root] || skip[root] {
			continue
		}
		rng := tr.SourceRange()
		second := attrName(tr, 1)
		switch root {
		case "var":
			if _, ok := m.Variables[second]; !ok {
				ps = append(ps, problem(check, rng, "var.%s is not declared", second))
			}
		case "local":
			if _, ok := m.Locals[second]; !ok {
				ps = append(ps, problem(check, rng, "local.%s is not declared", second))
			}
		case "module":
			c, ok := m.Calls[second]
			if !ok {
				ps = append(ps, problem(check, rng, "module.%s is not a module call", second))
				continue
			}
			if out := moduleOutputStep(tr); out != "" {
				if child := t.Modules[filepath.Clean(c.Dir)]; child != nil {
					if _, ok := child.Outputs[out]; !ok {
						ps = append(ps, problem(check, rng, "module.%s has no output %q", second, out))
					}
				}
			}
		case "data":
			key := second + "." + attrName(tr, 2)
			if _, ok := m.Data[key]; !ok {
				ps = append(ps, problem(check, rng, "data.%s is not declared", key))
			}
		default:
			key := root + "." + second
			if _, ok := m.Resources[key]; !ok {
				ps = append(ps, problem(check, rng, "%s is not a resource of this module", key))
			}
		}
	}
	// for name, x in module.X : ... x.output ...: the outputs read through
	// the loop variable must exist too.
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		fe, ok := n.(*hclsyntax.ForExpr)
		if !ok {
			return nil
		}
		coll, ok := fe.CollExpr.(*hclsyntax.ScopeTraversalExpr)
		if !ok || coll.Traversal.RootName() != "module" || len(coll.Traversal) != 2 {
			return nil
		}
		c, ok := m.Calls[attrName(coll.Traversal, 1)]
		if !ok {
			return nil
		}
		child := t.Modules[filepath.Clean(c.Dir)]
		if child == nil {
			return nil
		}
		for _, part := range []hclsyntax.Expression{fe.KeyExpr, fe.ValExpr, fe.CondExpr} {
			if part == nil {
				continue
			}
			// The loop variable is not a free variable of the
			// expression (hclsyntax.Variables skips it): walk the nodes.
			hclsyntax.VisitAll(part, func(n hclsyntax.Node) hcl.Diagnostics {
				st, ok := n.(*hclsyntax.ScopeTraversalExpr)
				if !ok || st.Traversal.RootName() != fe.ValVar {
					return nil
				}
				if out := attrName(st.Traversal, 1); out != "" {
					if _, ok := child.Outputs[out]; !ok {
						ps = append(ps, problem(check, st.SrcRange, "module.%s has no output %q (read as %s.%s)", c.Name, out, fe.ValVar, out))
					}
				}
				return nil
			})
		}
		return nil
	})
	return ps
}

// attrName returns the name of step i of tr when it is an attribute step.
func attrName(tr hcl.Traversal, i int) string {
	if i >= len(tr) {
		return ""
	}
	switch s := tr[i].(type) {
	case hcl.TraverseAttr:
		return s.Name
	case hcl.TraverseRoot:
		return s.Name
	}
	return ""
}

// moduleOutputStep returns the output name of module.X.Y or module.X[k].Y.
func moduleOutputStep(tr hcl.Traversal) string {
	for i := 2; i < len(tr); i++ {
		switch s := tr[i].(type) {
		case hcl.TraverseIndex:
			continue
		case hcl.TraverseAttr:
			return s.Name
		default:
			return ""
		}
	}
	return ""
}

// --- edge-region ---------------------------------------------------------------

// checkEdge: players reach the edges on TCP 25565 through a network load
// balancer whose target group speaks PROXY v2 and health-checks /readyz,
// and the edges trust PROXY headers from the VPC's ranges.
func checkEdge(m *Module) []Problem {
	var ps []Problem
	ctx := localsContext(m)
	lbs := ofType(m, "aws_lb")
	if len(lbs) == 0 {
		ps = append(ps, problem(CheckEdge, hcl.Range{Filename: m.Dir}, "no aws_lb"))
	}
	for _, r := range lbs {
		ps = append(ps, wantAttr(ctx, CheckEdge, r, r.Body, "load_balancer_type", cty.StringVal("network"))...)
	}
	listeners := ofType(m, "aws_lb_listener")
	if len(listeners) == 0 {
		ps = append(ps, problem(CheckEdge, hcl.Range{Filename: m.Dir}, "no aws_lb_listener"))
	}
	for _, r := range listeners {
		ps = append(ps, wantAttr(ctx, CheckEdge, r, r.Body, "port", cty.NumberIntVal(playerPort))...)
		ps = append(ps, wantAttr(ctx, CheckEdge, r, r.Body, "protocol", cty.StringVal("TCP"))...)
	}
	groups := ofType(m, "aws_lb_target_group")
	if len(groups) == 0 {
		ps = append(ps, problem(CheckEdge, hcl.Range{Filename: m.Dir}, "no aws_lb_target_group"))
	}
	for _, r := range groups {
		ps = append(ps, wantAttr(ctx, CheckEdge, r, r.Body, "port", cty.NumberIntVal(playerPort))...)
		ps = append(ps, wantAttr(ctx, CheckEdge, r, r.Body, "protocol", cty.StringVal("TCP"))...)
		ps = append(ps, wantAttr(ctx, CheckEdge, r, r.Body, "proxy_protocol_v2", cty.True)...)
		hc := blocksOf(r.Body, "health_check")
		if len(hc) != 1 {
			ps = append(ps, problem(CheckEdge, r.Range, "%s.%s: want one health_check block", r.Type, r.Name))
			continue
		}
		ps = append(ps, wantAttr(ctx, CheckEdge, r, hc[0].Body, "path", cty.StringVal("/readyz"))...)
		ps = append(ps, wantAttr(ctx, CheckEdge, r, hc[0].Body, "protocol", cty.StringVal("HTTP"))...)
	}
	if !keyDerivesFrom(m, "RUSTGUARD_TRUSTED_PROXIES", "data", "aws_vpc") {
		ps = append(ps, problem(CheckEdge, hcl.Range{Filename: m.Dir}, "RUSTGUARD_TRUSTED_PROXIES is not set from the VPC's CIDR (data.aws_vpc)"))
	}
	return ps
}

// keyDerivesFrom reports whether some object in the module's locals maps
// key to an expression that reads root.typ (directly or through locals).
func keyDerivesFrom(m *Module, key, root, typ string) bool {
	found := false
	for _, name := range sortedKeys(m.Locals) {
		hclsyntax.VisitAll(m.Locals[name].Expr, func(n hclsyntax.Node) hcl.Diagnostics {
			oc, ok := n.(*hclsyntax.ObjectConsExpr)
			if !ok {
				return nil
			}
			for _, item := range oc.Items {
				k, diags := item.KeyExpr.Value(nil)
				if diags.HasErrors() || k.Type() != cty.String || k.AsString() != key {
					continue
				}
				if reads(m, item.ValueExpr, root, typ, map[string]bool{}) {
					found = true
				}
			}
			return nil
		})
	}
	return found
}

func reads(m *Module, e hclsyntax.Expression, root, typ string, seen map[string]bool) bool {
	for _, tr := range hclsyntax.Variables(e) {
		if tr.RootName() == root && attrName(tr, 1) == typ {
			return true
		}
		if tr.RootName() == "local" {
			name := attrName(tr, 1)
			if l, ok := m.Locals[name]; ok && !seen[name] {
				seen[name] = true
				if reads(m, l.Expr, root, typ, seen) {
					return true
				}
			}
		}
	}
	// Loop variables hide what a for expression iterates over.
	found := false
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		if fe, ok := n.(*hclsyntax.ForExpr); ok && reads(m, fe.CollExpr, root, typ, seen) {
			found = true
		}
		return nil
	})
	return found
}

// --- global-entry ----------------------------------------------------------------

// checkEntry: the accelerator listens on TCP 25565 with source-IP
// affinity, has one endpoint group per entry of a variable (a region
// each), and preserves client addresses.
func checkEntry(m *Module) []Problem {
	var ps []Problem
	ctx := localsContext(m)
	listeners := ofType(m, "aws_globalaccelerator_listener")
	if len(listeners) == 0 {
		ps = append(ps, problem(CheckEntry, hcl.Range{Filename: m.Dir}, "no aws_globalaccelerator_listener"))
	}
	for _, r := range listeners {
		ps = append(ps, wantAttr(ctx, CheckEntry, r, r.Body, "protocol", cty.StringVal("TCP"))...)
		ps = append(ps, wantAttr(ctx, CheckEntry, r, r.Body, "client_affinity", cty.StringVal("SOURCE_IP"))...)
		pr := blocksOf(r.Body, "port_range")
		if len(pr) != 1 {
			ps = append(ps, problem(CheckEntry, r.Range, "%s.%s: want one port_range block", r.Type, r.Name))
			continue
		}
		ps = append(ps, wantAttr(ctx, CheckEntry, r, pr[0].Body, "from_port", cty.NumberIntVal(playerPort))...)
		ps = append(ps, wantAttr(ctx, CheckEntry, r, pr[0].Body, "to_port", cty.NumberIntVal(playerPort))...)
	}
	groups := ofType(m, "aws_globalaccelerator_endpoint_group")
	if len(groups) == 0 {
		ps = append(ps, problem(CheckEntry, hcl.Range{Filename: m.Dir}, "no aws_globalaccelerator_endpoint_group"))
	}
	for _, r := range groups {
		fe, ok := r.Body.Attributes["for_each"]
		tr, isTr := exprTraversal(fe)
		if !ok || !isTr || tr.RootName() != "var" || len(tr) != 2 {
			ps = append(ps, problem(CheckEntry, r.Range, "%s.%s: want for_each = var.<regions>, one endpoint group per region", r.Type, r.Name))
		}
		if _, ok := r.Body.Attributes["endpoint_group_region"]; !ok {
			ps = append(ps, problem(CheckEntry, r.Range, "%s.%s: no endpoint_group_region", r.Type, r.Name))
		}
		ec := blocksOf(r.Body, "endpoint_configuration")
		if len(ec) == 0 {
			ps = append(ps, problem(CheckEntry, r.Range, "%s.%s: no endpoint_configuration", r.Type, r.Name))
		}
		for _, b := range ec {
			ps = append(ps, wantAttr(ctx, CheckEntry, r, b.Body, "client_ip_preservation_enabled", cty.True)...)
		}
	}
	return ps
}

// checkEntryCalls: a root that calls global-entry gives it one endpoint
// per region: a for expression over an edge-region call made for_each
// region, with no filter that could leave a region out.
func checkEntryCalls(m *Module) []Problem {
	var ps []Problem
	for _, name := range sortedKeys(m.Calls) {
		c := m.Calls[name]
		if filepath.Base(c.Dir) != entryModule {
			continue
		}
		a, ok := c.Attrs["endpoints"]
		if !ok {
			continue // reported by checkCalls
		}
		fe, ok := a.Expr.(*hclsyntax.ForExpr)
		if !ok {
			ps = append(ps, problem(CheckEntry, a.SrcRange, "module %q: endpoints must be a for expression over the edge-region module calls (one endpoint group per region)", name))
			continue
		}
		coll, isTr := fe.CollExpr.(*hclsyntax.ScopeTraversalExpr)
		var edge *Call
		if isTr && coll.Traversal.RootName() == "module" && len(coll.Traversal) == 2 {
			edge = m.Calls[attrName(coll.Traversal, 1)]
		}
		switch {
		case edge == nil || filepath.Base(edge.Dir) != edgeModule:
			ps = append(ps, problem(CheckEntry, a.SrcRange, "module %q: endpoints must iterate over an %s module call", name, edgeModule))
		case edge.Attrs["for_each"] == nil:
			ps = append(ps, problem(CheckEntry, a.SrcRange, "module %q: endpoints iterate over module.%s, which has no for_each over the regions", name, edge.Name))
		case fe.CondExpr != nil:
			ps = append(ps, problem(CheckEntry, fe.CondExpr.Range(), "module %q: endpoints filter the regions (an if clause): every region needs its endpoint group", name))
		case fe.KeyExpr == nil:
			ps = append(ps, problem(CheckEntry, a.SrcRange, "module %q: endpoints must be a map keyed by region", name))
		}
	}
	return ps
}

// --- helpers ---------------------------------------------------------------------

func ofType(m *Module, typ string) []*Resource {
	var out []*Resource
	for _, k := range sortedKeys(m.Resources) {
		if m.Resources[k].Type == typ {
			out = append(out, m.Resources[k])
		}
	}
	return out
}

func blocksOf(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
	return out
}

func exprTraversal(a *hclsyntax.Attribute) (hcl.Traversal, bool) {
	if a == nil {
		return nil, false
	}
	st, ok := a.Expr.(*hclsyntax.ScopeTraversalExpr)
	if !ok {
		return nil, false
	}
	return st.Traversal, true
}

// wantAttr evaluates body's attribute name (with the module's constant
// locals) and compares it with want.
func wantAttr(ctx *hcl.EvalContext, check string, r *Resource, body *hclsyntax.Body, name string, want cty.Value) []Problem {
	where := r.Type + "." + r.Name
	a, ok := body.Attributes[name]
	if !ok {
		return []Problem{problem(check, r.Range, "%s: %s is not set (want %s)", where, name, show(want))}
	}
	got, diags := a.Expr.Value(ctx)
	if diags.HasErrors() || !got.IsWhollyKnown() || got.IsNull() {
		return []Problem{problem(check, a.SrcRange, "%s: %s is not a constant (want %s)", where, name, show(want))}
	}
	if !got.Type().Equals(want.Type()) {
		return []Problem{problem(check, a.SrcRange, "%s: %s = %s, want %s", where, name, show(got), show(want))}
	}
	if !got.Equals(want).True() {
		return []Problem{problem(check, a.SrcRange, "%s: %s = %s, want %s", where, name, show(got), show(want))}
	}
	return nil
}

func show(v cty.Value) string {
	switch {
	case v.IsNull():
		return "null"
	case v.Type() == cty.String:
		return fmt.Sprintf("%q", v.AsString())
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case v.Type() == cty.Bool:
		return fmt.Sprint(v.True())
	}
	return v.GoString()
}

// localsContext evaluates the locals that are constants (25565, "TCP"),
// so an attribute that says local.player_port can be compared.
func localsContext(m *Module) *hcl.EvalContext {
	vals := map[string]cty.Value{}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}}
	for changed := true; changed; {
		changed = false
		ctx.Variables["local"] = cty.ObjectVal(vals)
		for name, a := range m.Locals {
			if _, done := vals[name]; done {
				continue
			}
			v, diags := a.Expr.Value(ctx)
			if !diags.HasErrors() && v.IsWhollyKnown() {
				vals[name] = v
				changed = true
			}
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(vals)
	return ctx
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package bans

import (
	"encoding/binary"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Overlay bounds. Publishing a change copies only the overlay, so a burst of
// detection bans costs O(overlay) per batch rather than O(table); the
// O(table) base rebuild is paid once every "overlay limit" changes. With a
// per-entry cost c for both, a table of n bans costs about d/2·c per batch
// plus n/d·c amortised, which is least near d = √(2n): the limit follows
// that, clamped to these bounds (BenchmarkTableUpdate).
const (
	deltaMin = 64
	deltaMax = 4096
)

// Table is the in-memory ban list an edge consults on every accept and
// login. Readers never lock: they load an immutable snapshot through an
// atomic pointer. Writers (the Store's sync loop, or a test) serialise on a
// mutex, build a new snapshot off to the side and swap it in.
//
// A snapshot is a large base index plus a small overlay of the changes
// since the base was built. An overlay entry hides the base entry with the
// same key; a nil overlay entry is a removal.
type Table struct {
	cur atomic.Pointer[snapshot]

	mu      sync.Mutex
	all     map[string]*item // every ban held, by ID: the writer's copy
	pending map[string]pend  // changes since the base was built, by ID
	base    *index
	counts  [kindEnd]int
}

// item is a ban with its lookup key parsed once. Items are never modified
// after creation, so snapshots share them.
type item struct {
	ban  Ban
	uuid mcproto.UUID
	name string       // folded
	pfx  netip.Prefix // IP bans: the single-address prefix
}

// pend is an overlay change: the item now in force, or a removal of key.
type pend struct {
	key *item // carries the lookup key (for a removal: the removed item)
	now *item // nil: removed
}

// index maps lookup keys to items. Addresses are keyed as integers: a map
// with uint32 keys takes the runtime's fast path, and neither form carries
// netip.Addr's zone pointer into the hash.
type index struct {
	uuid map[mcproto.UUID]*item
	name map[string]*item
	ip4  map[v4key]*item
	ip6  map[v6key]*item
	v4   prefixSet[v4key]
	v6   prefixSet[v6key]
}

type (
	v4key uint32
	v6key struct{ hi, lo uint64 }
)

// prefixSet finds CIDR bans with one map lookup per prefix length in use (a
// handful in practice; at most 33 for IPv4 and 129 for IPv6).
type prefixSet[K comparable] struct {
	lens  []int            // lengths in use, longest first
	byLen [129]map[K]*item // by prefix length; nil when unused
}

type snapshot struct {
	base, delta *index
	counts      [kindEnd]int
}

// NewTable returns an empty table.
func NewTable() *Table {
	t := &Table{all: make(map[string]*item), pending: make(map[string]pend), base: newIndex(0)}
	t.cur.Store(&snapshot{base: t.base, delta: newIndex(0)})
	return t
}

func newIndex(n int) *index {
	return &index{
		uuid: make(map[mcproto.UUID]*item, n/4),
		name: make(map[string]*item, n/4),
		ip4:  make(map[v4key]*item, n/4),
		ip6:  make(map[v6key]*item),
	}
}

// Match returns an active ban on the player's UUID, name or address, if
// there is one. A zero UUID, an empty name or an invalid address is
// skipped, so Match serves both the accept path (address only) and login.
// Match allocates nothing and takes no lock.
func (t *Table) Match(addr netip.Addr, name string, uuid mcproto.UUID, now time.Time) (Ban, bool) {
	s := t.cur.Load()
	if uuid != (mcproto.UUID{}) {
		if it := pick(s.delta.uuid, s.base.uuid, uuid); it != nil && it.ban.Active(now) {
			return it.ban, true
		}
	}
	if name != "" && len(name) <= maxNameBytes {
		var buf [maxNameBytes]byte
		key := foldInto(&buf, name)
		// Indexing with string(key) in place lets the compiler skip the
		// conversion's allocation; passing a string to a helper would not.
		it, hidden := s.delta.name[string(key)]
		if !hidden {
			it = s.base.name[string(key)]
		}
		if it != nil && it.ban.Active(now) {
			return it.ban, true
		}
	}
	if !addr.IsValid() {
		return Ban{}, false
	}
	a := addr.Unmap()
	if a.Is4() {
		k := key4(a)
		if it := pick(s.delta.ip4, s.base.ip4, k); it != nil && it.ban.Active(now) {
			return it.ban, true
		}
		return matchPrefix(&s.delta.v4, &s.base.v4, k, now)
	}
	k := key6(a)
	if it := pick(s.delta.ip6, s.base.ip6, k); it != nil && it.ban.Active(now) {
		return it.ban, true
	}
	return matchPrefix(&s.delta.v6, &s.base.v6, k, now)
}

// MatchAddr is Match for the accept path, where only the address is known.
func (t *Table) MatchAddr(addr netip.Addr, now time.Time) (Ban, bool) {
	return t.Match(addr, "", mcproto.UUID{}, now)
}

// pick returns the overlay's item for k if the overlay has k (nil for a
// removal), else the base's.
func pick[K comparable](delta, base map[K]*item, k K) *item {
	if it, ok := delta[k]; ok {
		return it
	}
	return base[k]
}

func matchPrefix[K interface {
	comparable
	masked(bits int) K
}](delta, base *prefixSet[K], k K, now time.Time) (Ban, bool) {
	for _, l := range delta.lens {
		if it := delta.byLen[l][k.masked(l)]; it != nil && it.ban.Active(now) {
			return it.ban, true
		}
	}
	for _, l := range base.lens {
		mk := k.masked(l)
		if _, hidden := delta.byLen[l][mk]; hidden {
			continue
		}
		if it := base.byLen[l][mk]; it != nil && it.ban.Active(now) {
			return it.ban, true
		}
	}
	return Ban{}, false
}

func key4(a netip.Addr) v4key {
	b := a.As4()
	return v4key(binary.BigEndian.Uint32(b[:]))
}

func key6(a netip.Addr) v6key {
	b := a.As16()
	return v6key{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k v6key) masked(bits int) v6key {
	switch {
	case bits >= 128:
		return k
	case bits > 64:
		return v6key{k.hi, k.lo &^ (math.MaxUint64 >> (bits - 64))}
	case bits == 64:
		return v6key{k.hi, 0}
	case bits > 0:
		return v6key{k.hi &^ (math.MaxUint64 >> bits), 0}
	}
	return v6key{}
}

func (k v4key) masked(bits int) v4key {
	switch {
	case bits >= 32:
		return k
	case bits > 0:
		return k &^ (math.MaxUint32 >> bits)
	}
	return 0
}

// Len is the number of bans held, expired ones not yet removed included.
func (t *Table) Len() int {
	s := t.cur.Load()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// Count is the number of bans of kind k held.
func (t *Table) Count(k Kind) int {
	if k >= kindEnd {
		return 0
	}
	return t.cur.Load().counts[k]
}

// Get returns the ban with id.
func (t *Table) Get(id string) (Ban, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it := t.all[id]; it != nil {
		return it.ban, true
	}
	return Ban{}, false
}

// All returns every ban held, in no particular order.
func (t *Table) All() []Ban {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Ban, 0, len(t.all))
	for _, it := range t.all {
		out = append(out, it.ban)
	}
	return out
}

// Change is one entry of an ordered batch for Update.
type Change struct {
	Ban    Ban  // the ban to add or replace; for a removal only Ban.ID counts
	Remove bool // remove the ban with Ban.ID
}

// Replace makes bans the whole content of the table (a resync) and returns
// the bans that are new or changed compared with before. Bans must come
// from Normalize; one whose value does not parse is skipped.
func (t *Table) Replace(bans []Ban) (changed []Ban) {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := make(map[string]*item, len(bans))
	for _, b := range bans {
		if it, ok := makeItem(b); ok {
			all[b.ID] = it
		}
	}
	for id, it := range all {
		if old := t.all[id]; old == nil || !old.ban.Equal(it.ban) {
			changed = append(changed, it.ban)
		}
	}
	t.all = all
	t.counts = [kindEnd]int{}
	for _, it := range all {
		t.counts[it.ban.Kind]++
	}
	t.rebuildLocked()
	return changed
}

// Update applies an ordered batch of changes and publishes the result once.
// It returns the bans present after the batch that were absent or
// different before it. Bans must come from Normalize.
func (t *Table) Update(changes []Change) (changed []Ban) {
	t.mu.Lock()
	defer t.mu.Unlock()
	before := make(map[string]*item, len(changes))
	for _, c := range changes {
		id := c.Ban.ID
		old := t.all[id]
		if _, seen := before[id]; !seen {
			before[id] = old
		}
		if old != nil {
			delete(t.all, id)
			t.counts[old.ban.Kind]--
			t.pending[id] = pend{key: old}
		}
		if c.Remove {
			continue
		}
		it, ok := makeItem(c.Ban)
		if !ok {
			continue
		}
		t.all[id] = it
		t.counts[it.ban.Kind]++
		t.pending[id] = pend{key: it, now: it}
	}
	for id, old := range before {
		if it := t.all[id]; it != nil && (old == nil || !old.ban.Equal(it.ban)) {
			changed = append(changed, it.ban)
		}
	}
	limit := min(max(int(math.Sqrt(float64(2*len(t.all)))), deltaMin), deltaMax)
	if len(t.pending) > limit {
		t.rebuildLocked()
	} else {
		t.publishLocked()
	}
	return changed
}

// rebuildLocked builds a new base from all and empties the overlay.
func (t *Table) rebuildLocked() {
	base := newIndex(len(t.all))
	for _, it := range t.all {
		base.put(it, it)
	}
	base.finish()
	t.base = base
	clear(t.pending)
	t.publishLocked()
}

// publishLocked swaps in a snapshot of the current base plus a fresh
// overlay built from pending: O(overlay), never O(table).
func (t *Table) publishLocked() {
	delta := newIndex(len(t.pending))
	for _, p := range t.pending {
		delta.put(p.key, p.now)
	}
	delta.finish()
	t.cur.Store(&snapshot{base: t.base, delta: delta, counts: t.counts})
}

func makeItem(b Ban) (*item, bool) {
	it := &item{ban: b}
	switch b.Kind {
	case KindUUID:
		u, err := ParseUUID(b.Value)
		if err != nil {
			return nil, false
		}
		it.uuid = u
	case KindName:
		if b.Value == "" || len(b.Value) > maxNameBytes {
			return nil, false
		}
		it.name = foldName(b.Value)
	case KindIP:
		a, err := netip.ParseAddr(b.Value)
		if err != nil {
			return nil, false
		}
		a = normAddr(a)
		it.pfx = netip.PrefixFrom(a, a.BitLen())
	case KindCIDR:
		p, err := netip.ParsePrefix(b.Value)
		if err != nil {
			return nil, false
		}
		it.pfx = normPrefix(p)
	default:
		return nil, false
	}
	return it, true
}

// put files v (nil: a removal) under key's lookup key.
func (x *index) put(key, v *item) {
	switch key.ban.Kind {
	case KindUUID:
		x.uuid[key.uuid] = v
	case KindName:
		x.name[key.name] = v
	case KindIP:
		a := key.pfx.Addr()
		if a.Is4() {
			x.ip4[key4(a)] = v
		} else {
			x.ip6[key6(a)] = v
		}
	case KindCIDR:
		a, bits := key.pfx.Addr(), key.pfx.Bits()
		if a.Is4() {
			x.v4.put(bits, key4(a), v)
		} else {
			x.v6.put(bits, key6(a), v)
		}
	}
}

func (p *prefixSet[K]) put(bits int, k K, v *item) {
	m := p.byLen[bits]
	if m == nil {
		m = make(map[K]*item)
		p.byLen[bits] = m
	}
	m[k] = v
}

func (x *index) finish() {
	x.v4.finish()
	x.v6.finish()
}

func (p *prefixSet[K]) finish() {
	p.lens = p.lens[:0]
	for l := len(p.byLen) - 1; l >= 0; l-- {
		if p.byLen[l] != nil {
			p.lens = append(p.lens, l)
		}
	}
}

package world

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/edge/internal/world/chunk"
)

// DefaultBudget is the replica's default byte budget per edge: 4,096
// players at the 64 KiB per player the design targets (docs/WORLD.md,
// "Memory"); the proposed configuration key is world.budget_bytes.
const DefaultBudget = 256 << 20

// joinReserveFraction: a new player is refused once the store is within
// 1/8 of its budget, so the players already admitted can still load the
// columns they walk into.
const joinReserveFraction = 8

// columnOverhead approximates what a column costs besides its sections'
// contents: the map slot (a 40-byte key, a pointer, control bytes and the
// load factor's share, ≈ 55 bytes) and the 72-byte column struct.
const columnOverhead = 128

// viewOverhead is a View's fixed cost: the struct and its overlay array
// (allocated at the first edit, counted from the start so a player's edits
// can never push the store past its budget).
const viewOverhead = int64(unsafe.Sizeof(View{})) + maxOverlay*int64(unsafe.Sizeof(edit{}))

// ErrNoWorld means the store is over its join threshold: the player gets
// no View and is checked by the world-free bounds only.
var ErrNoWorld = errors.New("world replica budget exhausted")

// Dim identifies one world of one backend: chunks are shared only between
// players on the same backend in the same dimension. Name is whatever the
// packets call the dimension (a name, or a number printed as text).
type Dim struct {
	Backend string
	Name    string
}

type columnKey struct {
	dim  Dim
	x, z int32
}

// column is one shared chunk column.
type column struct {
	minSection int32
	sections   []chunk.Section
	// changed holds, per section, when a view last relayed a change there
	// (UnixNano; nil until the first change, so a column nobody edits pays
	// nothing). See View.ChangedAfter.
	changed []int64
	refs    int32  // views that hold it
	hash    uint64 // of the chunk packet body it came from; 0 after a change
	bytes   int64
}

func (c *column) size() int64 {
	n := int64(columnOverhead) + int64(cap(c.sections))*int64(unsafe.Sizeof(chunk.Section{})) + 8*int64(cap(c.changed))
	for i := range c.sections {
		n += int64(c.sections[i].Bytes()) - int64(unsafe.Sizeof(chunk.Section{}))
	}
	return n
}

// Store holds the shared columns of one edge. Safe for concurrent use.
type Store struct {
	budget int64
	seed   maphash.Seed
	now    func() time.Time

	mu      sync.RWMutex
	used    int64
	columns map[columnKey]*column
	packer  chunk.Packer                // under mu
	scratch [chunk.SectionBlocks]uint16 // under mu

	// decoders lend the decoders of the protocols seen so far; each
	// holds its protocol's block table, built once (blocks.ForProtocol
	// inflates; one byte per state is kept).
	tablesMu sync.Mutex
	decoders map[int32]*Decoders
}

// NewStore returns a store that never holds more than budget bytes
// (DefaultBudget when budget ≤ 0). now is the clock change times are taken
// from (time.Now when nil): the probe clock's, so that prediction can
// compare them with when a probe was sent.
func NewStore(budget int64, now func() time.Time) *Store {
	if budget <= 0 {
		budget = DefaultBudget
	}
	if now == nil {
		now = time.Now
	}
	return &Store{budget: budget, seed: maphash.MakeSeed(), now: now, columns: map[columnKey]*column{}}
}

// Decoders lends the chunk decoders of one protocol. A decoder is about
// 40 KiB of scratch space (chunk.Decoder, chunk.Packer) used only while a
// packet is decoded: kept per connection it would cost every player that
// much outside the budget, so connections borrow one per packet.
type Decoders struct {
	pool  sync.Pool
	table *blocks.Table
}

// Table is the protocol's block table, the one the decoders use: what
// detection reads a state's shape and movement property from.
func (d *Decoders) Table() *blocks.Table { return d.table }

// Get borrows a decoder; Put gives it back.
func (d *Decoders) Get() *chunk.Decoder { return d.pool.Get().(*chunk.Decoder) }

// Put gives a decoder back for the next packet of any connection.
func (d *Decoders) Put(dec *chunk.Decoder) { d.pool.Put(dec) }

// Decoders returns the decoders of protocol, building its block table on
// first use (one per protocol per edge). blocks.ErrNoTable means that
// protocol gets no replica.
func (s *Store) Decoders(protocol int32) (*Decoders, error) {
	s.tablesMu.Lock()
	defer s.tablesMu.Unlock()
	if d := s.decoders[protocol]; d != nil {
		return d, nil
	}
	t, err := blocks.ForProtocol(protocol)
	if err != nil {
		return nil, err
	}
	if s.decoders == nil {
		s.decoders = map[int32]*Decoders{}
	}
	d := &Decoders{table: t}
	d.pool.New = func() any { return chunk.NewDecoder(t) }
	s.decoders[protocol] = d
	return d, nil
}

// Block returns the shared state at a position of a world, as every
// player of that world holds it (their own unconfirmed edits aside);
// ok is false when nobody holds that column. Read-only and safe from any
// goroutine: for tests and operators' debugging, not for prediction
// (View.Block and View.Box answer for one player).
func (s *Store) Block(dim Dim, x, y, z int32) (state uint16, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.blockLocked(dim, x, y, z)
}

// Stats is the store's size.
type Stats struct {
	Bytes, Budget int64
	Columns       int
}

// Stats reports the bytes held (columns and views) and the column count.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Bytes: s.used, Budget: s.budget, Columns: len(s.columns)}
}

// Join returns a View for a new player in dim, or ErrNoWorld when the store
// is within its join reserve of the budget.
func (s *Store) Join(dim Dim) (*View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used+viewOverhead > s.budget-s.budget/joinReserveFraction {
		return nil, fmt.Errorf("%d of %d bytes used: %w", s.used, s.budget, ErrNoWorld)
	}
	s.used += viewOverhead
	return &View{store: s, dim: dim, border: chunk.DefaultBorder()}, nil
}

// Hash identifies a chunk packet (its body, or its compressed frame):
// players of one world receive the same bytes for the same column, so a
// repeat skips decoding. Never 0 (0 marks a column changed since).
func (s *Store) Hash(body []byte) uint64 {
	h := maphash.Bytes(s.seed, body)
	if h == 0 {
		h = 1 // 0 means "changed since"
	}
	return h
}

// acquire adds a reference to the column at k when it holds the chunk of
// hash h (or any chunk, when h is 0). Caller holds mu.
func (s *Store) acquireLocked(k columnKey, h uint64) bool {
	c := s.columns[k]
	if c == nil || (h != 0 && c.hash != h) {
		return false
	}
	c.refs++
	return true
}

// put stores a decoded column at k, replacing what was there, and adds a
// reference when ref. It returns false, keeping nothing, when the column
// would overflow the budget. Caller holds mu.
func (s *Store) putLocked(k columnKey, col chunk.Column, h uint64, ref bool) bool {
	nc := &column{minSection: col.MinSection, sections: col.Sections, hash: h}
	nc.bytes = nc.size()
	old := s.columns[k]
	var oldBytes int64
	if old != nil {
		oldBytes = old.bytes
		nc.refs = old.refs
		// A column replaced under players who hold it changed for them:
		// their clients get the new chunk only when they process it.
		nc.changed = make([]int64, len(nc.sections))
		s.touchAll(nc.changed)
		nc.bytes = nc.size()
	}
	if s.used-oldBytes+nc.bytes > s.budget {
		return false
	}
	s.used += nc.bytes - oldBytes
	if ref {
		nc.refs++
	}
	s.columns[k] = nc
	return true
}

// patchLocked replaces the sections in mask of an existing column (a
// 1.8–1.16 chunk that is not ground-up). Caller holds mu.
func (s *Store) patchLocked(k columnKey, col chunk.Column) {
	c := s.columns[k]
	if c == nil {
		return // vanilla ignores a partial update of a column it has not loaded
	}
	now := s.now().UnixNano()
	for y := range min(len(col.Sections), len(c.sections)) {
		if col.Mask&(1<<y) != 0 {
			c.sections[y] = col.Sections[y]
			c.touch(y, now)
		}
	}
	s.resizeLocked(c)
	c.hash = 0
}

func (s *Store) touchAll(changed []int64) {
	now := s.now().UnixNano()
	for i := range changed {
		changed[i] = now
	}
}

// touch records a change in section y at now.
func (c *column) touch(y int, now int64) {
	if c.changed == nil {
		c.changed = make([]int64, len(c.sections))
	}
	c.changed[y] = now
}

func (s *Store) resizeLocked(c *column) {
	n := c.size()
	s.used += n - c.bytes
	c.bytes = n
}

// releaseLocked drops one reference; the last one frees the column.
func (s *Store) releaseLocked(k columnKey) {
	c := s.columns[k]
	if c == nil {
		return
	}
	c.refs--
	if c.refs <= 0 {
		s.used -= c.bytes
		delete(s.columns, k)
	}
}

// applyLocked applies block changes to the shared columns of dim. A change
// that sets a block to the state it already has (every player of a world
// receives the same change) costs one lookup, but still marks the section
// changed now: that player's client has not processed it yet. Caller
// holds mu.
func (s *Store) applyLocked(dim Dim, changes []chunk.Change) {
	now := s.now().UnixNano()
	for i := 0; i < len(changes); {
		ch := changes[i]
		k := columnKey{dim, ch.X >> 4, ch.Z >> 4}
		sy := ch.Y >> 4
		// The run of changes in the same section is applied in one repack.
		j := i + 1
		for j < len(changes) && changes[j].X>>4 == k.x && changes[j].Z>>4 == k.z && changes[j].Y>>4 == sy {
			j++
		}
		run := changes[i:j]
		i = j
		c := s.columns[k]
		if c == nil {
			continue
		}
		idx := sy - c.minSection
		if idx < 0 || int(idx) >= len(c.sections) {
			continue // outside the dimension: vanilla ignores it too
		}
		sec := &c.sections[idx]
		grows := c.changed == nil
		c.touch(int(idx), now)
		if grows {
			s.resizeLocked(c)
		}
		if !slices.ContainsFunc(run, func(ch chunk.Change) bool { return sec.At(blockIndex(ch)) != ch.State }) {
			continue
		}
		sec.Unpack(&s.scratch)
		for _, ch := range run {
			s.scratch[blockIndex(ch)] = ch.State
		}
		*sec = s.packer.Pack(&s.scratch)
		c.hash = 0
		s.resizeLocked(c)
	}
}

func blockIndex(ch chunk.Change) int {
	return int((ch.Y&15)<<8 | (ch.Z&15)<<4 | ch.X&15)
}

// blockLocked returns the shared state at a position. Caller holds mu (read).
func (s *Store) blockLocked(dim Dim, x, y, z int32) (uint16, bool) {
	c := s.columns[columnKey{dim, x >> 4, z >> 4}]
	if c == nil {
		return 0, false
	}
	idx := y>>4 - c.minSection
	if idx < 0 || int(idx) >= len(c.sections) {
		return 0, true // above or below the dimension: air, as in vanilla
	}
	return c.sections[idx].At(int((y&15)<<8 | (z&15)<<4 | x&15)), true
}

package world

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rustguard/rustguard/edge/internal/world/chunk"
)

// maxOverlay bounds a player's unconfirmed edits. Vanilla places at most
// one block per 4 ticks and breaks (instantly, in creative) at most one per
// tick; a server acknowledges within a round trip, so 64 covers three
// seconds of the fastest honest editing. Past it the oldest edit is
// forgotten (the shared state then answers for that block).
const maxOverlay = 64

// edit is one unconfirmed placement or break.
type edit struct {
	x, y, z int32
	state   uint16
	seq     int32 // 1.19+ sequence; -1 for the older immediate forms
}

// View is one player's access to the replica: the columns they hold and
// their own unconfirmed edits. Many Views share one Store.
//
// A View is safe for concurrent use: the clientbound relay feeds it
// (chunks, block changes, acknowledgements) while the serverbound relay's
// detection reads it and records the player's own edits (Predict). Its
// lock (mu) is its own, not the session's detection lock, so a chunk
// decode never holds up the player's movement checks: decoding happens
// before mu is taken, and mu is held only to touch the view's own fields
// and, nested inside it, the store's lock (always in that order).
type View struct {
	store *Store
	mu    sync.Mutex
	// Under mu:
	dim     Dim
	held    []uint64 // sorted packed (x, z) of the columns referenced
	overlay []edit
	border  chunk.Border
	closed  bool
}

func pack(x, z int32) uint64 { return uint64(uint32(x))<<32 | uint64(uint32(z)) }

// Dim is the world the view is in.
func (v *View) Dim() Dim {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.dim
}

// Columns is the number of columns the view holds.
func (v *View) Columns() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.held)
}

// holds reports whether the view references the column and where its key
// goes in held.
func (v *View) holds(x, z int32) (int, bool) {
	return slices.BinarySearch(v.held, pack(x, z))
}

// LoadColumn handles a chunk packet body for this player. A body already
// stored for that position by another player is only referenced; anything
// else is decoded (outside the store's lock) and stored. A decode error is
// returned for the caller to close the backend connection. A column the
// budget cannot hold is not kept: the view reports it as not loaded.
func (v *View) LoadColumn(dec *chunk.Decoder, body []byte, dim chunk.Dimension) error {
	if len(body) < 8 {
		if _, err := dec.Chunk(body, dim); err != nil {
			return fmt.Errorf("chunk: %w", err)
		}
		return nil
	}
	// The position is in the first 8 bytes of every version's chunk packet.
	x := int32(binary.BigEndian.Uint32(body[0:]))
	z := int32(binary.BigEndian.Uint32(body[4:]))
	h := v.store.Hash(body)
	if v.TryReference(x, z, h) {
		return nil
	}
	return v.LoadColumnHashed(dec, body, dim, h)
}

// TryReference takes a reference to the stored column at x, z when it came
// from a chunk packet of hash h (Store.Hash), and reports whether it did.
// A caller that sees compressed frames can hash the compressed frame (a
// server compresses one chunk to the same bytes for every player) and skip
// inflating as well as decoding; then LoadColumnHashed with the same hash.
func (v *View) TryReference(x, z int32, h uint64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return true
	}
	s := v.store
	s.mu.Lock()
	defer s.mu.Unlock()
	i, held := v.holds(x, z)
	c := s.columns[columnKey{v.dim, x, z}]
	if c == nil || c.hash != h {
		return false
	}
	if !held {
		c.refs++
		v.insertLocked(i, x, z)
	}
	return true
}

// LoadColumnHashed decodes and stores a chunk packet body whose hash the
// caller computed (LoadColumn, or a hash of the compressed frame).
func (v *View) LoadColumnHashed(dec *chunk.Decoder, body []byte, dim chunk.Dimension, h uint64) error {
	// Decoded before the view's lock: a chunk costs up to half a
	// millisecond, which detection must not wait for.
	col, err := dec.Chunk(body, dim)
	if err != nil {
		return fmt.Errorf("chunk: %w", err)
	}
	v.storeColumn(col, h)
	return nil
}

// LoadBulk handles a 1.8 map_chunk_bulk body.
func (v *View) LoadBulk(dec *chunk.Decoder, body []byte) error {
	err := dec.ChunkBulk(body, func(c chunk.Column) error {
		v.storeColumn(c, 0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("bulk chunk: %w", err)
	}
	return nil
}

// storeColumn stores a decoded column for the player (a closed view keeps
// nothing).
func (v *View) storeColumn(col chunk.Column, h uint64) {
	if col.Unload {
		v.Unload(col.X, col.Z)
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	s := v.store
	k := columnKey{v.dim, col.X, col.Z}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, held := v.holds(col.X, col.Z)
	if !col.Full {
		s.patchLocked(k, col)
		return
	}
	if !s.putLocked(k, col, h, !held) {
		// Over budget: the old content (if any) stays for those who hold
		// it, but this player must not trust it for this column.
		if held {
			v.removeLocked(i, k)
		}
		return
	}
	if !held {
		v.insertLocked(i, col.X, col.Z)
	}
}

func (v *View) insertLocked(i int, x, z int32) {
	before := cap(v.held)
	v.held = slices.Insert(v.held, i, pack(x, z))
	v.store.used += int64(cap(v.held)-before) * 8
}

func (v *View) removeLocked(i int, k columnKey) {
	v.held = slices.Delete(v.held, i, i+1)
	v.store.releaseLocked(k)
}

// Unload drops the player's reference to a column (unload_chunk, or 1.8's
// empty ground-up chunk).
func (v *View) Unload(x, z int32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, held := v.holds(x, z); held {
		v.removeLocked(i, columnKey{v.dim, x, z})
	}
}

// Apply applies server block changes (block change, multi block change,
// explosion) to the shared world, and drops the player's own unconfirmed
// edits at those positions before 1.19 (the server's block change is their
// confirmation or correction).
func (v *View) Apply(changes []chunk.Change, confirmsEdits bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	s := v.store
	s.mu.Lock()
	s.applyLocked(v.dim, changes)
	s.mu.Unlock()
	if confirmsEdits && len(v.overlay) > 0 {
		v.overlay = slices.DeleteFunc(v.overlay, func(e edit) bool {
			return slices.ContainsFunc(changes, func(c chunk.Change) bool { return c.X == e.x && c.Y == e.y && c.Z == e.z })
		})
	}
}

// SetDimension moves the player to another world (respawn, dimension or
// backend change): every held column and unconfirmed edit is released, and
// the border is vanilla's default until the server sends one (a new world
// on the client starts with a new border).
func (v *View) SetDimension(dim Dim) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.releaseAll()
	v.overlay = v.overlay[:0]
	v.dim = dim
	v.border = chunk.DefaultBorder()
}

// WorldBorder applies a world border packet to the player's border.
// Only the clientbound relay writes the border, so it is decoded into a
// copy outside the lock.
func (v *View) WorldBorder(dec *chunk.Decoder, kind chunk.BorderPacket, body []byte) error {
	b := v.Border()
	if err := dec.WorldBorder(kind, body, &b); err != nil {
		return fmt.Errorf("world border: %w", err)
	}
	v.mu.Lock()
	v.border = b
	v.mu.Unlock()
	return nil
}

// Border is the world border the player was last told about.
func (v *View) Border() chunk.Border {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.border
}

// releaseAll drops every column reference. Caller holds mu.
func (v *View) releaseAll() {
	s := v.store
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range v.held {
		s.releaseLocked(columnKey{v.dim, int32(p >> 32), int32(uint32(p))})
	}
	s.used -= int64(cap(v.held)) * 8
	v.held = nil
}

// Close releases everything the view holds; the view is unusable after.
func (v *View) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.releaseAll()
	v.closed = true
	s := v.store
	s.mu.Lock()
	s.used -= viewOverhead
	s.mu.Unlock()
}

// Predict records the player's own placement or break (state 0) before the
// server confirmed it: seq is the 1.19+ sequence, or -1 for older versions
// (confirmed by the server's block change at that position).
func (v *View) Predict(x, y, z int32, state uint16, seq int32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	if len(v.overlay) == maxOverlay {
		v.overlay = slices.Delete(v.overlay, 0, 1)
	}
	if v.overlay == nil {
		v.overlay = make([]edit, 0, maxOverlay)
	}
	v.overlay = append(v.overlay, edit{x, y, z, state, seq})
}

// Acknowledge handles a 1.19+ block changed ack: every edit with a sequence
// up to seq is settled (the server's block changes, sent before the ack,
// hold the truth).
func (v *View) Acknowledge(seq int32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.overlay = slices.DeleteFunc(v.overlay, func(e edit) bool { return e.seq >= 0 && e.seq <= seq })
}

// ChangedAfter reports whether the shared state of the block's section
// changed (a block change relayed to any player, or the column replaced)
// after t. Prediction passes the send time of the player's last answered
// probe: a section changed since may still show its old state on the
// client, so either state must be accepted there. Sections are the unit:
// coarse, but never too certain.
func (v *View) ChangedAfter(x, y, z int32, t time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.store
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.columns[columnKey{v.dim, x >> 4, z >> 4}]
	if c == nil || c.changed == nil {
		return false
	}
	idx := y>>4 - c.minSection
	if idx < 0 || int(idx) >= len(c.changed) {
		return false
	}
	return c.changed[idx] > t.UnixNano()
}

// Block returns the state the player should see at a position: their
// newest unconfirmed edit there, else the shared column. ok is false when
// the player has no such column loaded (vanilla freezes the client there;
// prediction must not judge that movement).
func (v *View) Block(x, y, z int32) (state uint16, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return 0, false
	}
	for i := len(v.overlay) - 1; i >= 0; i-- {
		if e := v.overlay[i]; e.x == x && e.y == y && e.z == z {
			return e.state, true
		}
	}
	if _, held := v.holds(x>>4, z>>4); !held {
		return 0, false
	}
	s := v.store
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.blockLocked(v.dim, x, y, z)
}

// boxColumns is how many columns a Box reads without allocating: a player's
// surroundings span at most four.
const boxColumns = 16

// Box fills dst with the states of every block in the box from (x0, y0,
// z0) to (x1, y1, z1) inclusive, x fastest, then z, then y, under one
// lock: prediction reads the blocks around a player every movement packet,
// and per-block locking would cost most of its budget. It returns false,
// filling nothing, when dst is too small or the box reaches a column the
// player has not loaded.
func (v *View) Box(x0, y0, z0, x1, y1, z1 int32, dst []uint16) bool {
	if x1 < x0 || y1 < y0 || z1 < z0 {
		return false
	}
	nx, ny, nz := int64(x1-x0)+1, int64(y1-y0)+1, int64(z1-z0)+1
	if nx*ny*nz > int64(len(dst)) {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return false
	}
	for cx := x0 >> 4; cx <= x1>>4; cx++ {
		for cz := z0 >> 4; cz <= z1>>4; cz++ {
			if _, held := v.holds(cx, cz); !held {
				return false
			}
		}
	}
	s := v.store
	s.mu.RLock()
	// The box's columns, looked up once (a map lookup hashes the backend
	// and dimension names: most of a single Block's cost).
	cx0, cz0 := x0>>4, z0>>4
	ncx, ncz := int(x1>>4-cx0)+1, int(z1>>4-cz0)+1
	var small [boxColumns]*column
	cols := small[:0]
	if ncx*ncz > boxColumns {
		cols = make([]*column, 0, ncx*ncz)
	}
	for cz := range ncz {
		for cx := range ncx {
			cols = append(cols, s.columns[columnKey{v.dim, cx0 + int32(cx), cz0 + int32(cz)}])
		}
	}
	i := 0
	for y := y0; y <= y1; y++ {
		for z := z0; z <= z1; z++ {
			row := int(z>>4-cz0) * ncx
			for x := x0; x <= x1; x++ {
				var st uint16
				if c := cols[row+int(x>>4-cx0)]; c != nil {
					if idx := y>>4 - c.minSection; idx >= 0 && int(idx) < len(c.sections) {
						st = c.sections[idx].At(int((y&15)<<8 | (z&15)<<4 | x&15))
					}
				}
				dst[i] = st
				i++
			}
		}
	}
	s.mu.RUnlock()
	// The player's own edits win, as in Block.
	for _, e := range v.overlay {
		if e.x >= x0 && e.x <= x1 && e.y >= y0 && e.y <= y1 && e.z >= z0 && e.z <= z1 {
			dst[int64(e.y-y0)*nz*nx+int64(e.z-z0)*nx+int64(e.x-x0)] = e.state
		}
	}
	return true
}

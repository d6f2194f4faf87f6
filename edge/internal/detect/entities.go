package detect

import "github.com/rustguard/rustguard/shared/mcproto"

// The entity table: where the server has told the client each entity is,
// kept so the combat checks can judge an attack against what the client
// could have seen (docs/DETECTIONS.md, layer 4 "Tracker").
//
// The client's view of an entity lags the server's by the network and by
// interpolation, so a single position is not enough. Each entity keeps
// boxes that cover every position it had since a known point of the
// acknowledgement clock: once the client answers a probe sent after that
// point, it has processed every move before it, so its view lies in the box
// (Grim applies moves in two phases around probes for the same reason,
// PacketEntityReplication). Vanilla renders living entities three
// interpolation steps behind the last position it received, so a new box
// also starts with the two positions before the current one.

const (
	// maxEntities caps the table. A vanilla client at view distance 32
	// rarely tracks more than a few hundred entities; a hostile or broken
	// backend could announce millions, and each entry costs ~200 bytes.
	maxEntities = 4096
	// interpolationSteps is how many earlier positions a new box keeps:
	// living entities lerp over 3 client ticks (vanilla lerpSteps 3), so
	// the rendered position is at most two updates behind the newest.
	interpolationSteps = 2
)

// Hitbox sizes (vanilla EntityType dimensions).
const (
	playerWidth  = 0.6
	playerHeight = 1.8
	// otherWidth and otherHeight are the generous box for entities whose
	// type we do not map: the widest common entity is the ghast (4.0), the
	// tallest the giant (12.0). Only the player type is mapped, because
	// PvP is what reach cheats are for and the type registry changes with
	// every release.
	otherWidth  = 4.0
	otherHeight = 12.0
)

// posBox is the axis-aligned box of an entity's feet positions since the
// probe with sequence number seq was due.
type posBox struct {
	min, max [3]float64
	seq      uint32
}

func (b *posBox) reset(p [3]float64, seq uint32) { b.min, b.max, b.seq = p, p, seq }

func (b *posBox) extend(p [3]float64) {
	for i := range p {
		b.min[i] = min(b.min[i], p[i]) // positions are finite: moveTo and spawn refuse others
		b.max[i] = max(b.max[i], p[i])
	}
}

// entity is one tracked entity.
type entity struct {
	pos  [3]float64
	hist [interpolationSteps][3]float64 // hist[0] is the position before pos
	// cur covers positions since cur.seq was due; old since old.seq
	// (old.seq ≤ the last answered probe whenever cur.seq is not).
	cur, old posBox
	player   bool
}

// entityTable maps entity ids to entities. The map grows on spawns, never
// per packet; removed entries go to a free list so a busy server's churn of
// spawns and removals allocates nothing in the steady state.
type entityTable struct {
	m    map[int32]*entity
	free []*entity
}

// settle starts a new box once the client has answered a probe sent after
// the current box began: from then on positions before the box cannot be
// in the client's view, except the interpolation tail kept in hist.
func (e *entity) settle(acked, nextSeq uint32) {
	if acked < e.cur.seq {
		return
	}
	e.old = e.cur
	e.cur.reset(e.pos, nextSeq)
	for _, h := range e.hist {
		e.cur.extend(h)
	}
}

// moveTo records a new position. Non-finite positions (a hostile
// backend's) are ignored so they cannot poison the comparisons.
func (e *entity) moveTo(p [3]float64, acked, nextSeq uint32) {
	if !finite(p[0]) || !finite(p[1]) || !finite(p[2]) {
		return
	}
	e.settle(acked, nextSeq)
	copy(e.hist[1:], e.hist[:len(e.hist)-1])
	e.hist[0] = e.pos
	e.pos = p
	e.cur.extend(p)
	e.old.extend(p)
}

// possible returns the box of feet positions the client may see for the
// entity, given the last answered probe.
func (e *entity) possible(acked, nextSeq uint32) posBox {
	e.settle(acked, nextSeq)
	if acked >= e.cur.seq {
		return e.cur
	}
	return e.old
}

func (t *entityTable) get(id int32) *entity {
	if t.m == nil {
		return nil
	}
	return t.m[id]
}

// spawn adds or replaces an entity. When the table is full a player evicts
// some other entity (players are what reach checks protect); anything else
// is not tracked.
func (t *entityTable) spawn(id int32, p [3]float64, player bool, nextSeq uint32) {
	if !finite(p[0]) || !finite(p[1]) || !finite(p[2]) {
		return // a hostile backend's NaN must not poison the comparisons
	}
	if t.m == nil {
		t.m = make(map[int32]*entity)
	}
	e := t.m[id]
	if e == nil {
		if len(t.m) >= maxEntities {
			if !player || !t.evictNonPlayer() {
				return
			}
		}
		if n := len(t.free); n > 0 {
			e, t.free = t.free[n-1], t.free[:n-1]
		} else {
			e = new(entity)
		}
		t.m[id] = e
	}
	*e = entity{pos: p, player: player}
	for i := range e.hist {
		e.hist[i] = p
	}
	e.cur.reset(p, nextSeq)
	// Until the client answers a probe sent after the spawn it may not
	// know the entity at all; an attack on it then is judged against the
	// spawn position.
	e.old.reset(p, 0)
}

func (t *entityTable) evictNonPlayer() bool {
	for id, e := range t.m {
		if !e.player {
			t.remove(id)
			return true
		}
	}
	return false
}

func (t *entityTable) remove(id int32) {
	if e := t.get(id); e != nil {
		delete(t.m, id)
		t.free = append(t.free, e)
	}
}

// clear forgets every entity: the client drops them on join and respawn.
func (t *entityTable) clear() {
	for id, e := range t.m {
		delete(t.m, id)
		t.free = append(t.free, e)
	}
}

func (t *entityTable) len() int { return len(t.m) }

// playerTypeID is the entity type id of the player in SpawnEntity, which
// carries players since 1.20.2 (before, SpawnPlayer did). Values are the
// player's index in each release's entity registry (minecraft-data
// entities.json). A protocol not listed maps every spawn to the generous
// box, so a missing row costs detection, never a false flag.
func playerTypeID(protocol int32) (int32, bool) {
	switch {
	case protocol < mcproto.Protocol1_20_2:
		return 0, false
	case protocol == mcproto.Protocol1_20_2:
		return 122, true
	case protocol == mcproto.Protocol1_20_3:
		return 124, true
	case protocol <= 767: // 1.20.5–1.21.1
		return 128, true
	case protocol == mcproto.Protocol1_21_2: // 1.21.2–1.21.3
		return 148, true
	case protocol == 769: // 1.21.4
		return 147, true
	case protocol == 770: // 1.21.5
		return 148, true
	case protocol <= 772: // 1.21.6–1.21.8
		return 149, true
	case protocol == 773: // 1.21.9–1.21.10
		return 151, true
	case protocol <= 775: // 1.21.11, 26.1
		return 155, true
	}
	return 0, false
}

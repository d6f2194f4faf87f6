package gate

// lruInitialHint is how many entries a table makes room for up front. Tables
// grow towards their cap only under load, so an idle edge does not hold
// megabytes of empty slots.
const lruInitialHint = 1024

// noSlot ends a chain of slot indexes.
const noSlot = -1

// lru is a map with a fixed capacity that evicts the least recently used
// entry to make room. Entries live in one slice linked by index, so once the
// table has grown, inserting and evicting allocate nothing. It is not safe
// for concurrent use; owners hold their own lock.
type lru[K comparable, V any] struct {
	index map[K]int32
	slots []lruSlot[K, V]
	head  int32 // most recently used
	tail  int32 // least recently used
	free  int32 // chain of removed slots, linked through next
	max   int
}

type lruSlot[K comparable, V any] struct {
	key        K
	val        V
	prev, next int32
}

// newLRU returns a table of at most max entries; max must fit an int32.
func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{
		index: make(map[K]int32, min(max, lruInitialHint)),
		head:  noSlot, tail: noSlot, free: noSlot,
		max: max,
	}
}

// get returns the value of k and marks it recently used; nil if absent.
// The pointer is valid until the next put or remove.
func (l *lru[K, V]) get(k K) *V {
	i, ok := l.index[k]
	if !ok {
		return nil
	}
	l.moveToFront(i)
	return &l.slots[i].val
}

// put returns the value of k, marking it recently used. An absent key gets
// a zero value (created is true), evicting the least recently used entry
// when the table is full. The pointer is valid until the next put or remove.
func (l *lru[K, V]) put(k K) (v *V, created bool) {
	if i, ok := l.index[k]; ok {
		l.moveToFront(i)
		return &l.slots[i].val, false
	}
	var i int32
	switch {
	case l.free != noSlot:
		i = l.free
		l.free = l.slots[i].next
	case len(l.slots) < l.max:
		l.slots = append(l.slots, lruSlot[K, V]{})
		i = int32(len(l.slots) - 1)
	default:
		i = l.tail
		l.unlink(i)
		delete(l.index, l.slots[i].key)
	}
	l.slots[i] = lruSlot[K, V]{key: k, prev: noSlot, next: noSlot}
	l.pushFront(i)
	l.index[k] = i
	return &l.slots[i].val, true
}

// remove deletes k if present.
func (l *lru[K, V]) remove(k K) {
	i, ok := l.index[k]
	if !ok {
		return
	}
	l.unlink(i)
	delete(l.index, k)
	// Clearing drops references (names) the slot held.
	l.slots[i] = lruSlot[K, V]{prev: noSlot, next: l.free}
	l.free = i
}

func (l *lru[K, V]) len() int { return len(l.index) }

func (l *lru[K, V]) moveToFront(i int32) {
	if l.head == i {
		return
	}
	l.unlink(i)
	l.pushFront(i)
}

func (l *lru[K, V]) pushFront(i int32) {
	s := &l.slots[i]
	s.prev, s.next = noSlot, l.head
	if l.head != noSlot {
		l.slots[l.head].prev = i
	}
	l.head = i
	if l.tail == noSlot {
		l.tail = i
	}
}

func (l *lru[K, V]) unlink(i int32) {
	s := &l.slots[i]
	if s.prev != noSlot {
		l.slots[s.prev].next = s.next
	} else {
		l.head = s.next
	}
	if s.next != noSlot {
		l.slots[s.next].prev = s.prev
	} else {
		l.tail = s.prev
	}
	s.prev, s.next = noSlot, noSlot
}

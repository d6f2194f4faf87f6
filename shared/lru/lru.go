// Package lru is a map with a fixed capacity that evicts the least recently
// used entry to make room: the bounded table behind every per-client record
// the edge keeps (rate buckets, verification results, cached refusals), so a
// flood of distinct clients costs a fixed amount of memory.
package lru

import "iter"

// initialHint is how many entries a table makes room for up front. Tables
// grow towards their cap only under load, so an idle edge does not hold
// megabytes of empty slots.
const initialHint = 1024

// noSlot ends a chain of slot indexes.
const noSlot = -1

// Table is a map with a fixed capacity that evicts the least recently used
// entry to make room. Entries live in one slice linked by index, so once the
// table has grown, inserting and evicting allocate nothing. It is not safe
// for concurrent use; owners hold their own lock.
type Table[K comparable, V any] struct {
	index map[K]int32
	slots []slot[K, V]
	head  int32 // most recently used
	tail  int32 // least recently used
	free  int32 // chain of removed slots, linked through next
	max   int
}

type slot[K comparable, V any] struct {
	key        K
	val        V
	prev, next int32
}

// New returns a table of at most max entries; max must be at least 1 and
// fit an int32.
func New[K comparable, V any](max int) *Table[K, V] {
	return &Table[K, V]{
		index: make(map[K]int32, min(max, initialHint)),
		head:  noSlot, tail: noSlot, free: noSlot,
		max: max,
	}
}

// Get returns the value of k and marks it recently used; nil if absent.
// The pointer is valid until the next Put or Remove.
func (l *Table[K, V]) Get(k K) *V {
	i, ok := l.index[k]
	if !ok {
		return nil
	}
	l.moveToFront(i)
	return &l.slots[i].val
}

// Put returns the value of k, marking it recently used. An absent key gets
// a zero value (created is true), evicting the least recently used entry
// when the table is full. The pointer is valid until the next Put or Remove.
func (l *Table[K, V]) Put(k K) (v *V, created bool) {
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
		l.slots = append(l.slots, slot[K, V]{})
		i = int32(len(l.slots) - 1)
	default:
		i = l.tail
		l.unlink(i)
		delete(l.index, l.slots[i].key)
	}
	l.slots[i] = slot[K, V]{key: k, prev: noSlot, next: noSlot}
	l.pushFront(i)
	l.index[k] = i
	return &l.slots[i].val, true
}

// Remove deletes k if present.
func (l *Table[K, V]) Remove(k K) {
	i, ok := l.index[k]
	if !ok {
		return
	}
	l.unlink(i)
	delete(l.index, k)
	// Clearing drops references (names) the slot held.
	l.slots[i] = slot[K, V]{prev: noSlot, next: l.free}
	l.free = i
}

// Len is the number of entries held.
func (l *Table[K, V]) Len() int { return len(l.index) }

// All yields every entry from the most to the least recently used, without
// changing the order. The table must not change during the iteration.
func (l *Table[K, V]) All() iter.Seq2[K, *V] {
	return func(yield func(K, *V) bool) {
		for i := l.head; i != noSlot; i = l.slots[i].next {
			if !yield(l.slots[i].key, &l.slots[i].val) {
				return
			}
		}
	}
}

// Slots is the number of entry slots allocated: Len plus removed slots
// waiting for reuse, never more than the capacity (tests of boundedness).
func (l *Table[K, V]) Slots() int { return len(l.slots) }

func (l *Table[K, V]) moveToFront(i int32) {
	if l.head == i {
		return
	}
	l.unlink(i)
	l.pushFront(i)
}

func (l *Table[K, V]) pushFront(i int32) {
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

func (l *Table[K, V]) unlink(i int32) {
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

package lru

import (
	"slices"
	"testing"
)

func TestLRU(t *testing.T) {
	type op struct {
		kind string // put, get, remove
		key  int
	}
	tests := []struct {
		name string
		max  int
		ops  []op
		want []int // keys from most to least recently used
	}{
		{"fills up", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}}, []int{3, 2, 1}},
		{"evicts the least recently used", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}, {"put", 4}}, []int{4, 3, 2}},
		{"get refreshes", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}, {"get", 1}, {"put", 4}}, []int{4, 1, 3}},
		{"put of a present key refreshes", 2, []op{{"put", 1}, {"put", 2}, {"put", 1}, {"put", 3}}, []int{3, 1}},
		{"remove frees a slot for reuse", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}, {"remove", 2}, {"put", 4}}, []int{4, 3, 1}},
		{"remove head and tail", 3, []op{{"put", 1}, {"put", 2}, {"put", 3}, {"remove", 3}, {"remove", 1}}, []int{2}},
		{"remove everything then refill", 2, []op{{"put", 1}, {"remove", 1}, {"put", 2}, {"put", 3}, {"put", 4}}, []int{4, 3}},
		{"get of an absent key changes nothing", 2, []op{{"put", 1}, {"get", 9}, {"remove", 9}}, []int{1}},
		{"capacity of one", 1, []op{{"put", 1}, {"put", 2}}, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New[int, int](tt.max)
			for _, o := range tt.ops {
				switch o.kind {
				case "put":
					v, _ := l.Put(o.key)
					*v = o.key * 10
				case "get":
					l.Get(o.key)
				case "remove":
					l.Remove(o.key)
				}
			}
			var got []int
			for i := l.head; i != noSlot; i = l.slots[i].next {
				got = append(got, l.slots[i].key)
				if l.slots[i].val != l.slots[i].key*10 {
					t.Errorf("key %d holds %d", l.slots[i].key, l.slots[i].val)
				}
			}
			var back []int
			for i := l.tail; i != noSlot; i = l.slots[i].prev {
				back = append(back, l.slots[i].key)
			}
			slices.Reverse(back)
			if !slices.Equal(got, tt.want) || !slices.Equal(back, tt.want) || l.Len() != len(tt.want) {
				t.Fatalf("order %v (backwards %v, len %d), want %v", got, back, l.Len(), tt.want)
			}
			var all []int
			for k, v := range l.All() {
				all = append(all, k)
				if *v != k*10 {
					t.Errorf("All: key %d holds %d", k, *v)
				}
			}
			if !slices.Equal(all, tt.want) {
				t.Errorf("All yields %v, want %v", all, tt.want)
			}
			if len(l.slots) > tt.max {
				t.Errorf("%d slots for a cap of %d", len(l.slots), tt.max)
			}
		})
	}
}

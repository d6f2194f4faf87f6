package world

import (
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/world/chunk"
)

// A View is fed by the clientbound relay while the serverbound relay's
// detection reads it and records the player's edits: under -race this
// fails without the view's own lock (the held list and the overlay are
// rewritten while Box and Block walk them).
func TestViewIsSafeForAFeederAndAReader(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(t, 765)
	v := mustJoin(t, s, overworld)
	if err := v.LoadColumn(dec, at(bodies[0], 0, 0), dim1204); err != nil {
		t.Fatal(err)
	}
	const rounds = 200
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the serverbound relay: detection reads, the player edits
		defer wg.Done()
		var dst [64]uint16
		for i := range rounds {
			v.Box(0, 60, 0, 3, 63, 3, dst[:])
			v.Block(1, 61, 1)
			v.ChangedAfter(1, 61, 1, time.Time{})
			v.Predict(2, 62, 2, 0, int32(i))
		}
	}()
	changes := []chunk.Change{{X: 1, Y: 61, Z: 1, State: 1}}
	for i := range rounds { // the clientbound relay: chunks, unloads, changes, acks
		if err := v.LoadColumn(dec, at(bodies[i%len(bodies)], 0, 0), dim1204); err != nil {
			t.Fatal(err)
		}
		v.Apply(changes, false)
		v.Acknowledge(int32(i))
		if i%10 == 0 {
			v.Unload(0, 0)
		}
	}
	wg.Wait()
	v.Close()
	var dst [64]uint16
	if v.Box(0, 60, 0, 3, 63, 3, dst[:]) {
		t.Fatal("a closed view answered a box")
	}
	if _, ok := v.Block(1, 61, 1); ok {
		t.Fatal("a closed view answered a block")
	}
}

//go:build race

package conn

// raceEnabled reports that the race detector is on. sync.Pool drops items at
// random under it (the buffer pool and Go's splice pipes are pools), so
// allocation counts that depend on pooling are not asserted.
const raceEnabled = true

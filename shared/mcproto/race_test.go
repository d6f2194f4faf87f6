//go:build race

package mcproto_test

// raceEnabled reports that the race detector is on. sync.Pool drops items at
// random under it and its instrumentation changes allocation counts, so
// memory assertions that depend on pooling are skipped.
const raceEnabled = true

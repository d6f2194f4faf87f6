//go:build race

package cfb8_test

// raceEnabled reports whether the race detector is on; TestVsOpenSSL says so
// next to its numbers.
const raceEnabled = true

//go:build race

package gate

// raceEnabled reports that the race detector is on. It slows the flood test
// about fivefold, so that test floods fewer addresses (still several times
// every table's cap) under it.
const raceEnabled = true

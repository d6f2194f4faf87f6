// Package record keeps a player's packet stream as evidence and replays it
// through the detection engine.
//
// Data enters from the detection engine: New returns a Recorders whose
// Factory plugs into detect.Options.Recorders, and the engine then hands each
// recorded player's packets (both directions, with their times), its probe
// markers and its flags to a recorder. A recorder encodes them into memory
// on the relay goroutine and hands full chunks to one writer goroutine per
// file, so a slow or failing disk costs the recording, never the
// connection. Players named in the policy are recorded from their first
// packet; with on-detection recording every other player keeps a small ring
// of recent packets in memory, written out at the first flag and followed
// by everything until disconnect.
//
// Data leaves as .rgrec files (format.go describes the layout) in one
// directory kept under a total cap by deleting the oldest finished
// recordings first (disk.go). Reader reads them back and Replay feeds their
// records to a fresh engine exactly as the live one saw them, and so
// reproduces its detections.
// RunReplay is the "rustguard-edge replay" command.
//
// testdata/corpus holds recordings of real sessions (mineflayer bots through
// the edge to a flying-squid server) with the detections each must produce;
// TestReplayCorpus replays them all. gen_test.go (build tag corpusgen)
// regenerates them.
package record

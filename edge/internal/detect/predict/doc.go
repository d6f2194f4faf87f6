// Package predict simulates vanilla's player physics for one client tick and
// measures how far a reported position is from every position an honest
// client could have reached: the smallest offset over the candidate inputs
// (forward and strafe in {-1, 0, 1}, jump, item use slowdown; sprint and
// sneak as the client last reported them, both when unknown).
//
// Data enters as the previous State, the server-side Env (effects and
// attributes, which package detect tracks with the acknowledgement clock),
// the client's Report and a World (the player's block replica) read once
// per tick into a small local grid; it leaves as a Result: the offset, the
// next State, and an Uncertain reason when the edge cannot know what an
// honest client would do (a chunk not held, a block state the data does not
// describe, a pre-1.13 shape that depends on neighbours, a block whose
// physics the package does not model). An uncertain tick judges nothing.
//
// The package is pure: no clocks, no logging, no allocation per tick. A
// Predictor owns its scratch buffers and is used by one player at a time.
// docs/DETECTIONS.md, "Movement prediction", lists what is modelled per
// version and what is left to the world-free bounds.
package predict

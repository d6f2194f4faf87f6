// Package world is the edge's replica of the blocks its players see: every
// chunk column a backend sends is stored once per (backend, dimension,
// position) and shared by reference between the players who have it
// loaded, block changes are applied once, and each player keeps a small
// overlay of their own unconfirmed placements and breaks.
//
// Data enters through a View, one per player: LoadColumn (chunk packets,
// decoded by package chunk), Unload, Apply (block changes, explosions),
// SetDimension (respawn), WorldBorder, Predict/Acknowledge (the player's
// own edits).
// Movement prediction reads it back through View.Block, and
// View.ChangedAfter tells it where the client may not have a change yet. The Store enforces
// a hard byte budget: past it, new players get no View (they fall back to
// the world-free bounds) and columns that would overflow it are not kept
// (the view reports them as not loaded). docs/WORLD.md, "Memory", has the
// design and the measurements.
package world

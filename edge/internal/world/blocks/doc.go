// Package blocks classifies block state ids, per protocol, by what they do
// to a moving player: a collision shape class (full cube, slabs, stairs,
// fences, partial, none) and a movement property (liquids, climbables, ice,
// slime, honey, soul sand, cobweb, powder snow, bubble columns,
// scaffolding).
//
// The tables are generated from minecraft-data by internal/gen (go generate
// in this folder) and embedded run-length encoded in tables.bin; ForProtocol
// expands one protocol's table into one byte per state. Unknown ids answer
// ShapeUnknown so that prediction widens instead of guessing. docs/WORLD.md,
// "Block tables", says how each class is derived.
package blocks

//go:generate go run ./internal/gen -data ../../../../test/e2e/node_modules/minecraft-data/minecraft-data/data -out .

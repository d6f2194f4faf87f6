// Package config is the edge's configuration document: its schema, its
// defaults, how it is loaded, and what counts as valid.
//
// Data enters in three layers, each overriding the one before it:
//
//  1. DefaultEdge(), compiled in, so an edge starts with no file at all;
//  2. the YAML file named by RUSTGUARD_CONFIG, if that variable is set
//     (strict: an unknown key is an error naming the key and its line);
//  3. RUSTGUARD_* environment variables, read with caarlos0/env.
//
// Validate then checks the result as a whole and reports every problem at
// once. Data leaves as an Edge value plus a Provenance that says, per field,
// which layer set it, so the edge can log where each value came from.
//
// There are deliberately no envDefault tags (docs/FLEET.md, Configuration layering): the
// library would apply such a default whenever the variable is unset and so
// overwrite what the file said. Defaults live only in DefaultEdge.
//
// docs/CONFIG.md is the operator's reference; a test in this package fails
// when a field is missing from it or its default there is stale.
package config

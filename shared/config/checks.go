package config

// checkSpec is what configuration needs to know about one detection check
// (checks_gen.go lists them all).
type checkSpec struct {
	rewrites bool     // the rewrite action is allowed
	params   []string // parameter names, sorted
}

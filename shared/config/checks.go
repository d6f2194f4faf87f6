package config

// checkSpec is what configuration needs to know about one detection check
// (checks_gen.go lists them all).
type checkSpec struct {
	rewrites bool     // the rewrite action is allowed
	setbacks bool     // the setback action is allowed (the check judges the player's position)
	params   []string // parameter names, sorted
}

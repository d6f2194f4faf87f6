package telemetry

// Attribute keys of the player.correlation span central makes for each
// fleet-wide ban: what the ban rests on. The span links to the detection
// spans of the evidence.
const (
	AttrCorrelationRegions  = "correlation.regions"  // the regions the player was flagged in (a list)
	AttrCorrelationChecks   = "correlation.checks"   // the distinct checks that flagged them (a list)
	AttrCorrelationIdentity = "correlation.identity" // "uuid:<uuid>" or "name:<name>|<prefix>"
)

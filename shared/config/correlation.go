package config

import (
	"errors"
	"time"
)

// Correlation is the central service's policy for turning evidence from
// several regions into fleet-wide action. It is part of the fleet
// configuration document (docs/CENTRAL.md).
type Correlation struct {
	// Window is how far back flags of one player, or attack reports of the
	// regions, count together.
	Window Duration `yaml:"window" json:"window"`
	// Ban turns on fleet-wide bans from correlated flags.
	Ban bool `yaml:"ban" json:"ban"`
	// BanMinRegions and BanMinChecks: a player flagged in at least this
	// many regions by at least this many distinct checks within Window is
	// banned fleet-wide.
	BanMinRegions int `yaml:"ban_min_regions" json:"ban_min_regions"`
	BanMinChecks  int `yaml:"ban_min_checks" json:"ban_min_checks"`
	// BanMinAction is the weakest action a flag must have had to count
	// (alert, rewrite, drop, setback, kick, ban): "drop" by default, so heuristics
	// that only alert never ban anybody.
	BanMinAction string `yaml:"ban_min_action" json:"ban_min_action"`
	// BanDuration is how long a correlation ban lasts.
	BanDuration Duration `yaml:"ban_duration" json:"ban_duration"`
	// AttackFleetMode turns attack mode on for the whole fleet when at
	// least AttackMinRegions regions report an attack within Window; it
	// stays on until AttackHold after the last such report.
	AttackFleetMode  bool     `yaml:"attack_fleet_mode" json:"attack_fleet_mode"`
	AttackMinRegions int      `yaml:"attack_min_regions" json:"attack_min_regions"`
	AttackHold       Duration `yaml:"attack_hold" json:"attack_hold"`
}

// DefaultCorrelation is the policy central applies until the fleet
// document says otherwise: one player flagged by two independent checks in
// two regions within ten minutes is banned for a day; two regions under
// attack at once turn attack mode on everywhere for two minutes.
func DefaultCorrelation() Correlation {
	return Correlation{
		Window:        Duration(10 * time.Minute),
		Ban:           true,
		BanMinRegions: 2, BanMinChecks: 2, BanMinAction: "drop",
		BanDuration:      Duration(24 * time.Hour),
		AttackFleetMode:  true,
		AttackMinRegions: 2,
		AttackHold:       Duration(2 * time.Minute),
	}
}

// Bounds of the correlation policy.
const (
	// maxCorrelationWindow: central keeps per-player history for a day;
	// a longer window would read history that is gone.
	maxCorrelationWindow = 24 * time.Hour
	// maxCorrelationBan matches detection.ban_duration's bound: longer
	// bans are an operator's decision.
	maxCorrelationBan = 30 * 24 * time.Hour
	// maxRegions bounds the region counts (a fleet with more regions than
	// this has other problems).
	maxRegions = 64
)

var correlationActions = []string{"alert", "rewrite", "drop", "setback", "kick", "ban"}

// Validate checks the policy; prefix names the section ("correlation").
func (c Correlation) Validate(prefix string) error {
	var p problems
	c.check(&p, prefix)
	return errors.Join(p...)
}

func (c Correlation) check(p *problems, prefix string) {
	checkDuration(p, prefix+".window", c.Window, time.Second, maxCorrelationWindow)
	checkIntRange(p, prefix+".ban_min_regions", c.BanMinRegions, 1, maxRegions)
	checkIntRange(p, prefix+".ban_min_checks", c.BanMinChecks, 1, 64)
	ok := false
	for _, a := range correlationActions {
		ok = ok || a == c.BanMinAction
	}
	if !ok {
		p.add(prefix+".ban_min_action", c.BanMinAction, "must be one of alert, rewrite, drop, setback, kick, ban")
	}
	checkDuration(p, prefix+".ban_duration", c.BanDuration, time.Minute, maxCorrelationBan)
	checkIntRange(p, prefix+".attack_min_regions", c.AttackMinRegions, 1, maxRegions)
	checkDuration(p, prefix+".attack_hold", c.AttackHold, time.Second, time.Hour)
}

package config

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The gate and detection sections are checked here as well as by the edge
// packages that use them (edge/internal/gate, edge/internal/detect): central
// validates fleet documents with this package alone, so every rule an edge
// would refuse a document for has to be visible here, named by its key.

// maxAllowedHosts bounds gate.allowed_hosts: the list is matched on every
// login, and real networks publish a handful of domains.
const maxAllowedHosts = 1024

// maxNamePatternLen bounds gate.name_pattern: Go's regexp is linear in the
// input, but a pattern of kilobytes is a mistake, not a policy.
const maxNamePatternLen = 1024

// Gate attack-mode values.
var attackModes = []string{"auto", "on", "off"}

// checkGate mirrors edge/internal/gate's Config.Validate with the file's
// keys.
func checkGate(p *problems, g Gate) {
	for _, r := range []struct {
		key   string
		rate  float64
		burst int
	}{
		{"conn_addr", g.ConnAddrRate, g.ConnAddrBurst},
		{"conn_prefix", g.ConnPrefixRate, g.ConnPrefixBurst},
		{"login_addr", g.LoginAddrRate, g.LoginAddrBurst},
		{"login_prefix", g.LoginPrefixRate, g.LoginPrefixBurst},
	} {
		switch {
		case !finite(r.rate) || r.rate < 0:
			p.add("gate."+r.key+"_rate", r.rate, "must be a finite number of at least 0 (0 turns the limit off)")
		case r.rate > 0 && r.burst < 1:
			p.add("gate."+r.key+"_burst", r.burst, "must be at least 1 while gate."+r.key+"_rate is on")
		}
	}
	checkNamePattern(p, "gate.name_pattern", g.NamePattern)
	if len(g.AllowedHosts) > maxAllowedHosts {
		p.add("gate.allowed_hosts", fmt.Sprintf("%d entries", len(g.AllowedHosts)), fmt.Sprintf("at most %d entries", maxAllowedHosts))
	} else {
		for i, h := range g.AllowedHosts {
			if reason := allowedHostProblem(h); reason != "" {
				p.add(fmt.Sprintf("gate.allowed_hosts[%d]", i), h, reason)
			}
		}
	}
	supported := fmt.Sprintf("supported: %d to %d, release protocols only", packets.MinProtocol, packets.MaxProtocol)
	unsupported := false
	for i, v := range g.AllowedProtocols {
		if packets.Lookup(v) == nil {
			unsupported = true
			p.add(fmt.Sprintf("gate.allowed_protocols[%d]", i), v, "is not a supported protocol ("+supported+")")
		}
	}
	all := g.AllowedProtocols
	if len(all) == 0 {
		all = packets.Protocols()
	}
	admitted := 0
	for _, v := range all {
		if packets.Lookup(v) != nil && !slices.Contains(g.DeniedProtocols, v) {
			admitted++
		}
	}
	if admitted == 0 && !unsupported {
		p.add("gate.denied_protocols", fmt.Sprint(g.DeniedProtocols), "leaves no protocol to admit")
	}
	if g.MaxLoginsInFlight < 0 {
		p.add("gate.max_logins_in_flight", g.MaxLoginsInFlight, "must be at least 0 (0: no cap)")
	}
	if g.MaxAccountsPerAddr < 0 {
		p.add("gate.max_accounts_per_addr", g.MaxAccountsPerAddr, "must be at least 0 (0: no cap)")
	}
	if !slices.Contains(attackModes, g.AttackMode) {
		p.add("gate.attack_mode", g.AttackMode, "must be auto, on or off")
	}
	if !finite(g.AttackJoinsPerSecond) || g.AttackJoinsPerSecond <= 0 {
		p.add("gate.attack_joins_per_second", g.AttackJoinsPerSecond, "must be a finite number greater than 0")
	}
	if !finite(g.AttackFleetJoinsPerSecond) || g.AttackFleetJoinsPerSecond < 0 {
		p.add("gate.attack_fleet_joins_per_second", g.AttackFleetJoinsPerSecond, "must be a finite number of at least 0 (0 ignores the fleet)")
	}
	// The join counter counts whole seconds, so a shorter quiet period
	// could not be measured.
	checkDuration(p, "gate.attack_quiet", g.AttackQuiet, time.Second, maxAttackQuiet)
	checkDuration(p, "gate.verified_ttl", g.VerifiedTTL, time.Second, maxVerifiedTTL)
	checkIntRange(p, "gate.verify_max_failures", g.VerifyMaxFailures, 1, maxVerifyFailures)
	checkDuration(p, "gate.verify_block", g.VerifyBlock, time.Second, maxVerifyBlock)
	if g.PublicAddress != "" {
		checkHostPort(p, "gate.public_address", g.PublicAddress, false)
	}
}

// Upper bounds of the gate's durations and counts: past these a value is a
// typo, not a policy.
const (
	// maxAttackQuiet: attack mode that outlives a wave by more than an
	// hour makes every player verify for nothing.
	maxAttackQuiet = time.Hour
	// maxVerifiedTTL: Sonar keeps passed verifications for 5 days; a
	// month is far past any reason.
	maxVerifiedTTL = 30 * 24 * time.Hour
	// maxVerifyBlock: longer blocks are bans, an operator's decision.
	maxVerifyBlock = 24 * time.Hour
	// maxVerifyFailures: more attempts than this is no limit at all.
	maxVerifyFailures = 100
)

// checkNamePattern wants an anchored regular expression (^…$), so an
// operator's pattern cannot accidentally match a part of a name.
func checkNamePattern(p *problems, name, v string) {
	switch {
	case len(v) > maxNamePatternLen:
		p.add(name, v, fmt.Sprintf("must be at most %d bytes", maxNamePatternLen))
	case !strings.HasPrefix(v, "^") || !strings.HasSuffix(v, "$"):
		p.add(name, v, "must start with ^ and end with $ so it judges the whole name")
	default:
		if _, err := regexp.Compile(v); err != nil {
			p.add(name, v, "is not a valid regular expression: "+err.Error())
		}
	}
}

// allowedHostProblem says what is wrong with one gate.allowed_hosts entry
// ("" when nothing): the gate's own rules (edge/internal/gate).
func allowedHostProblem(raw string) string {
	h := strings.ToLower(strings.TrimRight(strings.TrimSpace(raw), "."))
	switch {
	case h == "" || h == "*":
		return "must name a host"
	case strings.ContainsAny(h, " \t\x00/"):
		return "must be a bare host name"
	case strings.Contains(strings.TrimPrefix(h, "*."), "*"):
		return `may hold a wildcard only as a leading "*."`
	}
	return ""
}

// Detection actions a check may be configured with, weakest first.
var checkActions = []string{"alert", "rewrite", "drop", "setback", "kick", "ban"}

// maxCheckParamValue bounds any check parameter: the largest defaults are
// byte counts in the tens of thousands; a parameter past a billion is a
// typo.
const maxCheckParamValue = 1e9

// checkDetectionChecks checks detection.checks against the check catalog
// (checks_gen.go): the keys, modes, actions, thresholds and parameters the
// edge's detection engine accepts.
func checkDetectionChecks(p *problems, checks map[string]CheckOverride) {
	catalog := checkCatalog()
	keys := make([]string, 0, len(checks))
	for k := range checks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		c := checks[key]
		prefix := "detection.checks." + key
		spec, known := catalog[key]
		if !known {
			reason := "is not a check (docs/DETECTIONS.md lists them)"
			if near := nearest(key, mapKeys(catalog)); near != "" {
				reason += fmt.Sprintf("; did you mean %q?", near)
			}
			p.add(prefix, key, reason)
			continue
		}
		switch c.Mode {
		case "", "off", "alert", "enforce":
		default:
			p.add(prefix+".mode", c.Mode, "must be off, alert or enforce")
		}
		switch {
		case c.Action == "":
		case !slices.Contains(checkActions, c.Action):
			p.add(prefix+".action", c.Action, "must be alert, rewrite, drop, setback, kick or ban")
		case c.Action == "rewrite" && !spec.rewrites:
			p.add(prefix+".action", c.Action, "this check cannot correct its packet: use alert, drop, kick or ban")
		case c.Action == "setback" && !spec.setbacks:
			p.add(prefix+".action", c.Action, "this check does not judge the player's position: use alert, drop, kick or ban")
		}
		if c.KickVL != nil && (!finite(*c.KickVL) || *c.KickVL < 0) {
			p.add(prefix+".kick_vl", *c.KickVL, "must be a finite number of at least 0 (0: kick on the first enforced flag)")
		}
		if c.Decay != nil && (!finite(*c.Decay) || *c.Decay < 0) {
			p.add(prefix+".decay", *c.Decay, "must be a finite number of at least 0")
		}
		names := mapKeys(c.Params)
		slices.Sort(names)
		for _, name := range names {
			v := c.Params[name]
			switch {
			case !slices.Contains(spec.params, name):
				reason := "is not a parameter of " + key
				if len(spec.params) == 0 {
					reason += " (it has none)"
				} else {
					reason += " (known: " + strings.Join(spec.params, ", ") + ")"
				}
				p.add(prefix+".params."+name, v, reason)
			case !finite(v) || v < 0 || v > maxCheckParamValue:
				p.add(prefix+".params."+name, v, fmt.Sprintf("must be a finite number from 0 to %g", float64(maxCheckParamValue)))
			}
		}
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// nearest returns the candidate closest to s within maxSuggestDistance
// edits, or "". Ties go to the smaller name so messages are deterministic.
func nearest(s string, candidates []string) string {
	if len(s) > maxSuggestKeyLen {
		return ""
	}
	best, bestDist := "", maxSuggestDistance+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist || d == bestDist && c < best {
			best, bestDist = c, d
		}
	}
	return best
}

package gate

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics is the gate's instrument set. Counters are resolved once, into an
// array, so counting a decision on the accept path allocates nothing.
type metrics struct {
	decisions   [numStages][numOutcomes][numReasons]prometheus.Counter
	fleetErrors prometheus.Counter
	attack      prometheus.GaugeFunc
	joins       prometheus.GaugeFunc
}

// stageDecisions lists the decisions each stage can take, to pre-create
// their series: a dashboard then shows zeros instead of gaps.
var stageDecisions = [numStages][]struct {
	o Outcome
	r []Reason
}{
	stageAccept: {
		{Allow, []Reason{None}},
		{Refuse, []Reason{RateAddr, RatePrefix, Banned}},
	},
	stageLogin: {
		{Allow, []Reason{None, Verified}},
		{Verify, []Reason{AttackMode, VerifyAlways}},
		{Refuse, []Reason{RateAddr, RatePrefix, RateFleet, BadName, BadHost, ProtocolDenied,
			LoginInFlight, TooManyAccounts, Banned, BlockedVerification, GateFull}},
	},
	stageIdentified: {
		{Allow, []Reason{None, Verified}},
		{Verify, []Reason{AttackMode, VerifyAlways}},
		{Refuse, []Reason{Banned}},
	},
}

// newMetrics builds the instruments and registers them on reg (nil: keep
// them unregistered, e.g. in tests that do not look).
func newMetrics(g *Gate, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_gate_decisions_total",
		Help: "Admission decisions, by stage (accept, login, identified: online mode, once the account is proven), decision (allow, verify, refuse) and reason.",
	}, []string{"stage", "decision", "reason"})
	for st := range stageDecisions {
		for _, d := range stageDecisions[st] {
			for _, r := range d.r {
				m.decisions[st][d.o][r] = decisions.WithLabelValues(stageNames[st], d.o.String(), r.String())
			}
		}
	}
	m.fleetErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_gate_fleet_limiter_errors_total",
		Help: "Fleet login-limiter calls that failed or timed out; the login was let through on the local quota alone.",
	})
	m.attack = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_edge_attack_mode",
		Help: "1 while attack mode is on (new players verify first), 0 otherwise.",
	}, func() float64 {
		if g.AttackMode() {
			return 1
		}
		return 0
	})
	m.joins = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rustguard_edge_joins_per_second",
		Help: "Logins that passed the per-address rules, per second, averaged over the attack-mode window.",
	}, func() float64 { return g.attack.rate(g.now()) })
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{decisions, m.fleetErrors, m.attack, m.joins}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("register gate metrics: %w", err)
		}
	}
	return m, nil
}

// count records one decision.
func (m *metrics) count(st stage, d Decision) {
	if c := m.decisions[st][d.Outcome][d.Reason]; c != nil {
		c.Inc()
	}
}

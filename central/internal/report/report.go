// Package report holds what central learns from one OTLP request: the
// detection events and attack reports decoded from the edges' spans, each
// with the span's identity. Ingest produces a Batch; the aggregator stores
// it and the correlator judges it. The types live here, apart from all
// three, so none of them imports another.
package report

import (
	"net/netip"
	"strings"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/netscope"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// Detection is one detection event with the span it came from.
type Detection struct {
	detection.Event
	TraceID string `json:"trace_id"` // 32 lower-case hex digits
	SpanID  string `json:"span_id"`  // 16 lower-case hex digits
	// Correlate is set by the aggregate when the detection may change a
	// correlation verdict: it gave its identity a flag (region, check,
	// action, address) it did not have within the window, or it is a
	// repeat (a retried batch, whose correlation may not have finished).
	Correlate bool `json:"-"`
}

// Attack is one attack report with the span it came from.
type Attack struct {
	telemetry.AttackReport
	TraceID string
	SpanID  string
}

// Batch is everything central decoded from one request.
type Batch struct {
	Detections []Detection
	Attacks    []Attack
}

// Empty reports whether the batch carries nothing central acts on.
func (b *Batch) Empty() bool { return len(b.Detections) == 0 && len(b.Attacks) == 0 }

// Identity is who a detection is about, as far as the edge could prove
// it: the account UUID when the login was authenticated; otherwise the
// lower-cased name together with the client's address prefix
// (netscope.Prefix), because an offline name is only a claim and the same
// name from elsewhere is, as far as anyone knows, someone else.
type Identity struct {
	// Key names the identity: "uuid:<uuid>" or "name:<name>|<prefix>".
	Key    string
	Auth   bool
	UUID   string // authenticated
	Name   string // lower-cased; unauthenticated
	Prefix string // the client's address prefix; unauthenticated
}

// Identity returns the detection's identity, or false when it has none
// that correlation could act on (unauthenticated without a name or an
// address: nothing to ban).
func (d Detection) Identity() (Identity, bool) {
	if d.Authenticated && d.UUID != "" {
		return Identity{Key: "uuid:" + d.UUID, Auth: true, UUID: d.UUID}, true
	}
	a, err := netip.ParseAddr(d.ClientAddr)
	if err != nil || d.Player == "" {
		return Identity{}, false
	}
	name, prefix := strings.ToLower(d.Player), netscope.Prefix(a).String()
	return Identity{Key: "name:" + name + "|" + prefix, Name: name, Prefix: prefix}, true
}

// Subject is what a correlation ban of the identity would name for this
// detection: the client's address scope (netscope.Address) when
// unauthenticated, the player name when authenticated.
func (d Detection) Subject() string {
	if d.Authenticated {
		return d.Player
	}
	a, err := netip.ParseAddr(d.ClientAddr)
	if err != nil {
		return ""
	}
	return netscope.Address(a).String()
}

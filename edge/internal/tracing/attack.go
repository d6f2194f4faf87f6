package tracing

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/shared/telemetry"
)

const (
	// AttackReportInterval is how often an edge in attack mode reports
	// (the contract with central): often enough for central to see a wave
	// in several regions at once, rarely enough to cost nothing.
	AttackReportInterval = 10 * time.Second
	// attackPoll is how often the reporter looks at the attack mode, so
	// the first report and the "over" report follow a change within a
	// second.
	attackPoll = time.Second
	// maxNameShapes caps the distinct name shapes counted per interval.
	// A wave usually has a handful; random names of random length can
	// have as many as there are bots, and past this cap new shapes are
	// not counted (a dominant shape shows up among the first ones). At
	// most 64 bytes a shape, the table stays under 200 KiB.
	maxNameShapes = 1024
)

// AttackReporter sends a rustguard.attack span every AttackReportInterval
// while the edge's attack mode is on, one as soon as it turns on, and one
// when it turns off (attack.active false). Each covers the logins since the
// previous one: joins per second (logins the gate admitted), failed
// verifications, and the most common shape of the login names
// (telemetry.NameShape). Login and Failed are called on connection
// goroutines and cost a map lookup under a mutex.
type AttackReporter struct {
	tracer   trace.Tracer
	active   func() bool
	now      func() time.Time
	interval time.Duration

	mu       sync.Mutex
	start    time.Time // the interval's start
	joins    int
	failed   int
	shapes   map[string]*int
	shapeBuf [telemetry.MaxNameShape * utf8.UTFMax]byte

	// Run's own.
	wasOn      bool
	lastReport time.Time
}

// NewAttackReporter returns a reporter that asks active whether attack
// mode is on (the gate's AttackMode, which covers the local threshold, a
// forced mode and the fleet's), or nil when tracing is off. The methods of
// a nil reporter do nothing.
func (t *Tracing) NewAttackReporter(active func() bool) *AttackReporter {
	if !t.Enabled() {
		return nil
	}
	return newAttackReporter(t.tracer, active, time.Now)
}

func newAttackReporter(tr trace.Tracer, active func() bool, now func() time.Time) *AttackReporter {
	return &AttackReporter{tracer: tr, active: active, now: now, interval: AttackReportInterval,
		start: now(), shapes: make(map[string]*int)}
}

// Login counts a login that reached the gate: its name's shape, and a join
// when the gate admitted it (allowed or sent to verification).
func (a *AttackReporter) Login(name string, admitted bool) {
	if a == nil {
		return
	}
	a.mu.Lock()
	if admitted {
		a.joins++
	}
	shape := telemetry.AppendNameShape(a.shapeBuf[:0], name)
	if n, ok := a.shapes[string(shape)]; ok { // no allocation for a known shape
		*n++
	} else if len(a.shapes) < maxNameShapes {
		one := 1
		a.shapes[string(shape)] = &one
	}
	a.mu.Unlock()
}

// Failed counts a failed verification.
func (a *AttackReporter) Failed() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.failed++
	a.mu.Unlock()
}

// Run reports until ctx ends.
func (a *AttackReporter) Run(ctx context.Context) {
	if a == nil {
		return
	}
	tick := time.NewTicker(attackPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			a.tick()
		}
	}
}

// tick looks at the attack mode once and reports when due.
func (a *AttackReporter) tick() {
	now := a.now()
	on := a.active()
	switch {
	case on && (!a.wasOn || now.Sub(a.lastReport) >= a.interval):
		a.report(now, true)
	case !on && a.wasOn:
		a.report(now, false)
	case !on && now.Sub(a.start) >= a.interval:
		// Quiet: start a new interval, so the first report of an attack
		// covers at most the last interval's logins.
		a.mu.Lock()
		a.resetLocked(now)
		a.mu.Unlock()
	}
	a.wasOn = on
}

func (a *AttackReporter) report(now time.Time, active bool) {
	a.mu.Lock()
	start, joins, failed := a.start, a.joins, a.failed
	var shape string
	count := 0
	for s, n := range a.shapes {
		if *n > count || *n == count && s < shape { // ties: the same answer every time
			shape, count = s, *n
		}
	}
	a.resetLocked(now)
	a.mu.Unlock()

	rate := 0.0
	if secs := now.Sub(start).Seconds(); secs > 0 {
		rate = float64(joins) / secs
	}
	attrs := []attribute.KeyValue{
		attribute.Bool(telemetry.AttrAttackActive, active),
		attribute.Float64(telemetry.AttrAttackJoinsPerSec, rate),
		attribute.Int(telemetry.AttrAttackFailedVerify, failed),
	}
	if count > 0 {
		attrs = append(attrs, attribute.String(telemetry.AttrAttackNameShape, shape),
			attribute.Int(telemetry.AttrAttackNameShapeHits, count))
	}
	_, span := a.tracer.Start(context.Background(), telemetry.SpanAttack, trace.WithNewRoot(),
		trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(now))
	a.lastReport = now
}

func (a *AttackReporter) resetLocked(now time.Time) {
	a.start, a.joins, a.failed = now, 0, 0
	clear(a.shapes)
}

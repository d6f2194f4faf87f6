package tracing

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rustguard/rustguard/shared/telemetry"
)

// attackSpans collects the reports of an AttackReporter driven by hand.
type attackHarness struct {
	a   *AttackReporter
	exp *memExporter
	now time.Time
	on  bool
}

func newAttackHarness(t *testing.T) *attackHarness {
	h := &attackHarness{exp: newMemExporter(), now: time.Unix(1_000_000, 0)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(KeepEvents(sdktrace.NeverSample())), sdktrace.WithSyncer(h.exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h.a = newAttackReporter(tp.Tracer("test"), func() bool { return h.on }, func() time.Time { return h.now })
	return h
}

// step advances the clock by d in one-second ticks, as Run would.
func (h *attackHarness) step(d time.Duration) {
	for end := h.now.Add(d); h.now.Before(end); {
		h.now = h.now.Add(attackPoll)
		h.a.tick()
	}
}

func (h *attackHarness) reports() []sdktrace.ReadOnlySpan {
	h.exp.mu.Lock()
	defer h.exp.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), h.exp.spans...)
}

func attr(s sdktrace.ReadOnlySpan, key string) any {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.AsInterface()
		}
	}
	return nil
}

func TestAttackReports(t *testing.T) {
	h := newAttackHarness(t)
	// Quiet: logins are counted but nothing is reported.
	h.a.Login("Steve", true)
	h.step(30 * time.Second)
	if n := len(h.reports()); n != 0 {
		t.Fatalf("%d reports while attack mode is off", n)
	}

	// A wave: attack mode turns on, the first report follows within a
	// second, then one every 10 s.
	for i := range 50 {
		h.a.Login(fmt.Sprintf("bot%04d", i), i%5 != 0) // every fifth refused by the gate
	}
	h.a.Login("Alice_1", true)
	for range 3 {
		h.a.Failed()
	}
	h.on = true
	h.step(time.Second)
	r := h.reports()
	if len(r) != 1 {
		t.Fatalf("%d reports after attack mode turned on, want 1", len(r))
	}
	first := r[0]
	if first.Name() != telemetry.SpanAttack || attr(first, telemetry.AttrAttackActive) != true ||
		attr(first, telemetry.AttrAttackNameShape) != "aaa0000" || attr(first, telemetry.AttrAttackNameShapeHits) != int64(50) ||
		attr(first, telemetry.AttrAttackFailedVerify) != int64(3) {
		t.Errorf("first report: %v", first.Attributes())
	}
	// 40 + 1 joins over the interval since the last quiet reset.
	if secs := first.EndTime().Sub(first.StartTime()).Seconds(); attr(first, telemetry.AttrAttackJoinsPerSec) != 41/secs {
		t.Errorf("joins/s %v over %vs, want %v", attr(first, telemetry.AttrAttackJoinsPerSec), secs, 41/secs)
	}

	for range 20 {
		h.a.Login("zz", true)
	}
	h.step(10 * time.Second)
	r = h.reports()
	if len(r) != 2 {
		t.Fatalf("%d reports 10 s into the attack, want 2", len(r))
	}
	if second := r[1]; attr(second, telemetry.AttrAttackJoinsPerSec) != 2.0 || attr(second, telemetry.AttrAttackNameShape) != "aa" ||
		attr(second, telemetry.AttrAttackFailedVerify) != int64(0) || second.EndTime().Sub(second.StartTime()) != 10*time.Second {
		t.Errorf("second report (each covers its own interval): %v over %v", second.Attributes(), second.EndTime().Sub(second.StartTime()))
	}

	// Over: one final report, then silence.
	h.step(3 * time.Second)
	h.on = false
	h.step(time.Second)
	h.step(time.Minute)
	r = h.reports()
	if len(r) != 3 || attr(r[2], telemetry.AttrAttackActive) != false {
		t.Fatalf("%d reports after attack mode turned off, want 3 ending with active=false", len(r))
	}
	if attr(r[2], telemetry.AttrAttackNameShape) != nil {
		t.Errorf("a report without logins names a shape: %v", r[2].Attributes())
	}
}

// TestAttackShapesAreBounded: random names cannot grow the shape table
// past maxNameShapes, and counting a known shape allocates nothing.
func TestAttackShapesAreBounded(t *testing.T) {
	h := newAttackHarness(t)
	h.a.Login("xX_Sniper_Xx", true)
	if n := testing.AllocsPerRun(100, func() { h.a.Login("xX_Sniper_Xx", true) }); n != 0 {
		t.Errorf("counting a login of a known shape allocates %v times", n)
	}
	for i := range 3 * maxNameShapes {
		h.a.Login(fmt.Sprintf("%b", i), true) // digits: a shape per length
		h.a.Login(fmt.Sprintf("x%0*d", i%16, 0), true)
	}
	for i := range 3 * maxNameShapes {
		name := make([]byte, 0, 16)
		for b := i; len(name) < 12; b >>= 1 {
			if b&1 == 1 {
				name = append(name, 'A')
			} else {
				name = append(name, 'a')
			}
		}
		h.a.Login(string(name), true)
	}
	if n := len(h.a.shapes); n > maxNameShapes {
		t.Errorf("%d shapes held, cap %d", n, maxNameShapes)
	}
	if n := testing.AllocsPerRun(100, func() { h.a.Login("a-new-shape", true) }); n != 0 {
		t.Errorf("a login past the cap allocates %v times", n)
	}
	var nilReporter *AttackReporter
	nilReporter.Login("x", true) // no-ops when tracing is off
	nilReporter.Failed()
	nilReporter.Run(context.Background())
}

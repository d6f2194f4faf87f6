package detect

import (
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

func ptr[T any](v T) *T { return &v }

// TestReconfigureReachesConnectedPlayers: a player connected before a
// policy change is judged by the new policy from its next packet on: a
// check turned off, to alert, back to enforce, a lower kick_vl, and a
// parameter the layer had resolved once.
func TestReconfigureReachesConnectedPlayers(t *testing.T) {
	rec := &recorder{}
	// Kick at VL 3 rather than the default (at once), so the first flag
	// drops and a later lower kick_vl shows.
	e, err := New(Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {KickVL: ptr(3.0)}}}, Options{Sinks: []Sink{rec}})
	if err != nil {
		t.Fatal(err)
	}
	p := e.NewPlayer(PlayerInfo{Protocol: 765, Name: "Steve"})
	bad := packets.PlayerLook{Yaw: 10, Pitch: 95}.AppendData(nil, 765)
	send := func() Verdict { return p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, bad, 0, t0) }

	if v := send(); v.Outcome != Drop {
		t.Fatalf("default policy: %v, want drop", v.Outcome)
	}
	reconfigure := func(cfg Config) {
		t.Helper()
		if err := e.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
	}
	reconfigure(Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {Mode: ModeOff}}})
	if v := send(); v.Outcome != Pass || len(rec.events) != 1 {
		t.Fatalf("check off: %v with %d events, want pass and no new event", v.Outcome, len(rec.events))
	}
	if e.Enabled("badpackets.invalid_pitch") {
		t.Error("Enabled still reports the check on")
	}
	reconfigure(Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {Mode: ModeAlert}}})
	if v := send(); v.Outcome != Pass || len(rec.events) != 2 || rec.events[1].Action != detection.ActionAlert {
		t.Fatalf("alert: %v, events %v", v.Outcome, rec.keys())
	}
	// Enforce with kick_vl 1: the violation level built up so far (two
	// flags) is kept, so the next flag kicks.
	reconfigure(Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {Mode: ModeEnforce, KickVL: ptr(1.0)}}})
	if v := send(); v.Outcome != Kick {
		t.Fatalf("enforce with kick_vl 1: %v, want kick", v.Outcome)
	}

	// A parameter layer 4 resolves once per player (combat.cps max_cps).
	rec2 := &recorder{}
	e2, err := New(Config{Checks: map[string]CheckConfig{"combat.cps": {Mode: ModeAlert, Params: map[string]float64{"max_cps": 100}}}}, Options{Sinks: []Sink{rec2}})
	if err != nil {
		t.Fatal(err)
	}
	p2 := e2.NewPlayer(PlayerInfo{Protocol: 765, Name: "Alex"})
	swing := packets.ArmAnimation{Hand: packets.HandMain}.AppendData(nil, 765)
	now := t0
	for range 30 {
		now = now.Add(time.Millisecond)
		p2.Serverbound(mcproto.StatePlay, packets.KindArmAnimation, swing, 0, now)
	}
	if len(rec2.events) != 0 {
		t.Fatalf("30 swings flagged under max_cps 100: %v", rec2.keys())
	}
	if err := e2.Reconfigure(Config{Checks: map[string]CheckConfig{"combat.cps": {Mode: ModeAlert, Params: map[string]float64{"max_cps": 5}}}}); err != nil {
		t.Fatal(err)
	}
	p2.Serverbound(mcproto.StatePlay, packets.KindArmAnimation, swing, 0, now.Add(time.Millisecond))
	if len(rec2.events) != 1 || rec2.events[0].Check != "combat.cps" {
		t.Fatalf("after max_cps 5: events %v, want one combat.cps flag", rec2.keys())
	}
}

// TestReconfigureRefusesWithoutChange: a policy the registry refuses
// leaves the current one in place.
func TestReconfigureRefusesWithoutChange(t *testing.T) {
	e, err := New(Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {Mode: ModeOff}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]Config{
		"unknown key":     {Checks: map[string]CheckConfig{"no.such_check": {Mode: ModeAlert}}},
		"rewrite refused": {Checks: map[string]CheckConfig{"combat.reach": {Action: ptr(detection.ActionRewrite)}}},
	} {
		if err := e.Reconfigure(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if e.Enabled("badpackets.invalid_pitch") {
		t.Fatal("a refused policy changed the engine")
	}
}

// TestPolicySwapAllocatesNothing: following a new policy costs a pointer
// compare on the per-packet path; picking one up allocates nothing.
func TestPolicySwapAllocatesNothing(t *testing.T) {
	e, err := New(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pols := make([]*Policy, 2)
	for i, mode := range []Mode{ModeAlert, ModeEnforce} {
		if pols[i], err = e.Compile(Config{Checks: map[string]CheckConfig{"combat.reach": {Mode: mode}}}); err != nil {
			t.Fatal(err)
		}
	}
	p := e.NewPlayer(PlayerInfo{Protocol: 765, Name: "Steve"})
	look := packets.PlayerLook{Yaw: 10, Pitch: 20}.AppendData(nil, 765)
	p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, look, 0, t0)
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		e.Use(pols[i%2])
		i++
		p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, look, 0, t0.Add(time.Duration(i)*50*time.Millisecond))
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per packet across policy swaps, want 0", allocs)
	}
}

package detect

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// recorder is a Sink that keeps every event.
type recorder struct{ events []detection.Event }

func (r *recorder) Detect(e *detection.Event) { r.events = append(r.events, *e) }

func (r *recorder) keys() []string {
	var out []string
	for _, e := range r.events {
		out = append(out, e.Check)
	}
	return out
}

func newTestPlayer(t testing.TB, protocol int32, cfg Config) (*Player, *recorder) {
	t.Helper()
	rec := &recorder{}
	e, err := New(cfg, Options{Sinks: []Sink{rec}})
	if err != nil {
		t.Fatal(err)
	}
	return e.NewPlayer(PlayerInfo{Protocol: protocol, Name: "Steve"}), rec
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestRegistryKeysAreUniqueAndDescribed(t *testing.T) {
	e, err := New(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range e.Specs() {
		if s.Description == "" {
			t.Errorf("%s has no description", s.Key)
		}
		if !detection.ValidKey(s.Key) {
			t.Errorf("%q is not a valid key", s.Key)
		}
		if s.Action == detection.ActionRewrite && !s.Rewrites {
			t.Errorf("%s rewrites by default but has no rewrite", s.Key)
		}
	}
}

func TestConfigIsValidatedAgainstTheRegistry(t *testing.T) {
	for name, cfg := range map[string]Config{
		"unknown key":   {Checks: map[string]CheckConfig{"no.such_check": {Mode: ModeAlert}}},
		"unknown param": {Checks: map[string]CheckConfig{"flood.packets": {Params: map[string]float64{"speed": 1}}}},
	} {
		if _, err := New(cfg, Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestImpossiblePitchDropsThenKicks(t *testing.T) {
	p, rec := newTestPlayer(t, 765, Config{})
	bad := packets.PlayerLook{Yaw: 10, Pitch: 95}.AppendData(nil, 765)
	now := t0
	var v Verdict
	for i := 0; i < 4; i++ {
		v = p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, bad, 0, now)
		now = now.Add(time.Millisecond) // decay (0.05/s) must not undo three quick flags
		if i < 3 && v.Outcome != Drop {
			t.Fatalf("flag %d: outcome %v, want the packet dropped below the kick VL", i+1, v.Outcome)
		}
	}
	if v.Outcome != Kick {
		t.Fatalf("fourth flag: outcome %v, want a kick once VL passed 3", v.Outcome)
	}
	if len(rec.events) != 4 || rec.events[3].Check != "badpackets.invalid_pitch" || rec.events[3].Action != detection.ActionKick {
		t.Errorf("events = %+v", rec.keys())
	}
	// An honest look is not flagged.
	p2, rec2 := newTestPlayer(t, 765, Config{})
	if v := p2.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, packets.PlayerLook{Yaw: 10, Pitch: 90}.AppendData(nil, 765), 0, t0); v.Outcome != Pass || len(rec2.events) != 0 {
		t.Errorf("pitch 90 flagged: %v %v", v, rec2.keys())
	}
}

func TestAlertModeNeverDropsOrKicks(t *testing.T) {
	p, rec := newTestPlayer(t, 765, Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {Mode: ModeAlert}}})
	bad := packets.PlayerLook{Pitch: -120}.AppendData(nil, 765)
	for i := 0; i < 10; i++ {
		if v := p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, bad, 0, t0); v.Outcome != Pass {
			t.Fatalf("alert mode returned %v", v.Outcome)
		}
	}
	if len(rec.events) != 10 || rec.events[0].Action != detection.ActionAlert {
		t.Errorf("want 10 alerts, got %v", rec.keys())
	}
}

func TestMalformedPlayPacketKicks(t *testing.T) {
	p, rec := newTestPlayer(t, 765, Config{})
	v := p.Serverbound(mcproto.StatePlay, packets.KindPlayerPosition, []byte{1, 2, 3}, 0, t0)
	if v.Outcome != Kick || len(rec.events) != 1 || rec.events[0].Check != "frame.size" {
		t.Errorf("truncated position: %v %v", v, rec.keys())
	}
}

func TestProbesAreInjectedAndTheirAnswersSwallowed(t *testing.T) {
	for _, protocol := range []int32{47, 340, 754, 755, 765, 769, 774} {
		p, rec := newTestPlayer(t, protocol, Config{})
		table := packets.Lookup(protocol)
		// Nothing before both legs are in play.
		if got := p.Probe(t0, nil); len(got) != 0 {
			t.Fatalf("%d: probe before play", protocol)
		}
		p.Clientbound(mcproto.StatePlay, packets.KindKeepAlive, packets.KeepAlive{ID: 1}.AppendData(nil, protocol), t0)
		p.Serverbound(mcproto.StatePlay, packets.KindPlayerOnGround, packets.PlayerOnGround{Flags: packets.MoveOnGround}.AppendData(nil, protocol), 0, t0)
		probe := p.Probe(t0, nil)
		if len(probe) == 0 {
			t.Fatalf("%d: no probe in play", protocol)
		}
		if again := p.Probe(t0.Add(10*time.Millisecond), nil); len(again) != 0 {
			t.Fatalf("%d: second probe within the interval", protocol)
		}
		id, n, _ := mcproto.ReadVarInt(probe)
		var answer []byte
		var kind packets.Kind
		if protocol >= 755 {
			if id != table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindPing) {
				t.Fatalf("%d: probe id %#x is not Ping", protocol, id)
			}
			ping, err := packets.DecodePing(probe[n:], protocol)
			if err != nil {
				t.Fatal(err)
			}
			kind, answer = packets.KindPong, packets.Pong{ID: ping.ID}.AppendData(nil, protocol)
		} else {
			if id != table.ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindTransaction) {
				t.Fatalf("%d: probe id %#x is not a window confirmation", protocol, id)
			}
			tx, err := packets.DecodeTransaction(probe[n:], protocol)
			if err != nil || tx.Accepted {
				t.Fatalf("%d: probe %+v %v", protocol, tx, err)
			}
			tx.Accepted = true
			kind, answer = packets.KindTransaction, tx.AppendData(nil, protocol)
		}
		v := p.Serverbound(mcproto.StatePlay, kind, answer, 0, t0.Add(40*time.Millisecond))
		if v.Outcome != Drop {
			t.Errorf("%d: answer to our probe: %v, want it dropped (never relayed)", protocol, v.Outcome)
		}
		if p.Ping() != 40*time.Millisecond {
			t.Errorf("%d: ping = %v, want 40ms", protocol, p.Ping())
		}
		if len(rec.events) != 0 {
			t.Errorf("%d: honest answer flagged %v", protocol, rec.keys())
		}
		// A backend's own probe answer is relayed untouched.
		if protocol >= 755 {
			if v := p.Serverbound(mcproto.StatePlay, packets.KindPong, packets.Pong{ID: -5}.AppendData(nil, protocol), 0, t0); v.Outcome != Pass {
				t.Errorf("%d: the backend's pong was %v", protocol, v.Outcome)
			}
		}
	}
}

func TestDetectionsAreCountedByCheckAndAction(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(Config{}, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	p := e.NewPlayer(PlayerInfo{Protocol: 47})
	p.Serverbound(mcproto.StatePlay, packets.KindHeldItemSlot, packets.HeldItemSlot{Slot: 12}.AppendData(nil, 47), 0, t0)
	if got := testutil.ToFloat64(e.detections.WithLabelValues("badpackets.slot_range", "kick")); got != 1 {
		t.Errorf("rustguard_edge_detections_total{check=badpackets.slot_range,action=kick} = %v", got)
	}
}

// TestConfiguredRateParamsApply pins that a rate check reads the configured
// rate and window, not its defaults (they are resolved once in New).
func TestConfiguredRateParamsApply(t *testing.T) {
	count := func(cfg Config) int {
		p, rec := newTestPlayer(t, 765, cfg)
		ground := packets.PlayerOnGround{Flags: packets.MoveOnGround}.AppendData(nil, 765)
		for range 20 {
			p.Serverbound(mcproto.StatePlay, packets.KindPlayerOnGround, ground, 0, t0)
		}
		n := 0
		for _, k := range rec.keys() {
			if k == "flood.packets" {
				n++
			}
		}
		return n
	}
	if n := count(Config{}); n != 0 {
		t.Fatalf("20 packets against the default 500/s × 7 s: %d flood.packets events, want 0", n)
	}
	tight := Config{Checks: map[string]CheckConfig{"flood.packets": {Mode: ModeAlert, Params: map[string]float64{"rate": 5, "window_seconds": 1}}}}
	if n := count(tight); n != 15 {
		t.Fatalf("20 packets against 5/s × 1 s: %d flood.packets events, want 15", n)
	}
}

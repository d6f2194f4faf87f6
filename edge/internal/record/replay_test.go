package record

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// cheatSession is a simulated session with one impossible pitch at 2 s and
// probes answered throughout.
func cheatSession(name string) simSession {
	return simSession{name: name, ticks: 100, rtt: 30 * time.Millisecond, extra: []simStep{
		{at: 2*time.Second + 7*time.Millisecond, dir: mcproto.Serverbound, st: mcproto.StatePlay, kind: packets.KindPlayerLook, data: look(10, 120)},
	}}
}

func checks(events []detection.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Check+"/"+e.Action.String())
	}
	return out
}

// TestReplayReproducesLive records a simulated session through the real
// recorder and replays it: the replay engine must raise exactly the live
// events (same checks, actions, violation levels, details and times), and
// every recorded probe must be reproduced.
func TestReplayReproducesLive(t *testing.T) {
	for _, tc := range []struct {
		name string
		pol  Policy
	}{
		{"listed player", Policy{Players: []string{"Cheater"}}},
		{"on detection", Policy{OnDetection: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live, files := cheatSession("cheater").run(t, tc.pol, Options{EdgeVersion: "test", Instance: "edge-1", Region: "eu"})
			if len(files) != 1 {
				t.Fatalf("recordings = %v, want one", files)
			}
			if got := checks(live); !reflect.DeepEqual(got, []string{"badpackets.invalid_pitch/kick"}) {
				t.Fatalf("live events = %v, want one invalid pitch kick", got)
			}
			res := replayBytes(t, readFile(t, files[0]), detect.Config{})
			if res.Header.Partial {
				t.Error("header says partial; the ring kept the whole session")
			}
			if !res.Complete || res.End != EndClosed {
				t.Errorf("complete=%v end=%v, want a closed recording", res.Complete, res.End)
			}
			if res.Probes == 0 || res.MissedProbes != 0 {
				t.Errorf("probes=%d missed=%d, want probes all reproduced", res.Probes, res.MissedProbes)
			}
			if res.RecordedFlags != 1 || res.Diverged() {
				t.Errorf("recorded flags=%d diverged=%v", res.RecordedFlags, res.Diverged())
			}
			// The replay engine has no region or instance of its own: it
			// takes them from the header, so events compare whole.
			for i := range live {
				live[i].Region, live[i].Edge = "eu", "edge-1"
			}
			if !reflect.DeepEqual(res.Events, live) {
				t.Errorf("replayed events differ from live:\n got %+v\nwant %+v", res.Events, live)
			}
		})
	}
}

// TestReplayNeedsProbeMarkers is the control for the probe design: the
// same recording without its probe markers makes every recorded answer an
// answer to a probe the replay never sent.
func TestReplayNeedsProbeMarkers(t *testing.T) {
	_, files := cheatSession("p").run(t, Policy{Players: []string{"p"}}, Options{})
	b := readFile(t, files[0])
	stripped := rewrite(t, b, func(r *Record) bool { return r.Type != RecordProbe })
	res := replayBytes(t, stripped, detect.Config{})
	if res.Probes != 0 {
		t.Fatalf("stripped recording still has %d probes", res.Probes)
	}
	found := false
	for _, e := range res.Events {
		if e.Check == "latency.probe_order" {
			found = true
		}
	}
	if !found {
		t.Errorf("events without probe markers = %v, want latency.probe_order", checks(res.Events))
	}
}

// rewrite re-encodes a recording keeping the records keep accepts.
func rewrite(t *testing.T, b []byte, keep func(*Record) bool) []byte {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var enc encoder
	out := enc.header(nil, rd.Header())
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			reason, _ := rd.End()
			return enc.end(out, reason)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !keep(&rec) {
			continue
		}
		switch rec.Type {
		case RecordPacket:
			out = enc.packet(out, rec.Dir, rec.State, rec.Kind, rec.Data, rec.Inflated, rec.Time)
		case RecordProbe:
			out = enc.marker(out, tagProbe, rec.Time)
		case RecordFlag:
			out = enc.marker(out, tagFlag, rec.Time)
		}
	}
}

// TestReplayDeterministic replays one file twice: same result.
func TestReplayDeterministic(t *testing.T) {
	_, files := cheatSession("d").run(t, Policy{Players: []string{"d"}}, Options{})
	b := readFile(t, files[0])
	a, c := replayBytes(t, b, detect.Config{}), replayBytes(t, b, detect.Config{})
	if !reflect.DeepEqual(a, c) {
		t.Errorf("two replays differ:\n%+v\n%+v", a, c)
	}
	if len(a.Events) == 0 {
		t.Error("no events: the determinism check compared nothing")
	}
}

// TestReplayConfig applies check overrides: a check turned off raises
// nothing on replay.
func TestReplayConfig(t *testing.T) {
	_, files := cheatSession("c").run(t, Policy{Players: []string{"c"}}, Options{})
	b := readFile(t, files[0])
	off := detect.Config{Checks: map[string]detect.CheckConfig{"badpackets.invalid_pitch": {Mode: detect.ModeOff}}}
	res := replayBytes(t, b, off)
	if len(res.Events) != 0 || !res.Diverged() {
		t.Errorf("events = %v diverged = %v; want none, and a divergence from the live flag", checks(res.Events), res.Diverged())
	}
	bad := detect.Config{Checks: map[string]detect.CheckConfig{"no.such_check": {}}}
	if _, err := Replay(context.Background(), bytes.NewReader(b), bad); err == nil {
		t.Error("replay with an unknown check key: no error")
	}
}

// TestReplayTruncated replays a file cut short: what is there replays,
// Complete is false, no error.
func TestReplayTruncated(t *testing.T) {
	_, files := cheatSession("t").run(t, Policy{Players: []string{"t"}}, Options{})
	b := readFile(t, files[0])
	res := replayBytes(t, b[:len(b)*2/3], detect.Config{})
	if res.Complete {
		t.Error("a cut file reads as complete")
	}
	if res.Packets == 0 {
		t.Error("nothing replayed from the cut file")
	}
	// Corruption is an error, with the result so far.
	if res, err := Replay(context.Background(), bytes.NewReader(corruptTag(t, b)), detect.Config{}); !errors.Is(err, ErrCorrupt) || res == nil {
		t.Errorf("corrupt file: res=%v err=%v, want a result and ErrCorrupt", res != nil, err)
	}
}

// corruptTag replaces the tag of the last record read before a packet (the
// packet's own, or a kind record's before it) with an unknown tag.
func corruptTag(t *testing.T, b []byte) []byte {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	last := int64(-1)
	for {
		off := rd.offset()
		rec, err := rd.Next()
		if err != nil {
			break
		}
		if rec.Type == RecordPacket {
			last = off
		}
	}
	if last < 0 {
		t.Fatal("no packet record")
	}
	out := append([]byte(nil), b...)
	out[last] = 0x7f
	return out
}

// TestReplayContext stops on a cancelled context.
func TestReplayContext(t *testing.T) {
	_, files := cheatSession("x").run(t, Policy{Players: []string{"x"}}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Replay(ctx, bytes.NewReader(readFile(t, files[0])), detect.Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

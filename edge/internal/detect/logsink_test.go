package detect

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// TestLogSinkOneFlooderDoesNotSilenceOthers: a player flagging on every
// packet spends its own log budget, not everyone's: another player's first
// flag right after still reaches the log (issue 7: one shared budget of 20
// lines/s let one client hide everyone else's detections).
func TestLogSinkOneFlooderDoesNotSilenceOthers(t *testing.T) {
	var buf bytes.Buffer
	sink := NewLogSink(slog.New(slog.NewTextHandler(&buf, nil)))
	e, err := New(Config{Checks: map[string]CheckConfig{"badpackets.slot_range": {Mode: ModeAlert}}}, Options{Sinks: []Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	bad := packets.HeldItemSlot{Slot: 12}.AppendData(nil, 47)
	flooder := e.NewPlayer(PlayerInfo{Protocol: 47, Name: "Flooder"})
	for range 10_000 {
		flooder.Serverbound(mcproto.StatePlay, packets.KindHeldItemSlot, bad, 0, t0)
	}
	other := e.NewPlayer(PlayerInfo{Protocol: 47, Name: "Other"})
	other.Serverbound(mcproto.StatePlay, packets.KindHeldItemSlot, bad, 0, t0)
	if !strings.Contains(buf.String(), "player=Other") {
		t.Fatalf("after one player's 10,000 flags, another player's first flag was not logged")
	}
	if n := strings.Count(buf.String(), "player=Flooder"); n > 60 {
		t.Errorf("one player's 10,000 flags wrote %d log lines", n)
	}
}

// testLogSink is a LogSink on a clock the test moves, whose summary timer
// the test fires.
type testLogSink struct {
	*LogSink
	buf    bytes.Buffer
	clock  time.Time
	timers []func()
}

func newTestLogSink() *testLogSink {
	ts := &testLogSink{clock: t0}
	ts.LogSink = NewLogSink(slog.New(slog.NewTextHandler(&ts.buf, nil)))
	ts.now = func() time.Time { return ts.clock }
	ts.afterFunc = func(_ time.Duration, f func()) { ts.timers = append(ts.timers, f) }
	return ts
}

// fire runs the scheduled summaries, as their timers would.
func (ts *testLogSink) fire() {
	fs := ts.timers
	ts.timers = nil
	for _, f := range fs {
		f()
	}
}

func (ts *testLogSink) flag(session, player string) {
	ts.Detect(&detection.Event{Schema: 1, Check: "timer.balance", Session: session, Player: player, Time: ts.clock})
}

func (ts *testLogSink) lines(substr string) int {
	n := 0
	for _, l := range strings.Split(ts.buf.String(), "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func (ts *testLogSink) tracked() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.players)
}

// TestLogSinkPlayerBudget: one session gets its burst, then a line per
// second, and its next line after a held-back run says how many were held.
func TestLogSinkPlayerBudget(t *testing.T) {
	ts := newTestLogSink()
	for range 1000 {
		ts.flag("a", "Alex")
	}
	if n := ts.lines("msg=detection "); n != logPlayerBurst {
		t.Fatalf("1000 flags at once wrote %d lines, want the player burst %d", n, logPlayerBurst)
	}
	ts.clock = ts.clock.Add(time.Second / logPlayerPerSecond)
	ts.flag("a", "Alex")
	if n := ts.lines("suppressed_since_last=990"); n != 1 {
		t.Errorf("the line after 990 held-back flags does not count them:\n%s", ts.buf.String())
	}
}

// TestLogSinkCeiling: a flood of many sessions, each within its own budget,
// still writes at most the ceiling, and one summary counts the rest.
func TestLogSinkCeiling(t *testing.T) {
	ts := newTestLogSink()
	const sessions = 3 * maxLogPlayers
	for i := range sessions {
		ts.flag(strconv.Itoa(i), "bot")
	}
	if n := ts.lines("msg=detection "); n != logBurst {
		t.Fatalf("%d sessions flagging once wrote %d lines, want the ceiling's burst %d", sessions, n, logBurst)
	}
	if n := ts.tracked(); n > maxLogPlayers {
		t.Fatalf("%d per-player budgets held, cap %d", n, maxLogPlayers)
	}
	if len(ts.timers) != 1 {
		t.Fatalf("%d summaries scheduled, want 1", len(ts.timers))
	}
	ts.clock = ts.clock.Add(logSummaryInterval)
	ts.fire()
	want := "suppressed=" + strconv.Itoa(sessions-logBurst) + " by_ceiling=" + strconv.Itoa(sessions-logBurst)
	if n := ts.lines(want); n != 1 {
		t.Fatalf("no summary line with %q:\n%s", want, lastLines(ts.buf.String(), 3))
	}
	// The budgets refilled by now: nothing is held for the bots any more.
	if n := ts.tracked(); n != 0 {
		t.Errorf("%d per-player budgets held %v after everyone went quiet", n, logSummaryInterval)
	}
}

// TestLogSinkSummaryOncePerInterval: held-back lines schedule one summary;
// the next is scheduled only after it ran, and nothing held back means no
// summary at all.
func TestLogSinkSummaryOncePerInterval(t *testing.T) {
	ts := newTestLogSink()
	for range 3 {
		for range 100 {
			ts.flag("a", "Alex")
		}
		if len(ts.timers) != 1 {
			t.Fatalf("%d summaries scheduled, want 1", len(ts.timers))
		}
		ts.clock = ts.clock.Add(logSummaryInterval)
		ts.fire()
	}
	if n := ts.lines("msg=\"detection log lines suppressed"); n != 3 {
		t.Fatalf("%d summary lines for three intervals, want 3", n)
	}
	if n := ts.lines("top_player=Alex top_session=a"); n != 3 {
		t.Errorf("the summaries do not name the player held back most:\n%s", lastLines(ts.buf.String(), 3))
	}
	ts.clock = ts.clock.Add(time.Hour)
	ts.flag("a", "Alex")
	if len(ts.timers) != 0 {
		t.Errorf("a summary was scheduled with nothing held back")
	}
}

// TestLogSinkTableIsCapped: the per-player budgets never outgrow
// maxLogPlayers. A full table drops the budgets of players that went quiet;
// when every budget in it is still in use, newcomers share one budget, so
// their lines stay bounded too.
func TestLogSinkTableIsCapped(t *testing.T) {
	t.Run("sweep", func(t *testing.T) {
		ts := newTestLogSink()
		for i := range maxLogPlayers { // one flag each, at the ceiling's pace: all logged
			ts.flag("s"+strconv.Itoa(i), "bot")
			ts.clock = ts.clock.Add(time.Second / logPerSecond)
		}
		if n := ts.tracked(); n != maxLogPlayers {
			t.Fatalf("%d budgets held, want %d", n, maxLogPlayers)
		}
		ts.flag("new", "Alex") // the table is full: the refilled budgets go
		// Seconds for a budget to refill: the players that flagged
		// longer ago than that have been swept.
		refill := logPlayerBurst / logPlayerPerSecond
		quiet := refill * logPerSecond
		if n := ts.tracked(); n > quiet+1 {
			t.Errorf("%d budgets held after the sweep; only the last %d players flagged within %ds", n, quiet, refill)
		}
		if ts.lines("player=Alex") != 1 {
			t.Error("the newcomer's flag was not logged")
		}
	})
	t.Run("overflow", func(t *testing.T) {
		ts := newTestLogSink()
		for i := range maxLogPlayers { // every budget holds back a line: none can go
			for range logPlayerBurst + 1 {
				ts.flag("s"+strconv.Itoa(i), "bot")
			}
		}
		ts.clock = ts.clock.Add(time.Duration(logBurst) * time.Second / logPerSecond) // the ceiling refills
		before := ts.lines("msg=detection ")
		for i := range 1000 {
			ts.flag("u"+strconv.Itoa(i), "late")
		}
		if n := ts.tracked(); n != maxLogPlayers {
			t.Fatalf("%d budgets held, cap %d", n, maxLogPlayers)
		}
		if n := ts.lines("msg=detection ") - before; n != logPlayerBurst {
			t.Errorf("1000 sessions past the cap wrote %d lines; they share one player's budget of %d", n, logPlayerBurst)
		}
		ts.clock = ts.clock.Add(logSummaryInterval)
		ts.fire()
		if n := ts.lines("untracked=" + strconv.Itoa(1000-logPlayerBurst)); n != 1 {
			t.Errorf("the summary does not count the newcomers' held-back lines:\n%s", lastLines(ts.buf.String(), 1))
		}
		if n := ts.tracked(); n != 0 {
			t.Errorf("%d budgets held after everyone went quiet and the summary ran", n)
		}
	})
}

// TestLogSinkHeldBackAllocs: a flood's held-back flag costs the sink a
// lock and a map lookup, no allocation.
func TestLogSinkHeldBackAllocs(t *testing.T) {
	ts := newTestLogSink()
	ev := &detection.Event{Schema: 1, Check: "timer.balance", Session: "a", Time: t0}
	for range logPlayerBurst + 1 {
		ts.Detect(ev)
	}
	if a := testing.AllocsPerRun(1000, func() { ts.Detect(ev) }); a != 0 {
		t.Errorf("%v allocations per held-back flag, want 0", a)
	}
}

// TestLogSinkConcurrent runs sessions from many goroutines, as connections
// do (for the race detector).
func TestLogSinkConcurrent(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	sink := NewLogSink(slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)))
	var fired sync.WaitGroup
	sink.afterFunc = func(_ time.Duration, f func()) {
		fired.Add(1)
		go func() { defer fired.Done(); f() }()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				sink.Detect(&detection.Event{Schema: 1, Check: "timer.balance", Session: strconv.Itoa(g*1000 + i%50), Time: t0})
			}
		}()
	}
	wg.Wait()
	fired.Wait()
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "msg=detection "); n > logBurst+logPerSecond {
		t.Errorf("4000 flags from 400 sessions wrote %d lines", n)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// TestLogSinkCapsDetailValues: evidence a client chose (a blank tab
// completion is up to 32,500 whitespace characters) is shortened in the
// log line, so the line budget also bounds the log's bytes.
func TestLogSinkCapsDetailValues(t *testing.T) {
	var buf bytes.Buffer
	sink := NewLogSink(slog.New(slog.NewTextHandler(&buf, nil)))
	text := strings.Repeat("\n", 32_500)
	sink.Detect(&detection.Event{Schema: 1, Check: "chat.blank_tab", Session: "a", Time: t0,
		Details: map[string]string{"text": text, "reason": "blank"}})
	if n := buf.Len(); n > 1024 {
		t.Errorf("one detection wrote a %d-byte log line", n)
	}
	if !strings.Contains(buf.String(), "detail.reason=blank") {
		t.Errorf("a short detail was changed: %s", buf.String())
	}
}

func TestShorten(t *testing.T) {
	long := strings.Repeat("é", maxLogDetailBytes) // two bytes each
	got := shorten(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…(512 bytes)") || len(got) > maxLogDetailBytes+len("…(512 bytes)") {
		t.Errorf("shorten = %q", got)
	}
	if s := strings.Repeat("x", maxLogDetailBytes); shorten(s) != s {
		t.Error("a value at the cap was changed")
	}
}

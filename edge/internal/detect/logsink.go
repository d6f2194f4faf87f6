package detect

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/rustguard/rustguard/shared/detection"
)

// Log budgets of LogSink; a line costs one token of a rate.Limiter (this
// runs once per detection event, not per packet, so a limiter's lock is no
// cost here; the per-packet budgets are floods.go's bucket). Metrics count
// every event whatever these allow, so they bound only what reaches the log.
const (
	// logPlayerPerSecond and logPlayerBurst are one player's (one
	// session's) budget: the burst shows the start of a session's flags in
	// full, which checks fire and with what evidence; after that a line a
	// second is enough to follow one player live.
	logPlayerPerSecond = 1
	logPlayerBurst     = 10
	// logPerSecond and logBurst are the edge's ceiling over every player
	// together: enough to follow a few cheaters at once, far below what a
	// bot flood flagging on every packet would write. They were the one
	// shared budget before there were per-player ones.
	logPerSecond = 20
	logBurst     = 50
	// logSummaryInterval is how often, at most, LogSink writes the line
	// that counts what it held back.
	logSummaryInterval = 10 * time.Second
	// maxLogPlayers caps the per-player budgets held at once. A budget
	// that has refilled is dropped (a new one is the same), so only the
	// players that flagged in the last logPlayerBurst/logPlayerPerSecond
	// seconds are held; more than this many at once is a flood, whose lines
	// the ceiling holds back anyway. Past the cap, new players share one
	// budget. At about 200 bytes per budget (map slot, key, name, an
	// 80-byte rate.Limiter) the table stays under 1 MiB.
	maxLogPlayers = 4096
	// logSweepInterval is how often, at most, a full table is swept for
	// refilled budgets: a sweep walks the whole table.
	logSweepInterval = time.Second
	// maxLogDetailBytes caps one detail value in a log line. The longest
	// evidence a check writes on purpose is about a chat line (vanilla: 256
	// characters); a value the client chose can be far longer (a blank tab
	// completion, up to 32,500 characters) and would make the line budget
	// meaningless in bytes. Metrics, recordings and other sinks keep it whole.
	maxLogDetailBytes = 256
)

// LogSink logs detection events: alerts at info (operators watch them),
// actions at warn. A player (or a thousand bots) flagging on every packet
// must not turn into a log flood, and one player flagging must not hide
// the others: each session has its own small budget of lines and all of
// them share a ceiling. A player's next line says how many of its lines
// were held back; a summary line, at most once per logSummaryInterval,
// counts everything held back since the last one. Metrics count every event
// regardless.
type LogSink struct {
	Log *slog.Logger

	// now and afterFunc are the clock and the timer; tests replace them.
	now       func() time.Time
	afterFunc func(time.Duration, func())

	// mu guards everything below; the limiters have locks of their own,
	// but a line needs both budgets checked before either is spent.
	mu        sync.Mutex
	global    *rate.Limiter
	players   map[string]*logBudget // by session
	overflow  logBudget             // shared by players past maxLogPlayers
	lastSweep time.Time
	// held counts lines held back since the last summary, ceiling those of
	// them held back by the ceiling while their player had budget left.
	held, ceiling int
	// summaryDue is set while a summary is scheduled.
	summaryDue bool
}

// logBudget is one session's log budget.
type logBudget struct {
	lim    *rate.Limiter
	player string // the player's name, for the summary
	// sinceLine counts lines held back since the player's last line;
	// inInterval since the last summary.
	sinceLine, inInterval int
}

// NewLogSink returns a rate-limited logging sink.
func NewLogSink(log *slog.Logger) *LogSink {
	return &LogSink{Log: log, now: time.Now, players: make(map[string]*logBudget),
		global:    rate.NewLimiter(logPerSecond, logBurst),
		overflow:  newLogBudget(""),
		afterFunc: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// newLogBudget is a full per-player budget.
func newLogBudget(player string) logBudget {
	return logBudget{lim: rate.NewLimiter(logPlayerPerSecond, logPlayerBurst), player: player}
}

// Detect implements Sink.
func (s *LogSink) Detect(e *detection.Event) {
	s.mu.Lock()
	now := s.now()
	b := s.budget(e, now)
	switch {
	case b.lim.TokensAt(now) < 1:
		s.holdBack(b, false)
		s.mu.Unlock()
		return
	case s.global.TokensAt(now) < 1:
		// The player's token is not spent: its line was held back by
		// the others.
		s.holdBack(b, true)
		s.mu.Unlock()
		return
	}
	// Both have a token (checked under mu, the only place that spends).
	b.lim.AllowN(now, 1)
	s.global.AllowN(now, 1)
	held := b.sinceLine
	b.sinceLine = 0
	s.mu.Unlock()

	level := slog.LevelInfo
	if e.Action != detection.ActionAlert {
		level = slog.LevelWarn
	}
	attrs := []any{"check", e.Check, "action", e.Action.String(), "vl", strconv.FormatFloat(e.VL, 'f', 2, 64),
		"player", e.Player, "remote", e.ClientAddr, "protocol", e.Protocol, "session", e.Session}
	for k, v := range e.Details {
		attrs = append(attrs, "detail."+k, shorten(v))
	}
	if held > 0 {
		attrs = append(attrs, "suppressed_since_last", held)
	}
	s.Log.Log(context.Background(), level, "detection", attrs...)
}

// budget returns the event's session budget, adding one when there is
// room. Called with mu held.
func (s *LogSink) budget(e *detection.Event, now time.Time) *logBudget {
	if b, ok := s.players[e.Session]; ok {
		return b
	}
	if len(s.players) >= maxLogPlayers && now.Sub(s.lastSweep) >= logSweepInterval {
		s.lastSweep = now
		s.sweep(now)
	}
	if len(s.players) >= maxLogPlayers {
		return &s.overflow
	}
	b := new(logBudget)
	*b = newLogBudget(e.Player)
	s.players[e.Session] = b
	return b
}

// holdBack counts a line not written and makes sure a summary will say so.
// Called with mu held.
func (s *LogSink) holdBack(b *logBudget, byCeiling bool) {
	b.sinceLine++
	b.inInterval++
	s.held++
	if byCeiling {
		s.ceiling++
	}
	if !s.summaryDue {
		s.summaryDue = true
		s.afterFunc(logSummaryInterval, s.summarize)
	}
}

// sweep drops the budgets that have refilled and have nothing left to
// report to the next summary: a new budget for the same session would be
// identical. Called
// with mu held.
func (s *LogSink) sweep(now time.Time) {
	for k, b := range s.players {
		if b.inInterval == 0 && b.lim.TokensAt(now) >= logPlayerBurst {
			delete(s.players, k)
		}
	}
}

// summarize writes the summary of the lines held back since the last one
// and drops the budgets that are no longer needed.
func (s *LogSink) summarize() {
	s.mu.Lock()
	held, ceiling := s.held, s.ceiling
	s.held, s.ceiling, s.summaryDue = 0, 0, false
	players := 0
	var top *logBudget
	topSession := ""
	for k, b := range s.players {
		if b.inInterval == 0 {
			continue
		}
		players++
		if top == nil || b.inInterval > top.inInterval {
			top, topSession = b, k
		}
	}
	var attrs []any
	if held > 0 {
		attrs = []any{"suppressed", held, "by_ceiling", ceiling, "players", players,
			"untracked", s.overflow.inInterval, "interval", logSummaryInterval.String()}
		if top != nil {
			attrs = append(attrs, "top_player", top.player, "top_session", topSession, "top_suppressed", top.inInterval)
		}
	}
	for _, b := range s.players {
		b.inInterval = 0
	}
	s.overflow.inInterval = 0
	now := s.now()
	s.lastSweep = now
	s.sweep(now)
	s.mu.Unlock()
	if held > 0 {
		s.Log.Info("detection log lines suppressed (rustguard_edge_detections_total counts every event)", attrs...)
	}
}

// shorten cuts a detail value to maxLogDetailBytes (on a character
// boundary) and says how long it was.
func shorten(v string) string {
	if len(v) <= maxLogDetailBytes {
		return v
	}
	cut := maxLogDetailBytes
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…(" + strconv.Itoa(len(v)) + " bytes)"
}

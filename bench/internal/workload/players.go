package workload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/player"
	"github.com/rustguard/rustguard/bench/internal/procstat"
)

const (
	// metricDetections counts the edge's detection flags by check and
	// action; honest players should raise none.
	metricDetections = "rustguard_edge_detections_total"
	// drainTimeout bounds the wait, after the last movement is sent, for
	// every movement to reach the backend: far beyond any latency worth
	// measuring, so a movement still missing then was lost.
	drainTimeout = 10 * time.Second
	// moveLogSlack is how many movements past warm-up plus window a
	// player's log holds: the window closes a little late on a loaded
	// machine, and movements past the log are simply not timed.
	moveLogSlack = 200
	// kibi is 1024, for RSS per player in KiB.
	kibi = 1024
)

// PlayersConfig sizes the players workload.
type PlayersConfig struct {
	Players  int           // logged-in players, each moving every tick
	LoginPar int           // logins in flight while connecting them
	Warmup   time.Duration // moving before the window opens
	Duration time.Duration // measurement window
	// Mix is what the backend streams at each player (the backend is
	// built with it; here for the report).
	Mix backend.Mix
}

// Stream is what the players received in the window, all players.
type Stream struct {
	Frames, Bytes, Chunks, EntityMoves, Chats, Probes int64
}

// PlayersResult is the players workload's outcome.
type PlayersResult struct {
	Players  int
	Elapsed  time.Duration // length of the window
	ProxyCPU time.Duration // proxy user+system CPU in the window; 0 for direct
	// RSSBefore is the proxy's VmRSS before the first login, RSSAfter at
	// the end of the window; both 0 for direct.
	RSSBefore, RSSAfter int64
	// Moves is how many movements sent in the window were timed.
	Moves int64
	// Movement latency: one way, from the player's write to the backend's
	// read, for movements sent in the window.
	MoveP50, MoveP99, MoveMax time.Duration
	// Chat latency: one way, from the backend's stamp to the player's read
	// (behind whatever chunk frames share the tick), in the window.
	ChatP50, ChatP99 time.Duration
	Received         Stream
	// Allocs is the edge's heap allocations and relayed frames in the
	// window; zero for targets without a metrics endpoint.
	Allocs Allocs
	// Detections is the edge's detection flags over the whole workload
	// (logins included); zero for targets without metrics.
	Detections float64
}

// CoresPer1000 is the proxy's CPU per second of wall time (cores) per
// 1,000 players.
func (r PlayersResult) CoresPer1000() float64 {
	return r.ProxyCPU.Seconds() / r.Elapsed.Seconds() * 1000 / float64(r.Players)
}

// KiBPerPlayer is the proxy's RSS growth per moving player in KiB.
func (r PlayersResult) KiBPerPlayer() float64 {
	return float64(r.RSSAfter-r.RSSBefore) / kibi / float64(r.Players)
}

// moveLog is one player's movements: when each was sent and when the
// backend read it, in nanoseconds since the workload's base time plus one
// (zero: not yet). The sender writes sent, the backend's connection
// goroutine arrived.
type moveLog struct {
	sent, arrived []atomic.Int64
}

// moveBook routes the backend's movement reports to the players' logs.
// The map is filled before the first login and only read afterwards.
type moveBook struct {
	base    time.Time
	logs    map[string]*moveLog
	pending atomic.Int64 // movements sent and not yet read by the backend
	// drained is closed once draining is set and pending is zero.
	draining  atomic.Bool
	drained   chan struct{}
	drainOnce sync.Once
}

func (b *moveBook) Moved(name string, seq int64, at time.Time) {
	if l := b.logs[name]; l != nil && seq < int64(len(l.arrived)) {
		l.arrived[seq].Store(int64(at.Sub(b.base)) + 1)
	}
	if b.pending.Add(-1) == 0 && b.draining.Load() {
		b.drainOnce.Do(func() { close(b.drained) })
	}
}

// drain waits until every movement sent has reached the backend, for at
// most timeout.
func (b *moveBook) drain(ctx context.Context, timeout time.Duration) error {
	b.draining.Store(true)
	if b.pending.Load() == 0 {
		b.drainOnce.Do(func() { close(b.drained) })
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-b.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%d movements did not reach the backend within %s: %w", b.pending.Load(), timeout, ErrFailed)
	}
}

// Players logs in cfg.Players players that each send a movement every
// tick (backend.Walk: an honest slow walk) while the backend streams
// cfg.Mix at them and they answer whatever a proxy asks (the edge's
// probes). After cfg.Warmup it measures, over cfg.Duration, the proxy's
// CPU, the one-way latency of movements and chat lines, the proxy's
// allocations per relayed frame, and at the end the proxy's RSS growth.
// Every movement must reach the backend unaltered and in order, and no
// player may be kicked or disconnected: anything else fails the workload.
func Players(ctx context.Context, e *Env, cfg PlayersConfig) (PlayersResult, error) {
	before := e.Backend.Stats()
	var rss0 int64
	if e.PID != 0 {
		var err error
		if rss0, err = procstat.RSS(e.PID); err != nil {
			return PlayersResult{}, fmt.Errorf("players: %w", err)
		}
	}
	perPlayer := int((cfg.Warmup+cfg.Duration)/backend.TickInterval) + moveLogSlack
	book := &moveBook{base: time.Now(), logs: make(map[string]*moveLog, cfg.Players), drained: make(chan struct{})}
	for i := range cfg.Players {
		book.logs[playerName(i)] = &moveLog{sent: make([]atomic.Int64, perPlayer), arrived: make([]atomic.Int64, perPlayer)}
	}
	e.Backend.ObserveMoves(book)
	defer e.Backend.ObserveMoves(nil)

	sessions, err := loginAll(ctx, e, cfg.Players, cfg.LoginPar, backend.PlayersPrefix)
	if err != nil {
		return PlayersResult{}, fmt.Errorf("players: %w", err)
	}
	defer closeAll(sessions)
	players := make([]*player.Moving, len(sessions))
	for i, s := range sessions {
		players[i] = player.NewMoving(s)
	}

	rctx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	sctx, stopSend := context.WithCancel(rctx)
	defer stopSend()
	var (
		recvWG, sendWG sync.WaitGroup
		failed         errOnce
		inWindow       atomic.Bool
		chats          = make([][]time.Duration, len(players))
	)
	fail := func(err error) {
		failed.set(err)
		stopRecv()
	}
	start := time.Now()
	for i, m := range players {
		recvWG.Add(1)
		go func() {
			defer recvWG.Done()
			err := m.ReceiveMixed(rctx, e.BulkFrame, func(d time.Duration) {
				if inWindow.Load() {
					chats[i] = append(chats[i], d)
				}
			})
			if err != nil {
				fail(err)
			}
		}()
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			// Phases spread over a tick: the load is steady, not a pulse.
			first := start.Add(time.Duration(int64(backend.TickInterval) * int64(i) / int64(len(players))))
			if err := walk(sctx, m, book, book.logs[m.Name], first); err != nil {
				fail(err)
			}
		}()
	}

	err = wait(rctx, cfg.Warmup)
	m0, merr := e.markPlayers(rctx, players)
	inWindow.Store(true)
	if err == nil && merr == nil {
		err = wait(rctx, cfg.Duration)
	}
	inWindow.Store(false)
	m1, merr1 := e.markPlayers(rctx, players)
	stopSend()
	sendWG.Wait()
	if err == nil && merr == nil && merr1 == nil && failed.get() == nil {
		err = book.drain(rctx, drainTimeout)
	}
	detections, derr := e.detections(ctx)
	if err != nil && detections > 0 {
		// Movements a detection dropped never reach the backend: say so.
		err = fmt.Errorf("%w (the edge raised %.0f detection flags)", err, detections)
	}
	stopRecv()
	recvWG.Wait()
	if ferr := failed.get(); ferr != nil {
		if aerr := e.alive(); aerr != nil {
			ferr = fmt.Errorf("%w (%w)", ferr, aerr)
		}
		// A movement the backend refused (lost, reordered, altered) closes
		// that player's connection: the backend's reason is the real one.
		if berr := e.checkBackend(before); berr != nil {
			ferr = fmt.Errorf("%w; %w", berr, ferr)
		}
		return PlayersResult{}, fmt.Errorf("players: %w: %w", ErrFailed, ferr)
	}
	for _, err := range []error{err, merr, merr1, derr} {
		if err != nil {
			return PlayersResult{}, fmt.Errorf("players: %w", err)
		}
	}
	allocs, err := e.closeWindow(ctx, m0.edge, m1.edge)
	if err != nil {
		return PlayersResult{}, fmt.Errorf("players: proxy allocations: %w", err)
	}
	res := PlayersResult{
		Players: len(players), Elapsed: m1.at.Sub(m0.at), ProxyCPU: m1.cpu - m0.cpu,
		RSSBefore: rss0, RSSAfter: m1.rss,
		Received:   m1.stream.minus(m0.stream),
		Allocs:     allocs,
		Detections: detections,
	}
	var moves []time.Duration
	from, to := int64(m0.at.Sub(book.base))+1, int64(m1.at.Sub(book.base))+1
	for _, l := range book.logs {
		for i := range l.sent {
			s, a := l.sent[i].Load(), l.arrived[i].Load()
			if s >= from && s < to && a != 0 {
				moves = append(moves, time.Duration(a-s))
			}
		}
	}
	if len(moves) == 0 {
		return res, fmt.Errorf("players: no movement was sent in the window: %w", ErrFailed)
	}
	sortDurations(moves)
	res.Moves = int64(len(moves))
	res.MoveP50, res.MoveP99, res.MoveMax = percentile(moves, 50), percentile(moves, 99), moves[len(moves)-1]
	var chatAll []time.Duration
	for _, c := range chats {
		chatAll = append(chatAll, c...)
	}
	sortDurations(chatAll)
	res.ChatP50, res.ChatP99 = percentile(chatAll, 50), percentile(chatAll, 99)
	if err := checkStream(res.Received, cfg.Mix); err != nil {
		return res, fmt.Errorf("players: %w", err)
	}
	if err := e.alive(); err != nil {
		return res, fmt.Errorf("players: %w: %w", ErrFailed, err)
	}
	return res, e.checkBackend(before)
}

// playerName is the name of player i, as loginAll makes it.
func playerName(i int) string { return fmt.Sprintf("%s%05d", backend.PlayersPrefix, i) }

// walk sends m's movements, one per tick from first, until ctx ends,
// logging each one's send time before it is written.
func walk(ctx context.Context, m *player.Moving, book *moveBook, l *moveLog, first time.Time) error {
	t := time.NewTimer(time.Until(first))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	// A ticker never fires faster than its period: after a stall it
	// skips ticks rather than catching up, so the player never sends
	// more movements than real time allows (the edge's timer check).
	tick := time.NewTicker(backend.TickInterval)
	defer tick.Stop()
	for seq := int64(0); ; seq++ {
		if seq < int64(len(l.sent)) {
			l.sent[seq].Store(int64(time.Since(book.base)) + 1)
		}
		book.pending.Add(1)
		if err := m.Move(backend.Walk(seq)); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// playersMark is one end of the players window.
type playersMark struct {
	cpu    time.Duration
	rss    int64
	at     time.Time
	stream Stream
	edge   counters
}

func (s Stream) minus(o Stream) Stream {
	return Stream{Frames: s.Frames - o.Frames, Bytes: s.Bytes - o.Bytes, Chunks: s.Chunks - o.Chunks,
		EntityMoves: s.EntityMoves - o.EntityMoves, Chats: s.Chats - o.Chats, Probes: s.Probes - o.Probes}
}

// markPlayers reads everything the players window is the difference of,
// cheap readings first and the metrics scrape last (as markBulk does).
func (e *Env) markPlayers(ctx context.Context, players []*player.Moving) (playersMark, error) {
	var m playersMark
	for _, p := range players {
		r := &p.Received
		m.stream.Frames += r.Frames.Load()
		m.stream.Bytes += r.Bytes.Load()
		m.stream.Chunks += r.Chunks.Load()
		m.stream.EntityMoves += r.EntityMoves.Load()
		m.stream.Chats += r.Chats.Load()
		m.stream.Probes += r.Probes.Load()
	}
	var err error
	if m.cpu, err = cpuOf(e.PID); err != nil {
		return m, err
	}
	if e.PID != 0 {
		if m.rss, err = procstat.RSS(e.PID); err != nil {
			return m, err
		}
	}
	m.at = time.Now()
	if m.edge, err = e.edgeCounters(ctx); err != nil {
		return m, fmt.Errorf("proxy allocations: %w", err)
	}
	return m, nil
}

// checkStream fails when a kind of the mix that should have flowed in
// the window did not arrive at all.
func checkStream(s Stream, mix backend.Mix) error {
	for _, k := range []struct {
		what     string
		rate, of int64
	}{{"chunk frames", int64(mix.Chunks), s.Chunks}, {"entity moves", int64(mix.EntityMoves), s.EntityMoves}, {"chat lines", int64(mix.Chat), s.Chats}} {
		if k.rate > 0 && k.of == 0 {
			return fmt.Errorf("no %s arrived in the window: %w", k.what, ErrFailed)
		}
	}
	return nil
}

// detections reads the edge's detection flags so far (zero without a
// metrics endpoint, or before the first flag creates the series).
func (e *Env) detections(ctx context.Context) (float64, error) {
	if e.MetricsURL == "" {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.MetricsURL, nil)
	if err != nil {
		return 0, fmt.Errorf("metrics request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", e.MetricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: %s", e.MetricsURL, resp.Status)
	}
	sums, err := sumMetrics(resp.Body, metricDetections)
	if errors.Is(err, ErrNoMetric) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", e.MetricsURL, err)
	}
	return sums[metricDetections], nil
}

// Package run is one benchmark run: it starts the synthetic backend once,
// then for every selected workload and target starts a fresh proxy, runs
// the workload through it, stops the proxy and keeps the numbers. A fresh
// proxy per workload keeps one workload's buffers, caches and sockets out
// of the next one's memory and CPU readings.
package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rustguard/rustguard/bench/internal/accounts"
	"github.com/rustguard/rustguard/bench/internal/backend"
	"github.com/rustguard/rustguard/bench/internal/player"
	"github.com/rustguard/rustguard/bench/internal/target"
	"github.com/rustguard/rustguard/bench/internal/workload"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// Workload names, in report order.
const (
	Bulk    = "bulk"
	RTT     = "rtt"
	Status  = "status"
	Logins  = "logins"
	Idle    = "idle"
	Players = "players"
)

// Workloads returns every workload name in report order.
func Workloads() []string { return []string{Bulk, RTT, Status, Logins, Idle, Players} }

// ErrFailed means at least one workload failed functionally.
var ErrFailed = errors.New("run: workloads failed")

const (
	// fdReserve is what a process keeps for listeners, logs, the admin
	// endpoint and the runtime when the idle workload sizes itself from
	// RLIMIT_NOFILE.
	fdReserve = 200
	// socketsPerProxiedConn: a proxy holds the player's socket and the
	// backend's; so does this tool (player end plus backend end).
	socketsPerProxiedConn = 2
	// maxSources is how many 127.0.k.1 addresses exist (k is one byte).
	maxSources = 256
)

// Config is everything a run needs.
type Config struct {
	Targets   []target.Name
	Workloads []string
	// Threshold is the backend's compression threshold
	// (mcproto.CompressionOff for none); BulkPacket the bulk packet size.
	Threshold  int
	BulkPacket int
	Bulk       workload.BulkConfig
	RTT        workload.RTTConfig
	Status     workload.StatusConfig
	Logins     workload.LoginsConfig
	Idle       workload.IdleConfig
	// Players sizes the players workload; its Mix is also what the
	// backend streams at moving players.
	Players workload.PlayersConfig
	// Sources is how many loopback source addresses players spread over
	// (127.0.0.1, 127.0.1.1, …), for proxies that limit per address.
	Sources int
	// Rounds is how many times every workload runs on every target; each
	// cell reports the median round. The idle workload runs once.
	Rounds int
	Proxy  target.Options // Backend and WorkDir are filled in by Run
	Log    *slog.Logger
}

// Results holds every measurement of a run.
type Results struct {
	Bulk    map[target.Name]workload.BulkResult
	RTT     map[target.Name]workload.RTTResult
	Status  map[target.Name]workload.StatusResult
	Logins  map[target.Name]workload.LoginsResult
	Idle    map[target.Name]workload.IdleResult
	Players map[target.Name]workload.PlayersResult
	// Failures maps "target/workload" to what went wrong.
	Failures map[string]string
	// Notes are facts about the run a reader needs (limits applied).
	Notes []string
}

// ParseTargets reads a comma-separated target list.
func ParseTargets(s string) ([]target.Name, error) {
	var ts []target.Name
	for _, f := range strings.Split(s, ",") {
		t, err := target.Parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// ParseWorkloads reads a comma-separated workload list.
func ParseWorkloads(s string) ([]string, error) {
	var ws []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(Workloads(), f) {
			return nil, fmt.Errorf("unknown workload %q (want %s)", f, strings.Join(Workloads(), ", "))
		}
		ws = append(ws, f)
	}
	return ws, nil
}

// Validate rejects configurations that cannot run.
func (c *Config) Validate() error {
	if len(c.Targets) == 0 || len(c.Workloads) == 0 {
		return errors.New("nothing to run: no targets or no workloads")
	}
	if c.Threshold < mcproto.CompressionOff {
		return fmt.Errorf("compression threshold %d: want -1 (off) or ≥ 0", c.Threshold)
	}
	for name, v := range map[string]int{"bulk conns": c.Bulk.Conns, "rtt conns": c.RTT.Conns,
		"rtt login parallelism": c.RTT.LoginPar, "status workers": c.Status.Workers, "login workers": c.Logins.Workers,
		"idle conns": c.Idle.Conns, "idle login parallelism": c.Idle.LoginPar,
		"players": c.Players.Players, "players login parallelism": c.Players.LoginPar} {
		if v < 1 {
			return fmt.Errorf("%s %d: want at least 1", name, v)
		}
	}
	for name, d := range map[string]time.Duration{"bulk duration": c.Bulk.Duration, "rtt interval": c.RTT.Interval,
		"rtt duration": c.RTT.Duration, "status duration": c.Status.Duration, "logins duration": c.Logins.Duration,
		"players duration": c.Players.Duration} {
		if d <= 0 {
			return fmt.Errorf("%s %s: want > 0", name, d)
		}
	}
	m := c.Players.Mix
	for name, v := range map[string]int{"players entity moves": m.EntityMoves, "players chunks": m.Chunks, "players chat": m.Chat} {
		if v < 0 || v > backend.MaxMixRate {
			return fmt.Errorf("%s per second %d: want 0..%d", name, v, backend.MaxMixRate)
		}
	}
	if c.Rounds < 1 {
		return fmt.Errorf("rounds %d: want at least 1", c.Rounds)
	}
	if c.Sources < 0 || c.Sources > maxSources {
		return fmt.Errorf("sources %d: want 0..%d (one loopback /24 each)", c.Sources, maxSources)
	}
	if mode := c.Proxy.HAProxySplice; slices.Contains(c.Targets, target.HAProxySplice) && mode != "auto" && mode != "force" {
		return fmt.Errorf("haproxy splice mode %q: want auto or force", mode)
	}
	if p := c.Proxy.OTLPProtocol; c.Proxy.OTLPEndpoint != "" && p != "grpc" && p != "http/protobuf" && p != "http/json" {
		return fmt.Errorf("otlp protocol %q: want grpc, http/protobuf or http/json", p)
	}
	return nil
}

// Has reports whether target t completed workload w.
func (r *Results) Has(t target.Name, w string) bool {
	var ok bool
	switch w {
	case Bulk:
		_, ok = r.Bulk[t]
	case RTT:
		_, ok = r.RTT[t]
	case Status:
		_, ok = r.Status[t]
	case Logins:
		_, ok = r.Logins[t]
	case Idle:
		_, ok = r.Idle[t]
	case Players:
		_, ok = r.Players[t]
	}
	return ok
}

// Failed returns the failure of target t in workload w, if any.
func (r *Results) Failed(t target.Name, w string) (string, bool) {
	msg, ok := r.Failures[string(t)+"/"+w]
	return msg, ok
}

// Applies reports whether workload w makes sense for target t: memory per
// idle connection needs a proxy process, edge-traced exists to compare
// connection setup with tracing on and off (logins and pings), where spans
// are made; the relay after it never touches tracing. edge-online answers
// status exactly as edge does (authentication starts at Login Start), so it
// skips status pings.
func Applies(t target.Name, w string) bool {
	switch {
	case w == Idle && t == target.Direct:
		return false
	case t == target.EdgeTraced:
		return w == Logins || w == Status
	case t == target.EdgeOnline:
		return w != Status
	}
	return true
}

// NoFile is the RLIMIT_NOFILE pair after RaiseNoFile.
type NoFile struct{ Soft, Hard uint64 }

// RaiseNoFile lifts the soft descriptor limit to the hard one; proxies
// started afterwards inherit it. Raising the hard limit needs privileges a
// container rarely has, so it is left alone.
func RaiseNoFile() (NoFile, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return NoFile{}, fmt.Errorf("getrlimit nofile: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return NoFile{}, fmt.Errorf("setrlimit nofile to %d: %w", lim.Max, err)
		}
	}
	return NoFile{Soft: lim.Cur, Hard: lim.Max}, nil
}

// MaxIdleConns is the most idle connections a limit allows: every
// proxied connection costs the proxy two descriptors, and this tool two as
// well; HAProxy also keeps two per splice pipe.
func MaxIdleConns(lim NoFile) int {
	n := (int64(lim.Soft) - fdReserve - 2*target.HAProxyMaxPipes) / socketsPerProxiedConn
	return int(max(n, 0))
}

// sourceIPs returns n loopback addresses 127.0.k.1 (k = 0…n−1); 127/8 is
// all loopback on Linux, so they need no setup. Each lies in its own /24,
// the granularity at which proxies usually count per-address quotas.
func sourceIPs(n int) []net.IP {
	if n <= 1 {
		return nil
	}
	ips := make([]net.IP, n)
	for k := range n {
		ips[k] = net.IPv4(127, 0, byte(k), 1)
	}
	return ips
}

// Run executes cfg. It returns results even when some workloads failed,
// together with an error wrapping ErrFailed; other errors mean the run
// could not start at all.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res := &Results{
		Bulk:     map[target.Name]workload.BulkResult{},
		RTT:      map[target.Name]workload.RTTResult{},
		Status:   map[target.Name]workload.StatusResult{},
		Logins:   map[target.Name]workload.LoginsResult{},
		Idle:     map[target.Name]workload.IdleResult{},
		Players:  map[target.Name]workload.PlayersResult{},
		Failures: map[string]string{},
	}
	work, err := os.MkdirTemp("", "rgload-")
	if err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)

	srv, err := backend.New(backend.Config{Threshold: cfg.Threshold, BulkPacket: cfg.BulkPacket, Mix: cfg.Players.Mix, Logger: log})
	if err != nil {
		return nil, err
	}
	backendAddr, stopBackend, err := srv.ListenLocal()
	if err != nil {
		return nil, err
	}
	defer func() { _ = stopBackend() }()

	popts := cfg.Proxy
	popts.Backend = backendAddr
	popts.WorkDir = work
	if slices.Contains(cfg.Targets, target.EdgeTraced) {
		note, stop, err := otlpEndpoint(&popts, log)
		if err != nil {
			return nil, err
		}
		defer stop()
		res.Notes = append(res.Notes, note)
	}
	var sessions *accounts.Server
	if slices.Contains(cfg.Targets, target.EdgeOnline) {
		if sessions, err = accounts.Start(); err != nil {
			return nil, err
		}
		defer sessions.Close()
		popts.SessionServer = sessions.URL()
	}
	env := workload.Env{
		Backend:   srv,
		BulkFrame: backend.BulkFrame(cfg.Threshold, cfg.BulkPacket),
		Sources:   sourceIPs(cfg.Sources),
		Log:       log,
	}
	var rounds rounds
	for round := range cfg.Rounds {
		// Workload-major order inside a round: the targets of one workload
		// run back to back, so whatever else the machine is doing drifts
		// less between the numbers that get compared; rounds repeat that
		// and the median keeps one disturbed round from deciding a cell.
		// Every other round runs the targets in reverse, so a drift within
		// a round (a neighbour's build starting) does not always favour the
		// same side of a comparison such as edge vs edge-traced.
		order := cfg.Targets
		if round%2 == 1 {
			order = slices.Clone(cfg.Targets)
			slices.Reverse(order)
		}
		for _, w := range cfg.Workloads {
			if w == Idle && round > 0 {
				continue // memory is steady; one reading per target will do
			}
			for _, t := range order {
				if !Applies(t, w) {
					continue
				}
				if _, bad := res.Failed(t, w); bad {
					continue
				}
				if err := ctx.Err(); err != nil {
					rounds.fill(res)
					return res, fmt.Errorf("run interrupted: %w", err)
				}
				log.Info("workload start", "round", round+1, "target", t, "workload", w)
				start := time.Now()
				tenv := env
				if t == target.EdgeOnline {
					tenv.Join = sessions
				}
				if err := runOne(ctx, cfg, popts, tenv, t, w, &rounds); err != nil {
					res.Failures[string(t)+"/"+w] = err.Error()
					log.Error("workload failed", "round", round+1, "target", t, "workload", w, "err", err)
					continue
				}
				log.Info("workload done", "round", round+1, "target", t, "workload", w, "took", time.Since(start).Round(time.Millisecond))
			}
		}
	}
	rounds.fill(res)
	if sessions != nil {
		// The proof that edge-online authenticated its players: every
		// login joined the double and the edge asked it about each.
		res.Notes = append(res.Notes, fmt.Sprintf("edge-online: the session-server double (in rgload) accepted %d joins and answered %d hasJoined requests, for %d accounts.",
			sessions.Joins(), sessions.HasJoined(), sessions.Accounts()))
	}
	if len(res.Failures) > 0 {
		return res, fmt.Errorf("%d of the target/workload pairs: %w", len(res.Failures), ErrFailed)
	}
	return res, nil
}

// rounds collects every round's results before the medians are taken.
type rounds struct {
	bulk    map[target.Name][]workload.BulkResult
	rtt     map[target.Name][]workload.RTTResult
	status  map[target.Name][]workload.StatusResult
	logins  map[target.Name][]workload.LoginsResult
	idle    map[target.Name][]workload.IdleResult
	players map[target.Name][]workload.PlayersResult
}

func add[T any](m *map[target.Name][]T, t target.Name, v T) {
	if *m == nil {
		*m = map[target.Name][]T{}
	}
	(*m)[t] = append((*m)[t], v)
}

// fill stores the median round of every pair that did not fail. Bulk and
// status are ranked by their rate, latency by p99 (the number the targets
// judge), memory by growth per connection.
func (r *rounds) fill(res *Results) {
	pick := func(t target.Name, w string) bool { _, bad := res.Failed(t, w); return !bad }
	for t, v := range r.bulk {
		if pick(t, Bulk) {
			res.Bulk[t] = median(v, workload.BulkResult.MBps)
		}
	}
	for t, v := range r.rtt {
		if pick(t, RTT) {
			res.RTT[t] = median(v, func(x workload.RTTResult) float64 { return float64(x.P99) })
		}
	}
	for t, v := range r.status {
		if pick(t, Status) {
			res.Status[t] = median(v, workload.StatusResult.PerSecond)
		}
	}
	for t, v := range r.logins {
		if pick(t, Logins) {
			res.Logins[t] = median(v, workload.LoginsResult.PerSecond)
		}
	}
	for t, v := range r.idle {
		if pick(t, Idle) {
			res.Idle[t] = median(v, workload.IdleResult.KiBPerConn)
		}
	}
	for t, v := range r.players {
		if pick(t, Players) {
			res.Players[t] = median(v, playersKey)
		}
	}
}

// playersKey ranks players rounds by the proxy's CPU per player, the
// number the target judges; direct has no proxy, so its rounds are
// ranked by movement p99, the baseline the others' latency is set
// against.
func playersKey(r workload.PlayersResult) float64 {
	if r.ProxyCPU == 0 {
		return float64(r.MoveP99)
	}
	return r.CoresPer1000()
}

// median returns the element whose key is the median (the lower middle for
// an even count), so a reported cell is always one real measurement.
func median[T any](xs []T, key func(T) float64) T {
	s := slices.Clone(xs)
	slices.SortStableFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return s[(len(s)-1)/2]
}

// runOne starts target t, runs workload w through it, stops it and adds
// the result to rs.
func runOne(ctx context.Context, cfg Config, popts target.Options, env workload.Env, t target.Name, w string, rs *rounds) (err error) {
	p, err := target.Start(ctx, t, popts)
	if err != nil {
		return err
	}
	defer func() {
		if serr := p.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stopping %s: %w\n--- log tail ---\n%s", t, serr, p.LogTail())
		}
	}()
	env.Addr, env.PID, env.Alive, env.MetricsURL = p.Addr, p.PID, p.Alive, p.MetricsURL
	switch w {
	case Bulk:
		r, err := workload.Bulk(ctx, &env, cfg.Bulk)
		if err != nil {
			return withLog(err, p)
		}
		add(&rs.bulk, t, r)
	case RTT:
		r, err := workload.RTT(ctx, &env, cfg.RTT)
		if err != nil {
			return withLog(err, p)
		}
		add(&rs.rtt, t, r)
	case Status:
		r, err := workload.Status(ctx, &env, cfg.Status)
		if err != nil {
			return withLog(err, p)
		}
		add(&rs.status, t, r)
	case Logins:
		r, err := workload.Logins(ctx, &env, cfg.Logins)
		if err != nil {
			return withLog(err, p)
		}
		add(&rs.logins, t, r)
	case Idle:
		r, err := workload.Idle(ctx, &env, cfg.Idle)
		if err != nil {
			return withLog(err, p)
		}
		add(&rs.idle, t, r)
	case Players:
		r, err := workload.Players(ctx, &env, cfg.Players)
		if err != nil {
			return withLog(err, p)
		}
		add(&rs.players, t, r)
	default:
		return fmt.Errorf("unknown workload %q", w)
	}
	return nil
}

// withLog appends the proxy's log tail to a workload error, where the
// reason a proxy refused or dropped players usually is.
func withLog(err error, p *target.Proxy) error {
	if p.PID == 0 {
		return err
	}
	return fmt.Errorf("%w\n--- %s log tail ---\n%s", err, p.Name, p.LogTail())
}

// DefaultTargets are the targets a run measures unless told otherwise: all
// of them, except that a quick run leaves out edge-online so the smoke run
// of the test suite keeps its length (the online target's harness has its
// own tests).
func DefaultTargets(quick bool) []target.Name {
	if quick {
		return slices.DeleteFunc(target.All(), func(n target.Name) bool { return n == target.EdgeOnline })
	}
	return target.All()
}

// Preset returns the workload sizes of a full run (about four minutes for
// five targets: three rounds of the timed workloads, one of idle, plus
// about a minute per round for 500 moving players through each target)
// or of a quick smoke run (about half a minute, one round).
func Preset(quick bool) Config {
	if quick {
		return Config{
			Threshold:  backend.DefaultThreshold,
			BulkPacket: backend.DefaultBulkPacket,
			Rounds:     1,
			Bulk:       workload.BulkConfig{Conns: 2, Warmup: 300 * time.Millisecond, Duration: time.Second},
			RTT: workload.RTTConfig{Conns: 20, Interval: 20 * time.Millisecond, Warmup: 200 * time.Millisecond,
				Duration: time.Second, Kind: player.EchoKeepAlive, LoginPar: 20},
			Status: workload.StatusConfig{Workers: 4, Warmup: 200 * time.Millisecond, Duration: time.Second},
			Logins: workload.LoginsConfig{Workers: 4, Warmup: 200 * time.Millisecond, Duration: time.Second},
			Idle:   workload.IdleConfig{Conns: 200, LoginPar: 32, Settle: 500 * time.Millisecond, Probe: 10, Kind: player.EchoKeepAlive},
			Players: workload.PlayersConfig{Players: 20, LoginPar: 20, Warmup: 300 * time.Millisecond, Duration: time.Second,
				Mix: DefaultMix()},
		}
	}
	return Config{
		Threshold:  backend.DefaultThreshold,
		BulkPacket: backend.DefaultBulkPacket,
		Rounds:     3,
		Bulk:       workload.BulkConfig{Conns: 4, Warmup: time.Second, Duration: 4 * time.Second},
		RTT: workload.RTTConfig{Conns: 200, Interval: 20 * time.Millisecond, Warmup: time.Second,
			Duration: 4 * time.Second, Kind: player.EchoKeepAlive, LoginPar: 50},
		Status: workload.StatusConfig{Workers: 32, Warmup: 500 * time.Millisecond, Duration: 3 * time.Second},
		Logins: workload.LoginsConfig{Workers: 16, Warmup: 500 * time.Millisecond, Duration: 3 * time.Second},
		Idle:   workload.IdleConfig{Conns: 10000, LoginPar: 64, Settle: 3 * time.Second, Probe: 100, Kind: player.EchoKeepAlive},
		Players: workload.PlayersConfig{Players: 500, LoginPar: 50, Warmup: 2 * time.Second, Duration: 5 * time.Second,
			Mix: DefaultMix()},
	}
}

// DefaultMix is the stream each moving player receives unless the flags
// say otherwise (backend.Default*: five players in sight moving every
// tick, three chunk columns and one chat line a second).
func DefaultMix() backend.Mix {
	return backend.Mix{EntityMoves: backend.DefaultEntityMoves, Chunks: backend.DefaultChunks, Chat: backend.DefaultChat}
}

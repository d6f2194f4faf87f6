package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/test/e2e/fleet"
)

// Helpers for the tests that run a whole fleet (central_test.go,
// make_test.go): the programs, backend.js's events, a player driven over
// stdin, Jaeger's query API, and polling central.

const (
	// fleetPoll is how often a test asks central, Jaeger or an edge for
	// something that has no push notification.
	fleetPoll = 20 * time.Millisecond
	// apiTimeout bounds one request to central or Jaeger on loopback.
	apiTimeout = 5 * time.Second
	// maxJaegerBody caps one answer of Jaeger's query API.
	maxJaegerBody = 32 << 20
)

// fleetOptions are the programs every fleet of these tests runs: the edge
// under test, rustguard-central (RUSTGUARD_CENTRAL_BIN, or built once),
// Consul and Jaeger (RUSTGUARD_CONSUL_BIN, RUSTGUARD_JAEGER_BIN, or
// <root>/.tools/; `make test` builds them, so a missing one fails).
func (e *env) fleetOptions(t *testing.T) fleet.Options {
	t.Helper()
	e.centralOnce.Do(func() {
		e.centralBin, e.centralErr = buildBinary(e.root, e.tmp, "RUSTGUARD_CENTRAL_BIN", "rustguard-central",
			"github.com/rustguard/rustguard/central/cmd/rustguard-central")
	})
	if e.centralErr != nil {
		t.Fatal(e.centralErr)
	}
	return fleet.Options{
		EdgeBin: e.edgeBin, CentralBin: e.centralBin, NodeBin: e.node, ScriptsDir: e.e2eDir,
		ConsulBin: e.tool(t, "RUSTGUARD_CONSUL_BIN", "consul"),
		JaegerBin: e.tool(t, "RUSTGUARD_JAEGER_BIN", "jaeger"),
	}
}

// tool finds a program `make tools` builds into .tools/.
func (e *env) tool(t *testing.T, envVar, name string) string {
	t.Helper()
	bin := os.Getenv(envVar)
	if bin == "" {
		bin = filepath.Join(e.root, ".tools", name)
	} else if !filepath.IsAbs(bin) {
		bin = filepath.Join(e.root, bin)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s not found (%v): run `make test`, which builds it into .tools/, or set %s", name, err, envVar)
	}
	return bin
}

// startFleet starts a fleet in a test directory; it is stopped when the
// test ends, and a failed test logs the end of every child's log.
func startFleet(t *testing.T, o fleet.Options) *fleet.Fleet {
	t.Helper()
	o.Dir = t.TempDir()
	o.Progress = testLog{t}
	start := time.Now()
	f, err := fleet.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start the fleet: %v", err)
	}
	t.Logf("fleet up in %v", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		procs := f.Processes()
		f.Stop()
		for _, p := range procs {
			if exited, _ := p.Exited(); !exited {
				t.Errorf("%s (pid %d) still runs after Stop", p.Name, p.Pid())
			}
			if t.Failed() {
				t.Logf("%s log tail:\n%s", p.Name, p.LogTail())
			}
		}
	})
	return f
}

// testLog writes the fleet's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// eventLog collects backend.js's events (fleet.Options.BackendLine).
type eventLog struct {
	mu     sync.Mutex
	events []event
	wake   chan struct{}
}

func newEventLog() *eventLog { return &eventLog{wake: make(chan struct{})} }

func (l *eventLog) add(line []byte) {
	var ev event
	if json.Unmarshal(line, &ev) != nil {
		return
	}
	l.mu.Lock()
	l.events = append(l.events, ev)
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
}

// wait returns the first event that matches, waiting up to timeout.
func (l *eventLog) wait(timeout time.Duration, what string, match func(event) bool) (event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := 0
	for {
		l.mu.Lock()
		for ; next < len(l.events); next++ {
			if match(l.events[next]) {
				ev := l.events[next]
				l.mu.Unlock()
				return ev, nil
			}
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-deadline.C:
			return event{}, fmt.Errorf("backend: no %s within %v", what, timeout)
		}
	}
}

// has reports whether an event so far matches.
func (l *eventLog) has(match func(event) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.events {
		if match(ev) {
			return true
		}
	}
	return false
}

// chatFrom matches backend.js's line for a chat message from username.
func chatFrom(username, message string) func(event) bool {
	return func(ev event) bool { return ev.Event == "chat" && ev.Username == username && ev.Message == message }
}

// player is a running player.js: a player that stays connected and chats
// when told.
type player struct {
	*process
	stdin    io.WriteCloser
	username string
}

// playerSpawnTimeout bounds player.js from start to its spawned line
// (bot.js's runs take 3–10 s, more on a loaded machine).
const playerSpawnTimeout = 45 * time.Second

// playerSession bounds the whole session player.js stays for (its
// --timeout-ms): longer than any test keeps it.
const playerSession = 3 * time.Minute

func (e *env) startPlayer(t *testing.T, addr, version, username string) *player {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(e.node, "player.js", "--host", host, "--port", port, "--version", version,
		"--username", username, "--timeout-ms", strconv.Itoa(int(playerSession.Milliseconds())))
	cmd.Dir = e.e2eDir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &player{process: startProcess(t, "player "+username, cmd), stdin: stdin, username: username}
	ev, err := p.waitEvent(playerSpawnTimeout, "spawned line", func(ev event) bool { return ev.Event == "spawned" || ev.Event == "error" })
	if err == nil && ev.Event == "error" {
		err = fmt.Errorf("player.js at stage %s: %s", ev.Stage, ev.Error)
	}
	if err != nil {
		t.Fatalf("player %s: %v", username, err)
	}
	return p
}

// chat makes the player send message and waits until player.js says it
// went out.
func (p *player) chat(t *testing.T, message string) {
	t.Helper()
	line, _ := json.Marshal(map[string]string{"cmd": "chat", "message": message})
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		t.Fatalf("player %s: %v", p.username, err)
	}
	if _, err := p.waitEvent(backendEventTimeout, "sent "+message, func(ev event) bool {
		return (ev.Event == "sent" && ev.Message == message) || ev.Event == "error"
	}); err != nil {
		t.Fatalf("player %s: %v", p.username, err)
	}
	if err := p.gone(); err != nil {
		t.Fatalf("player %s: %v", p.username, err)
	}
}

// gone returns the player's error line (kicked, disconnected), if any.
func (p *player) gone() error {
	if evs := p.eventsOf(func(ev event) bool { return ev.Event == "error" }); len(evs) > 0 {
		return fmt.Errorf("player.js at stage %s: %s", evs[0].Stage, evs[0].Error)
	}
	return nil
}

// quit makes the player leave and waits for player.js to exit 0.
func (p *player) quit(t *testing.T) {
	t.Helper()
	line, _ := json.Marshal(map[string]string{"cmd": "quit"})
	_, _ = p.stdin.Write(append(line, '\n'))
	if _, err := p.waitEvent(backendEventTimeout, "done line", func(ev event) bool { return ev.Event == "done" || ev.Event == "error" }); err != nil {
		t.Errorf("player %s: %v", p.username, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		t.Errorf("player %s: still running %v after quit", p.username, stopGrace)
	}
}

// runJSON runs a one-shot peer script with its own deadline timeout (its
// --timeout-ms, which the caller passes) and decodes its last line into
// out. It does not touch a testing.T, so goroutines may call it.
func (e *env) runJSON(timeout time.Duration, out any, script string, args ...string) (scriptRun, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+scriptKillSlack)
	defer cancel()
	run, err := e.runScript(ctx, script, args...)
	if err != nil {
		return run, err
	}
	if err := json.Unmarshal(run.last, out); err != nil {
		return run, fmt.Errorf("%s: bad result line %q: %w", script, run.last, err)
	}
	return run, nil
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// getJSON calls central and decodes a 200 answer.
func getJSON(t *testing.T, c fleet.Client, path string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	if err := c.Get(ctx, path, out); err != nil {
		t.Fatalf("%s: %v", c.Base, err)
	}
}

// call sends a request to central and returns the status and body.
func call(t *testing.T, c fleet.Client, method, path string, body any) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	code, out, err := c.Do(ctx, method, path, body)
	if err != nil {
		t.Fatalf("%s: %v", c.Base, err)
	}
	return code, out
}

// eventually calls cond every fleetPoll until it returns true, and fails
// the test after timeout with what the last call said.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, timeout, last)
		}
		time.Sleep(fleetPoll)
	}
}

// playerView is GET /v1/players/{who}.
type playerView struct {
	Total    int      `json:"total"`
	Regions  []string `json:"regions"`
	Checks   []string `json:"checks"`
	TraceIDs []string `json:"trace_ids"`
	Entries  []struct {
		Time    time.Time `json:"time"`
		Region  string    `json:"region"`
		Check   string    `json:"check"`
		Action  string    `json:"action"`
		TraceID string    `json:"trace_id"`
		SpanID  string    `json:"span_id"`
		Edge    string    `json:"edge"`
		Player  string    `json:"player"`
		Address string    `json:"address"`
	} `json:"entries"`
}

// detectionView is one entry of GET /v1/detections.
type detectionView struct {
	Check   string    `json:"check"`
	Action  string    `json:"action"`
	Player  string    `json:"player"`
	Region  string    `json:"region"`
	Edge    string    `json:"edge"`
	Time    time.Time `json:"time"`
	TraceID string    `json:"trace_id"`
}

// detectionsOf asks central for player's detections (newest first).
func detectionsOf(t *testing.T, c fleet.Client, player string) []detectionView {
	t.Helper()
	var out struct {
		Detections []detectionView `json:"detections"`
	}
	getJSON(t, c, "/v1/detections?player="+url.QueryEscape(player)+"&limit=1000", &out)
	return out.Detections
}

// banView is one entry of GET /v1/bans.
type banView struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Value    string `json:"value"`
	Source   string `json:"source"`
	Evidence []struct {
		Region  string    `json:"region"`
		Check   string    `json:"check"`
		Time    time.Time `json:"time"`
		TraceID string    `json:"trace_id"`
	} `json:"evidence"`
}

// fleetView is GET /v1/fleet.
type fleetView struct {
	Version   uint64 `json:"version"`
	Converged bool   `json:"converged"`
	Edges     []struct {
		ID            string `json:"id"`
		Region        string `json:"region"`
		ConfigVersion uint64 `json:"config_version"`
		ConfigStatus  string `json:"config_status"`
		Health        string `json:"health"`
	} `json:"edges"`
}

// jaegerSpan is a span of a trace as Jaeger's query API returns it, with
// its resource's attributes.
type jaegerSpan struct {
	TraceID  string
	Name     string
	Resource map[string]string
	Attrs    map[string]string
}

// otlpAttrs flattens OTLP JSON attributes into strings.
func otlpAttrs(kvs []struct {
	Key   string                     `json:"key"`
	Value map[string]json.RawMessage `json:"value"`
}) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		for _, raw := range kv.Value {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			out[kv.Key] = s
		}
	}
	return out
}

// jaegerTrace fetches one trace by id through the query API (v3: a stream
// of {"result": OTLP traces}). A trace Jaeger does not hold yet is no
// spans and no error.
func jaegerTrace(ctx context.Context, queryURL, traceID string) ([]jaegerSpan, error) {
	body, code, err := jaegerGet(ctx, queryURL+"/api/v3/traces/"+traceID)
	if err != nil || code == http.StatusNotFound {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("jaeger trace %s: %d: %.300s", traceID, code, body)
	}
	var spans []jaegerSpan
	dec := json.NewDecoder(bytes.NewReader(body))
	for dec.More() {
		var chunk struct {
			Result struct {
				ResourceSpans []struct {
					Resource struct {
						Attributes []struct {
							Key   string                     `json:"key"`
							Value map[string]json.RawMessage `json:"value"`
						} `json:"attributes"`
					} `json:"resource"`
					ScopeSpans []struct {
						Spans []struct {
							TraceID    string `json:"traceId"`
							Name       string `json:"name"`
							Attributes []struct {
								Key   string                     `json:"key"`
								Value map[string]json.RawMessage `json:"value"`
							} `json:"attributes"`
						} `json:"spans"`
					} `json:"scopeSpans"`
				} `json:"resourceSpans"`
			} `json:"result"`
		}
		if err := dec.Decode(&chunk); err != nil {
			return nil, fmt.Errorf("jaeger trace %s: %w", traceID, err)
		}
		for _, rs := range chunk.Result.ResourceSpans {
			res := otlpAttrs(rs.Resource.Attributes)
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					spans = append(spans, jaegerSpan{TraceID: sp.TraceID, Name: sp.Name, Resource: res, Attrs: otlpAttrs(sp.Attributes)})
				}
			}
		}
	}
	return spans, nil
}

// jaegerSearch finds traces through the query API by service, operation
// and resource attributes (process tags, such as cloud.region), in the last
// lookback: the search Jaeger's UI makes (GET /api/traces; the v3 API of
// Jaeger v1.75 cannot filter by attribute). It returns the trace ids and
// each trace's regions.
func jaegerSearch(ctx context.Context, queryURL, service, operation string, tags map[string]string, lookback time.Duration) (map[string][]string, error) {
	rawTags, _ := json.Marshal(tags)
	q := url.Values{}
	q.Set("service", service)
	q.Set("operation", operation)
	q.Set("tags", string(rawTags))
	q.Set("lookback", lookback.String())
	q.Set("limit", "1000")
	body, code, err := jaegerGet(ctx, queryURL+"/api/traces?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("jaeger search: %d: %.300s", code, body)
	}
	var out struct {
		Data []struct {
			TraceID string `json:"traceID"`
			Spans   []struct {
				ProcessID string `json:"processID"`
			} `json:"spans"`
			Processes map[string]struct {
				Tags []struct {
					Key   string `json:"key"`
					Value any    `json:"value"`
				} `json:"tags"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("jaeger search: %w", err)
	}
	found := map[string][]string{}
	for _, tr := range out.Data {
		regions := []string{}
		for _, sp := range tr.Spans {
			for _, tag := range tr.Processes[sp.ProcessID].Tags {
				if tag.Key == "cloud.region" {
					regions = append(regions, fmt.Sprint(tag.Value))
				}
			}
		}
		found[tr.TraceID] = regions
	}
	return found, nil
}

func jaegerGet(ctx context.Context, u string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJaegerBody))
	return body, resp.StatusCode, err
}

// bannedAtAccept reports whether the edge at addr closes a connection from
// the local address from at once, as it does for a banned address, rather
// than waiting for a handshake as for anyone else. It sends nothing.
func bannedAtAccept(addr, from string) (bool, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: apiTimeout}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return false, err
	}
	defer c.Close()
	// An edge waits seconds for a handshake (proxy.handshake_timeout); a
	// banned address is closed as it is accepted.
	_ = c.SetReadDeadline(time.Now().Add(acceptCloseWait))
	_, err = bufio.NewReader(c).ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, nil
	}
	return true, nil
}

// acceptCloseWait is how long bannedAtAccept waits for the edge to close:
// a close at accept comes within milliseconds on loopback; an open
// connection waits for its handshake for seconds.
const acceptCloseWait = time.Second

// metricValue reads one unlabelled sample from an edge's /metrics.
func metricValue(admin, name string) (float64, error) {
	client := &http.Client{Timeout: apiTimeout}
	resp, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, maxMetricsBody))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(line)
		return strconv.ParseFloat(fields[len(fields)-1], 64)
	}
	return 0, fmt.Errorf("%s: no %s", admin, name)
}

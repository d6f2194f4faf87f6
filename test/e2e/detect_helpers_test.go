package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers of the detection suites in detect_test.go: reading the edge's
// detection metric and log, the check table of docs/DETECTIONS.md, the
// backend's packet log, and running honest.js and cheat.js.

// Bounds on time for the detection suites.
const (
	// honestScriptTimeout is honest.js's own deadline: a version takes
	// 55–70 s through the edge with two versions running at once; anything
	// near this bound is a hang to report.
	honestScriptTimeout = 150 * time.Second

	// cheatScriptTimeout is cheat.js's own deadline: login, a 1.5 s
	// settle, the cheat (at most ~5 s for the timer and probe cheats) and
	// up to 8 s waiting for a kick.
	cheatScriptTimeout = 60 * time.Second

	// leaveTimeout bounds waiting for the backend to report that a player
	// left, after which its packet log for that player is complete.
	leaveTimeout = 20 * time.Second
)

// Bounds on memory.
const (
	// maxPacketLine caps one line of the backend's packet log. Buffers are
	// logged as a length and 64 bytes of hex, so the largest lines are a
	// book of 120 short pages or a window click with items (a few KiB).
	maxPacketLine = 1 << 20

	// maxMetricsBody caps the edge's /metrics answer (a few hundred
	// series, well under 1 MiB).
	maxMetricsBody = 4 << 20

	// maxPacketLines caps the packet lines kept per backend: the cheat
	// suite logs ~20,000 (floods of 4,000 and 1,300 packets included).
	maxPacketLines = 200000
)

// detectionMetric is the edge's counter of detections, labelled by check
// key and the action taken (edge/internal/detect).
const detectionMetric = "rustguard_edge_detections_total"

// detKey is one series of detectionMetric.
type detKey struct{ check, action string }

// detections is a scrape of detectionMetric.
type detections map[detKey]float64

// parseDetections reads the detectionMetric series from a Prometheus text
// exposition. Other metrics are ignored.
func parseDetections(body string) (detections, error) {
	out := detections{}
	for i, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, detectionMetric+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			return nil, fmt.Errorf("line %d: no closing brace: %q", i+1, line)
		}
		labels, err := parseLabels(line[len(detectionMetric)+1 : end])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		fields := strings.Fields(line[end+1:])
		if len(fields) == 0 {
			return nil, fmt.Errorf("line %d: no value: %q", i+1, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value: %w", i+1, err)
		}
		out[detKey{check: labels["check"], action: labels["action"]}] += v
	}
	return out, nil
}

// parseLabels reads `a="x",b="y"` with the exposition format's escapes.
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || len(s) < eq+2 || s[eq+1] != '"' {
			return nil, fmt.Errorf("bad label pair in %q", s)
		}
		name := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, fmt.Errorf("unterminated value of label %s", name)
		}
		out[name] = val.String()
		s = strings.TrimPrefix(s[i+1:], ",")
	}
	return out, nil
}

// total is the sum of every series.
func (d detections) total() float64 {
	var n float64
	for _, v := range d {
		n += v
	}
	return n
}

// since is what grew after before (counters only grow; a series missing
// from before counts from zero).
func (d detections) since(before detections) detections {
	out := detections{}
	for k, v := range d {
		if dv := v - before[k]; dv > 0 {
			out[k] = dv
		}
	}
	return out
}

// String lists the series sorted, e.g. "chat.rate/drop=5 flood.bytes/kick=1".
func (d detections) String() string {
	if len(d) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(d))
	for k, v := range d {
		parts = append(parts, fmt.Sprintf("%s/%s=%g", k.check, k.action, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// scrapeDetections reads the edge's /metrics. It fails when the page holds
// no rustguard_edge_ metric at all, so a broken endpoint cannot pass for
// "no detections".
func (ed *edge) scrapeDetections() (detections, error) {
	client := &http.Client{Timeout: adminRequestTimeout}
	resp, err := client.Get("http://" + ed.admin + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetricsBody))
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape metrics: %s", resp.Status)
	}
	if !strings.Contains(string(body), "rustguard_edge_") {
		return nil, fmt.Errorf("scrape metrics: no rustguard_edge_ metric in %d bytes", len(body))
	}
	return parseDetections(string(body))
}

// detectionLogLines returns the edge's "detection" log lines still in its
// stderr tail, optionally only those naming player.
func detectionLogLines(ed *edge, player string) []string {
	var out []string
	for _, line := range strings.Split(ed.stderr.String(), "\n") {
		if !strings.Contains(line, "msg=detection ") {
			continue
		}
		if player != "" && !strings.Contains(line, " player="+player+" ") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// checkDoc is one check as docs/DETECTIONS.md's generated table lists it
// (edge/internal/detect's TestDetectionsDoc keeps the table equal to the
// registry, so this is the engine's own list).
type checkDoc struct {
	key          string
	action       string // default action: alert, rewrite, drop, kick, ban
	kickVL       float64
	experimental bool
}

const (
	checkTableBegin = "<!-- checks:begin"
	checkTableEnd   = "<!-- checks:end -->"
)

func readCheckTable(root string) ([]checkDoc, error) {
	b, err := os.ReadFile(filepath.Join(root, "docs", "DETECTIONS.md"))
	if err != nil {
		return nil, fmt.Errorf("read the check table: %w", err)
	}
	return parseCheckTable(string(b))
}

// parseCheckTable reads the rows between the generated-table markers:
// | `key` | layer | action | kick VL or — | decay | on or experimental (off) | … |
func parseCheckTable(doc string) ([]checkDoc, error) {
	i, j := strings.Index(doc, checkTableBegin), strings.Index(doc, checkTableEnd)
	if i < 0 || j < i {
		return nil, errors.New("check table markers not found")
	}
	var out []checkDoc
	for _, line := range strings.Split(doc[i:j], "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, " | ")
		if len(cells) < 6 {
			return nil, fmt.Errorf("short check row %q", line)
		}
		c := checkDoc{
			key:          strings.Trim(strings.TrimPrefix(cells[0], "| "), "`"),
			action:       strings.TrimSpace(cells[2]),
			experimental: strings.HasPrefix(strings.TrimSpace(cells[5]), "experimental"),
		}
		if vl := strings.TrimSpace(cells[3]); vl != "—" {
			v, err := strconv.ParseFloat(vl, 64)
			if err != nil {
				return nil, fmt.Errorf("check %s: kick VL %q: %w", c.key, vl, err)
			}
			c.kickVL = v
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("check table is empty")
	}
	return out, nil
}

// packetLine is one line of backend.js's packet log: a packet flying-squid
// received, or the end of a player's connection.
type packetLine struct {
	Event    string         `json:"event"` // "packet" or "leave"
	Username string         `json:"username"`
	Name     string         `json:"name"`
	Params   map[string]any `json:"params"`
}

// packetLog collects the lines backend.js writes to its packet descriptor.
type packetLog struct {
	mu      sync.Mutex
	lines   []packetLine
	dropped int
	wake    chan struct{} // closed and replaced when lines grows or the log ends
	ended   bool
	err     error
}

func newPacketLog() *packetLog { return &packetLog{wake: make(chan struct{})} }

func (l *packetLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxPacketLine)
	for sc.Scan() {
		var pl packetLine
		err := json.Unmarshal(sc.Bytes(), &pl)
		l.mu.Lock()
		switch {
		case err != nil:
			l.err = fmt.Errorf("packet log line %q: %w", sc.Bytes(), err)
		case len(l.lines) >= maxPacketLines:
			l.dropped++
		default:
			l.lines = append(l.lines, pl)
		}
		close(l.wake)
		l.wake = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	if err := sc.Err(); err != nil && l.err == nil {
		l.err = fmt.Errorf("read the packet log: %w", err)
	}
	l.ended = true
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
}

// waitLeave waits for the line saying username's connection ended.
func (l *packetLog) waitLeave(username string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	next := 0
	for {
		l.mu.Lock()
		for ; next < len(l.lines); next++ {
			if pl := l.lines[next]; pl.Event == "leave" && pl.Username == username {
				l.mu.Unlock()
				return nil
			}
		}
		ended, err, wake, dropped := l.ended, l.err, l.wake, l.dropped
		l.mu.Unlock()
		switch {
		case err != nil:
			return err
		case dropped > 0:
			return fmt.Errorf("packet log over %d lines; %d dropped", maxPacketLines, dropped)
		case ended:
			return fmt.Errorf("packet log ended before %s left", username)
		}
		select {
		case <-wake:
		case <-deadline.C:
			return fmt.Errorf("the backend did not report %s leaving within %v", username, timeout)
		}
	}
}

// packetsOf returns username's packets received so far.
func (l *packetLog) packetsOf(username string) []packetLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []packetLine
	for _, pl := range l.lines {
		if pl.Event == "packet" && pl.Username == username {
			out = append(out, pl)
		}
	}
	return out
}

// matchValue reports whether got holds want: objects field by field (got
// may have more fields), arrays element by element, numbers by value
// whether either side wrote them as a JSON number or a decimal string (the
// peers write 64-bit integers as strings).
func matchValue(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !matchValue(wv, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !matchValue(w[i], g[i]) {
				return false
			}
		}
		return true
	case nil:
		return got == nil
	}
	wn, wok := number(want)
	gn, gok := number(got)
	if wok && gok {
		return wn == gn || math.IsNaN(wn) && math.IsNaN(gn)
	}
	return want == got
}

// number reads a JSON number, or a string holding one ("NaN" included).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// backendOptions are backend.js's optional switches.
type backendOptions struct {
	opAll      bool // every player is an operator
	logPackets bool // log every serverbound play packet to a pipe
}

// loggedBackend is a backend.js, with its packet log when asked for.
type loggedBackend struct {
	*backend
	packets *packetLog // nil unless logPackets
}

// startBackendWith starts backend.js like startBackend, with options. The
// packet log travels on its own pipe (file descriptor 3 in the child), so
// the stdout event protocol the other tests read is unchanged.
func (e *env) startBackendWith(t *testing.T, version string, o backendOptions) *loggedBackend {
	t.Helper()
	args := []string{"backend.js", "--host", "127.0.0.1", "--port", "0", "--version", version}
	if o.opAll {
		args = append(args, "--op-all")
	}
	cmd := exec.Command(e.node, args...)
	cmd.Dir = e.e2eDir
	lb := &loggedBackend{}
	if o.logPackets {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatalf("packet log pipe: %v", err)
		}
		cmd.ExtraFiles = []*os.File{w} // descriptor 3 in the child
		cmd.Args = append(cmd.Args, "--log-packets", "*", "--packet-fd", "3")
		lb.packets = newPacketLog()
		go lb.packets.read(r)
		t.Cleanup(func() { r.Close() })
		// The child holds its own copy; ours must go, or the reader never
		// sees the end of the log.
		defer w.Close()
	}
	p := startProcess(t, "backend "+version, cmd)
	ready, err := p.waitEvent(backendReadyTimeout, "ready line", func(ev event) bool {
		return ev.Event == "ready" || ev.Event == "error"
	})
	if err == nil && ready.Event == "error" {
		err = fmt.Errorf("backend.js %s: %s", ready.Stage, ready.Error)
	}
	if err != nil {
		t.Fatalf("start backend %s: %v", version, err)
	}
	lb.backend = &backend{process: p, version: version, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ready.Port))}
	return lb
}

// runFilterSelects reports whether the -run and -skip flags select the test
// named by the path elements (test, subtest, ...), matching each element
// against the flag's element at the same level as the testing package does.
// It only decides what is started ahead of time; when it is wrong, a row
// starts what it needs itself.
func runFilterSelects(names ...string) bool {
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		for i, pat := range strings.Split(f.Value.String(), "/") {
			if i >= len(names) {
				break
			}
			re, err := regexp.Compile(pat)
			if err != nil || !re.MatchString(names[i]) {
				return err != nil // an odd pattern: start everything
			}
		}
	}
	if f := flag.Lookup("test.skip"); f != nil && f.Value.String() != "" {
		elems := strings.Split(f.Value.String(), "/")
		if len(elems) <= len(names) {
			skipped := true
			for i, pat := range elems {
				re, err := regexp.Compile(pat)
				if err != nil || !re.MatchString(names[i]) {
					skipped = false
					break
				}
			}
			if skipped {
				return false
			}
		}
	}
	return true
}

// honestActivity is one activity honest.js reports.
type honestActivity struct {
	Player   string `json:"player"`
	Activity string `json:"activity"`
	OK       bool   `json:"ok"`
	Detail   string `json:"detail"`
	AtMS     int    `json:"at_ms"`
}

// honestResult is honest.js's final line.
type honestResult struct {
	Event      string            `json:"event"`
	Activities []honestActivity  `json:"activities"`
	Kicked     map[string]string `json:"kicked"`
	ElapsedMS  int               `json:"elapsed_ms"`
	Stage      string            `json:"stage"`
	Error      string            `json:"error"`
}

// honestSkipped starts the detail of an activity honest.js cannot do on a
// version (its SKIPPED constant).
const honestSkipped = "not possible on this version"

func (e *env) runHonest(t *testing.T, addr, version, prefix string) (honestResult, scriptRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), honestScriptTimeout+scriptKillSlack)
	defer cancel()
	host, port, _ := net.SplitHostPort(addr)
	run, err := e.runScript(ctx, "honest.js", "--host", host, "--port", port, "--version", version,
		"--prefix", prefix, "--timeout-ms", strconv.Itoa(int(honestScriptTimeout.Milliseconds())))
	if err != nil {
		t.Fatalf("honest.js: %v\nstderr:\n%s", err, run.stderr)
	}
	var res honestResult
	if err := json.Unmarshal(run.last, &res); err != nil {
		t.Fatalf("honest.js: bad result line %q: %v", run.last, err)
	}
	return res, run
}

// cheatPacket is a packet cheat.js sent: its name and identifying fields,
// and for floods how many copies.
type cheatPacket struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params"`
	Sent   int            `json:"sent"`
}

func (p cheatPacket) String() string {
	b, _ := json.Marshal(p.Params)
	return p.Name + string(b)
}

// matches reports whether the backend received p.
func (p cheatPacket) matches(pl packetLine) bool {
	return pl.Event == "packet" && pl.Name == p.Name && matchValue(map[string]any(p.Params), map[string]any(pl.Params))
}

// cheatResult is cheat.js's final line.
type cheatResult struct {
	Event      string        `json:"event"`
	Cheat      string        `json:"cheat"`
	Kicked     bool          `json:"kicked"`
	KickReason string        `json:"kick_reason"`
	Offending  []cheatPacket `json:"offending"`
	Control    []cheatPacket `json:"control"`
	Floods     []cheatPacket `json:"floods"`
	Notes      []string      `json:"notes"`
	Stage      string        `json:"stage"`
	Error      string        `json:"error"`
}

func (e *env) runCheat(t *testing.T, addr, version, username, cheat, expect string) (cheatResult, scriptRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cheatScriptTimeout+scriptKillSlack)
	defer cancel()
	host, port, _ := net.SplitHostPort(addr)
	run, err := e.runScript(ctx, "cheat.js", "--host", host, "--port", port, "--version", version,
		"--username", username, "--cheat", cheat, "--expect", expect,
		"--timeout-ms", strconv.Itoa(int(cheatScriptTimeout.Milliseconds())))
	if err != nil {
		t.Fatalf("cheat.js: %v\nstderr:\n%s", err, run.stderr)
	}
	var res cheatResult
	if err := json.Unmarshal(run.last, &res); err != nil {
		t.Fatalf("cheat.js: bad result line %q: %v", run.last, err)
	}
	return res, run
}

// packetCount counts the lines of pls that are p.
func packetCount(pls []packetLine, p cheatPacket) int {
	n := 0
	for _, pl := range pls {
		if p.matches(pl) {
			n++
		}
	}
	return n
}

// deliveryProblems checks what the backend received of a cheat's packets
// against the check's action: a dropping or kicking check lets the
// controls through and none of the offending packets (nor all of a flood);
// an alerting one lets everything through. It returns one line per problem.
func deliveryProblems(res cheatResult, received []packetLine, action string) []string {
	var out []string
	blocks := action != "alert"
	// Controls and offending packets may share a signature (a legal hit and
	// one out of reach): count both per signature.
	type sig struct{ control, offending int }
	sigs := map[string]*sig{}
	var order []cheatPacket
	add := func(p cheatPacket, control bool) {
		s, ok := sigs[p.String()]
		if !ok {
			s = &sig{}
			sigs[p.String()] = s
			order = append(order, p)
		}
		if control {
			s.control++
		} else {
			s.offending++
		}
	}
	for _, p := range res.Control {
		add(p, true)
	}
	for _, p := range res.Offending {
		add(p, false)
	}
	for _, p := range order {
		s := sigs[p.String()]
		got := packetCount(received, p)
		switch {
		case got < s.control:
			out = append(out, fmt.Sprintf("control %s: the backend got %d of %d", p, got, s.control))
		case s.offending > 0 && blocks && got > s.control:
			out = append(out, fmt.Sprintf("offending %s reached the backend (%d received, %d of them controls)", p, got, s.control))
		case s.offending > 0 && !blocks && got < s.control+s.offending:
			out = append(out, fmt.Sprintf("offending %s: an alert must not drop it, the backend got %d of %d", p, got, s.control+s.offending))
		}
	}
	for _, f := range res.Floods {
		got := packetCount(received, f)
		switch {
		case blocks && got >= f.Sent:
			out = append(out, fmt.Sprintf("flood of %d × %s: all reached the backend", f.Sent, f))
		case !blocks && got < f.Sent:
			out = append(out, fmt.Sprintf("flood of %d × %s: an alert must not drop any, the backend got %d", f.Sent, f, got))
		}
	}
	return out
}

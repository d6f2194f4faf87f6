package workload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The edge's counters behind "allocations per forwarded packet".
const (
	// metricMallocs is the Go collector's count of heap objects allocated
	// since the process started.
	metricMallocs = "go_memstats_mallocs_total"
	// metricPackets counts frames the edge parsed and relayed, one series
	// per direction; spliced traffic is not counted.
	metricPackets = "rustguard_edge_packets_processed_total"
	// scrapeTimeout bounds one metrics request; the edge answers in
	// milliseconds, so this is only room for a loaded machine.
	scrapeTimeout = 5 * time.Second
	// maxMetricsLine bounds one exposition line; the edge's longest are a
	// few hundred bytes (help texts, histogram buckets).
	maxMetricsLine = 64 << 10
)

// ErrNoMetric means a metrics page lacks a series the tool needs.
var ErrNoMetric = errors.New("metric not exposed")

// Allocs is what the edge allocated on its heap during a measurement
// window, set against the frames it relayed in that window: the issue's
// "zero allocations per forwarded packet in the steady state".
//
// Each scrape of /metrics allocates in the edge as well: gathering and
// encoding the page (hundreds of series, the process collector reading
// /proc) costs a few thousand objects, and about one scrape's worth falls
// inside the window, as much as a 4 s echo window's packets would show at
// 0.07 each. So a third scrape right after the window measures one
// scrape, and that is subtracted.
type Allocs struct {
	Mallocs float64 // heap objects allocated in the window, one scrape's cost taken out
	Packets float64 // frames relayed in the window, both directions
	Scrape  float64 // what one scrape allocated (measured right after the window)
}

// PerPacket returns heap allocations per forwarded packet. It is false
// when there is nothing to divide by: the target exposes no metrics, or
// it parsed no frame (edge-splice splices play traffic uncounted).
func (a Allocs) PerPacket() (float64, bool) {
	if a.Packets <= 0 {
		return 0, false
	}
	return a.Mallocs / a.Packets, true
}

// counters is one reading of the edge's counters.
type counters struct{ mallocs, packets float64 }

// window returns what happened between from and to, given a reading
// taken right after to: the allocations between to and after are one
// scrape's, and about that much of from's and to's scrapes fell inside the
// window, so it is taken out.
func window(from, to, after counters) Allocs {
	scrape := max(after.mallocs-to.mallocs, 0)
	return Allocs{
		Mallocs: max(to.mallocs-from.mallocs-scrape, 0),
		Packets: to.packets - from.packets,
		Scrape:  scrape,
	}
}

// closeWindow reads the counters once more right after the window's last
// reading and returns the window's allocations (see window).
func (e *Env) closeWindow(ctx context.Context, from, to counters) (Allocs, error) {
	if e.MetricsURL == "" {
		return Allocs{}, nil
	}
	after, err := e.edgeCounters(ctx)
	if err != nil {
		return Allocs{}, err
	}
	return window(from, to, after), nil
}

// edgeCounters reads the proxy's counters; a zero reading when the target
// has no metrics endpoint, so callers need not tell targets apart.
func (e *Env) edgeCounters(ctx context.Context) (counters, error) {
	if e.MetricsURL == "" {
		return counters{}, nil
	}
	return scrapeCounters(ctx, e.MetricsURL)
}

// allocWindow reads the proxy's counters at from and again at to and
// returns the difference: the caller's measurement window, without the
// logins before it.
func (e *Env) allocWindow(ctx context.Context, from, to time.Time) (Allocs, error) {
	if e.MetricsURL == "" {
		return Allocs{}, nil
	}
	if err := wait(ctx, time.Until(from)); err != nil {
		return Allocs{}, err
	}
	c0, err := e.edgeCounters(ctx)
	if err != nil {
		return Allocs{}, err
	}
	if err := wait(ctx, time.Until(to)); err != nil {
		return Allocs{}, err
	}
	c1, err := e.edgeCounters(ctx)
	if err != nil {
		return Allocs{}, err
	}
	return e.closeWindow(ctx, c0, c1)
}

// scrapeCounters fetches a Prometheus text page and reads the allocation
// and packet counters from it.
func scrapeCounters(ctx context.Context, url string) (counters, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return counters{}, fmt.Errorf("metrics request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return counters{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return counters{}, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	sums, err := sumMetrics(resp.Body, metricMallocs, metricPackets)
	if err != nil {
		return counters{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	return counters{mallocs: sums[metricMallocs], packets: sums[metricPackets]}, nil
}

// sumMetrics reads the Prometheus text exposition format from r and
// returns, for each of names, the sum of all its series (every label set).
// It understands just enough of the format for counters: comment lines
// start with '#', a sample is `name value` or `name{labels} value`,
// optionally followed by a timestamp. Lines of other metrics are skipped
// unparsed, so a form this parser does not know elsewhere on the page
// cannot break the reading. A name with no series is an error.
func sumMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	sums := make(map[string]float64, len(names))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxMetricsLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := splitName(line)
		if !slices.Contains(names, name) {
			continue
		}
		v, err := sampleValue(rest)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d (%s): %w", n, name, err)
		}
		sums[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	for _, name := range names {
		if _, ok := sums[name]; !ok {
			return nil, fmt.Errorf("%s: %w", name, ErrNoMetric)
		}
	}
	return sums, nil
}

// splitName cuts a sample line into the metric name and what follows it.
func splitName(line string) (name, rest string) {
	end := strings.IndexAny(line, "{ \t")
	if end < 0 {
		return line, ""
	}
	return line[:end], line[end:]
}

// sampleValue reads the value after a metric name: an optional label set,
// the value, an optional timestamp.
func sampleValue(rest string) (float64, error) {
	rest = strings.TrimLeft(rest, " \t")
	if strings.HasPrefix(rest, "{") {
		n, err := labelsLen(rest)
		if err != nil {
			return 0, err
		}
		rest = rest[n:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || len(fields) > 2 {
		return 0, fmt.Errorf("want a value and an optional timestamp after the labels, got %q", rest)
	}
	// ParseFloat takes every form the format writes: 42, 1.2345e+06,
	// +Inf, NaN.
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("value: %w", err)
	}
	return v, nil
}

// labelsLen returns the length of the label set that opens s, "{…}".
// Label values are quoted and may hold '}', ',', spaces and escaped
// quotes, so the closing brace is the first one outside quotes.
func labelsLen(s string) (int, error) {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++ // the escaped character cannot end the value
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated label set %q", s)
}

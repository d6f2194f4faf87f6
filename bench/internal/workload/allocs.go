package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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

// sumMetrics reads a Prometheus text page from r and returns, for each of
// names, the sum of all its series (every label set). The page is parsed
// with prometheus/common's expfmt, the format's own parser; a name with no
// series is an error.
func sumMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	// The zero TextParser has no name-validation scheme and panics; the
	// edge's names are all legacy-valid.
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	sums := make(map[string]float64, len(names))
	for _, name := range names {
		mf, ok := families[name]
		if !ok || len(mf.GetMetric()) == 0 {
			return nil, fmt.Errorf("%s: %w", name, ErrNoMetric)
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sums[name] += m.GetCounter().GetValue()
			case m.Untyped != nil:
				sums[name] += m.GetUntyped().GetValue()
			case m.Gauge != nil:
				sums[name] += m.GetGauge().GetValue()
			}
		}
	}
	return sums, nil
}

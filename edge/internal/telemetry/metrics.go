// Package telemetry holds the edge's metrics. Every instrument lives on a
// registry owned by one Metrics value (no package globals), so tests and
// several edges in one process never share counters. Labels are bounded
// enums only (direction, reason, result): never a player name, UUID or IP.
package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// Metrics is the edge's instrument set.
type Metrics struct {
	Registry *prometheus.Registry

	ActiveConnections prometheus.Gauge
	Connections       *prometheus.CounterVec // by intent: status, login, legacy_ping, unknown
	Rejected          *prometheus.CounterVec // by reason
	rejected          [reason.Count]prometheus.Counter
	AcceptErrors      prometheus.Counter
	BytesForwarded    [mcproto.NumDirections]prometheus.Counter
	PacketsProcessed  [mcproto.NumDirections]prometheus.Counter
	StatusCacheHits   prometheus.Counter
	StatusRequests    *prometheus.CounterVec // by result: cache, fetch, stale, fallback
	BackendDial       prometheus.Histogram
	BackendReachable  prometheus.Gauge
	SplicedConns      prometheus.Counter
	SplicedFrames     prometheus.Counter
	Ready             prometheus.Gauge
	// WorldRefused counts players the world replica refused for its
	// budget (they play on with the world-free checks); WorldMalformed
	// the backend connections closed for a malformed world packet.
	WorldRefused   prometheus.Counter
	WorldMalformed prometheus.Counter
	region         string
}

// New builds the instrument set on a fresh registry, with Go runtime and
// process collectors, for an edge in region.
func New(region, version string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	constLabels := prometheus.Labels{"region": region}

	m := &Metrics{Registry: reg, region: region}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_edge_info", Help: "Build and placement of this edge (always 1).",
		ConstLabels: prometheus.Labels{"region": region, "version": version},
	})
	info.Set(1)
	f(info)
	m.ActiveConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_edge_active_connections", Help: "Client connections currently open.", ConstLabels: constLabels})
	m.Connections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_connections_total", Help: "Client connections accepted, by handshake intent.", ConstLabels: constLabels},
		[]string{"intent"})
	m.Rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_connections_rejected_total", Help: "Connections refused or closed by the edge, by reason.", ConstLabels: constLabels},
		[]string{"reason"})
	m.AcceptErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_accept_errors_total", Help: "Errors from accept (e.g. out of file descriptors); the listener backs off and keeps serving.", ConstLabels: constLabels})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_bytes_forwarded_total", Help: "Bytes relayed, by direction.", ConstLabels: constLabels},
		[]string{"direction"})
	packets := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_packets_processed_total", Help: "Frames parsed and relayed, by direction (spliced traffic is not counted).", ConstLabels: constLabels},
		[]string{"direction"})
	for d := mcproto.Direction(0); d < mcproto.NumDirections; d++ {
		m.BytesForwarded[d] = bytes.WithLabelValues(d.String())
		m.PacketsProcessed[d] = packets.WithLabelValues(d.String())
	}
	m.StatusCacheHits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_status_cache_hits_total", Help: "Status pings answered from the cache without a backend fetch.", ConstLabels: constLabels})
	m.StatusRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rustguard_edge_status_requests_total", Help: "Status pings answered, by source: cache, fetch, stale (backend down, last answer), fallback (fallback MOTD).", ConstLabels: constLabels},
		[]string{"result"})
	m.BackendDial = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "rustguard_edge_backend_dial_seconds", Help: "Time to open a TCP connection to a backend.", ConstLabels: constLabels,
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}})
	m.BackendReachable = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_edge_backend_reachable", Help: "1 when the last health probe of the static backend succeeded (players' dials do not count).", ConstLabels: constLabels})
	m.SplicedConns = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_spliced_connections_total", Help: "Connections switched to the zero-copy path (nothing left to inspect, or end-to-end encrypted).", ConstLabels: constLabels})
	m.SplicedFrames = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_spliced_frames_total", Help: "Large backend frames whose body went socket to socket without entering user space (nothing reads their body; docs/PROTOCOL.md, \"Large frames\").", ConstLabels: constLabels})
	m.Ready = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rustguard_edge_ready", Help: "1 when /readyz answers 200.", ConstLabels: constLabels})

	m.WorldRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_world_refused_total", Help: "Players given no world replica because it was near its budget (world.budget_bytes); they are checked by the world-free bounds only.", ConstLabels: constLabels})
	m.WorldMalformed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rustguard_edge_world_malformed_total", Help: "Backend connections closed for a malformed world packet (chunk, block change, dimension, border).", ConstLabels: constLabels})

	for _, c := range []prometheus.Collector{m.ActiveConnections, m.Connections, m.Rejected, m.AcceptErrors, bytes, packets,
		m.StatusCacheHits, m.StatusRequests, m.BackendDial, m.BackendReachable, m.SplicedConns, m.SplicedFrames, m.Ready, m.WorldRefused, m.WorldMalformed} {
		f(c)
	}
	for _, r := range reason.All() {
		m.rejected[r] = m.Rejected.WithLabelValues(r.String())
	}
	for _, i := range []string{"status", "login", "transfer", "legacy_ping"} {
		m.Connections.WithLabelValues(i)
	}
	for _, r := range []string{"cache", "fetch", "stale", "fallback"} {
		m.StatusRequests.WithLabelValues(r)
	}
	return m
}

// WatchWorld exports the world replica's size, read at each scrape:
// stats returns the bytes it holds and its column count. Called once, by
// the edge that made the replica.
func (m *Metrics) WatchWorld(stats func() (bytes int64, columns int)) {
	constLabels := prometheus.Labels{"region": m.region}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rustguard_edge_world_bytes", Help: "Bytes the world replica holds (shared columns and player views), within world.budget_bytes.", ConstLabels: constLabels},
			func() float64 { b, _ := stats(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rustguard_edge_world_columns", Help: "Chunk columns the world replica holds (each shared by the players of its backend and world).", ConstLabels: constLabels},
			func() float64 { _, c := stats(); return float64(c) }))
}

// Reject counts a refusal.
func (m *Metrics) Reject(r reason.Reason) {
	if int(r) < len(m.rejected) && m.rejected[r] != nil {
		m.rejected[r].Inc()
	}
}

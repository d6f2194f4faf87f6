// Package admin serves the edge's operator endpoints: /metrics (Prometheus
// text), /healthz (the process is alive) and /readyz (the original design's
// HealthStatus, docs/DESIGN.md: whether this edge should receive players). It binds to
// loopback by default; these endpoints never face players.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health is the readiness report, the original design's HealthStatus, docs/DESIGN.md.
type Health struct {
	Listening       bool   `json:"listening"`
	Connections     int    `json:"connections"`
	ServerReachable bool   `json:"server_reachable"`
	Draining        bool   `json:"draining,omitempty"`
	Region          string `json:"region,omitempty"`
	// Dependencies says how each shared dependency is doing ("up",
	// "down: serving from the last ban list", "off"). A dependency outage
	// degrades the edge but does not make it unready: it keeps serving
	// from what it holds.
	Dependencies map[string]string `json:"dependencies,omitempty"`
	AttackMode   bool              `json:"attack_mode,omitempty"`
	// Config reports the fleet configuration the edge runs
	// (fleetconfig.Status): its version, a refused version and why, and
	// settings waiting for a restart. A refused version does not make the
	// edge unready: it serves on the last good one.
	Config any `json:"config,omitempty"`
}

// Ready is true when the edge should get new players.
func (h Health) Ready() bool { return h.Listening && h.ServerReachable && !h.Draining }

// Server is the admin HTTP server.
type Server struct {
	srv *http.Server
	mux *http.ServeMux
	ln  net.Listener
	log *slog.Logger
}

// New binds addr and prepares the handlers. health is called per request.
func New(addr string, reg *prometheus.Registry, health func() Health, ready prometheus.Gauge, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		h := health()
		w.Header().Set("Content-Type", "application/json")
		if h.Ready() {
			ready.Set(1)
		} else {
			ready.Set(0)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
	return &Server{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second},
		mux: mux,
		ln:  ln,
		log: log,
	}, nil
}

// Handle adds an operator endpoint (a debugging view of another part of
// the edge); call it before Serve.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve runs until Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin server: %w", err)
	}
	return nil
}

// Shutdown stops the server.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

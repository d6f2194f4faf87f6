// Package api serves rustguard-central's HTTP API: JSON under /v1, every
// endpoint behind the operator's bearer token (RUSTGUARD_ADMIN_TOKEN,
// compared in constant time), plus /metrics (token too) and the
// unauthenticated /healthz and /readyz that load balancers and Consul
// checks call; and the operator page under /ui/ (ui.go), HTML for a
// browser signed in with the same token (ui_auth.go). docs/CENTRAL.md
// lists every endpoint.
package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options are the API's dependencies. Each group of endpoints is served
// only when its dependency is set.
type Options struct {
	// Token is the bearer token every /v1 request and /metrics must carry.
	Token string
	// Ready reports whether central can do its job, with the state of each
	// dependency (redis, consul, forward) for /readyz.
	Ready func() (ok bool, deps map[string]string)
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	Log      *slog.Logger

	// Detections serves GET /v1/detections, /v1/detections/counts and
	// /v1/players/{name or uuid} (detections.go).
	Detections Detections
	// Attacks serves GET /v1/attacks (detections.go).
	Attacks Attacks
	// Bans serves /v1/bans: GET, POST and DELETE (bans.go).
	Bans Bans
	// Config serves /v1/config* (config.go); Fleet serves /v1/fleet
	// (fleet.go). configsvc.Service is both.
	Config ConfigStore
	Fleet  FleetSource
	// JaegerUIURL is the Jaeger web UI's base address the operator page
	// links traces to ("" shows trace ids without links; ui.go).
	JaegerUIURL string
}

// ErrNoToken: central refuses to serve its API without a token.
var ErrNoToken = errors.New("api: RUSTGUARD_ADMIN_TOKEN is required")

// New returns the API handler.
func New(o Options) (http.Handler, error) {
	if o.Token == "" {
		return nil, ErrNoToken
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, deps := true, map[string]string{}
		if o.Ready != nil {
			ok, deps = o.Ready()
		}
		code := http.StatusOK
		if !ok {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"ready": ok, "dependencies": deps})
	})
	v1 := http.NewServeMux()
	if o.Detections != nil {
		registerDetections(v1, o.Detections)
		registerTop(v1, o.Detections)
	}
	if o.Attacks != nil {
		registerAttacks(v1, o.Attacks)
	}
	if o.Bans != nil {
		registerBans(v1, o.Bans)
	}
	if o.Gatherer != nil {
		mux.Handle("GET /metrics", authorize(o.Token, promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})))
	}
	if o.Config != nil {
		registerConfig(v1, o.Config, o)
	}
	if o.Fleet != nil {
		registerFleet(v1, o.Fleet, o)
	}
	mux.Handle("/v1/", authorize(o.Token, v1))
	// The operator page signs browsers in with the same token (ui_auth.go).
	if err := registerUI(mux, o); err != nil {
		return nil, err
	}
	return mux, nil
}

// authorize lets a request through only with "Authorization: Bearer
// <token>". The comparison takes the same time whatever the guess.
func authorize(token string, next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rustguard-central"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxRequestBody caps every request body: the largest is a configuration
// document, which Consul caps at 512 KiB per value.
const maxRequestBody = 512 << 10

// readJSON decodes a request body of at most maxRequestBody bytes into v,
// refusing unknown fields.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// writeFieldError answers {"error": "<field>: <msg>", "field": field}: the
// request's field at fault and why.
func writeFieldError(w http.ResponseWriter, code int, field, msg string) {
	writeJSON(w, code, map[string]string{"error": field + ": " + msg, "field": field})
}

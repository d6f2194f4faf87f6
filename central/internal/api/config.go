package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/rustguard/rustguard/central/internal/configsvc"
	"github.com/rustguard/rustguard/shared/config"
)

// ConfigStore keeps the fleet configuration document (configsvc.Service).
type ConfigStore interface {
	Current(ctx context.Context) (config.FleetEnvelope, error)
	Put(ctx context.Context, basedOn uint64, doc []byte, by string) (config.FleetEnvelope, error)
	History(ctx context.Context, limit int) ([]config.FleetEnvelope, error)
	Rollback(ctx context.Context, to, basedOn uint64, by string) (config.FleetEnvelope, error)
}

const (
	// defaultHistoryLimit is how many versions GET /v1/config/history
	// returns without ?limit: enough to compare the recent edits, without
	// sending every document of the whole history (configsvc.HistoryKeep)
	// on each call.
	defaultHistoryLimit = 20
	// defaultAuthor is who an edit says made it when the request does not
	// say (one token serves every operator, so the API cannot tell).
	defaultAuthor = "api"
)

// configEdit is the body of PUT /v1/config and POST /v1/config/validate.
type configEdit struct {
	// Version is the version the edit is based on (PUT: required).
	Version *uint64         `json:"version"`
	Config  json.RawMessage `json:"config"`
	// UpdatedBy says who made the edit (kept in the history).
	UpdatedBy string `json:"updated_by"`
}

// rollbackRequest is the body of POST /v1/config/rollback.
type rollbackRequest struct {
	// Version is the version whose document becomes current again.
	Version uint64 `json:"version"`
	// BasedOn, when set, must be the current version (as for PUT).
	BasedOn   uint64 `json:"based_on"`
	UpdatedBy string `json:"updated_by"`
}

// configAPI serves /v1/config*.
type configAPI struct {
	store ConfigStore
	o     Options
}

func registerConfig(mux *http.ServeMux, store ConfigStore, o Options) {
	c := configAPI{store: store, o: o}
	mux.HandleFunc("GET /v1/config", c.get)
	mux.HandleFunc("PUT /v1/config", c.put)
	mux.HandleFunc("POST /v1/config/validate", c.validate)
	mux.HandleFunc("GET /v1/config/history", c.history)
	mux.HandleFunc("GET /v1/config/history/{version}", c.version)
	mux.HandleFunc("POST /v1/config/rollback", c.rollback)
}

func (c configAPI) get(w http.ResponseWriter, r *http.Request) {
	env, err := c.store.Current(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, env)
}

func (c configAPI) validate(w http.ResponseWriter, r *http.Request) {
	var req configEdit
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	v := configsvc.Validate(req.Config)
	if len(v.Problems) > 0 {
		writeInvalid(w, &configsvc.InvalidError{Problems: v.Problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": true, "restart_required": orEmpty(v.RestartRequired)})
}

func (c configAPI) put(w http.ResponseWriter, r *http.Request) {
	var req configEdit
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	if req.Version == nil {
		writeError(w, http.StatusBadRequest, `"version" is required: the version this edit is based on (GET /v1/config)`)
		return
	}
	env, err := c.store.Put(r.Context(), *req.Version, req.Config, author(req.UpdatedBy))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.written(w, env)
}

func (c configAPI) rollback(w http.ResponseWriter, r *http.Request) {
	var req rollbackRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	if req.Version == 0 {
		writeError(w, http.StatusBadRequest, `"version" is required: the version to roll back to (GET /v1/config/history)`)
		return
	}
	env, err := c.store.Rollback(r.Context(), req.Version, req.BasedOn, author(req.UpdatedBy))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.written(w, env)
}

// written answers a successful edit with the new version and what in it
// waits for the edges' restart.
func (c configAPI) written(w http.ResponseWriter, env config.FleetEnvelope) {
	var restart []string
	if f, err := config.ParseFleet(env.Config); err == nil {
		restart = f.RestartFields()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": env.Version, "updated_at": env.UpdatedAt, "rollback_of": env.RollbackOf,
		"restart_required": orEmpty(restart),
	})
}

func (c configAPI) history(w http.ResponseWriter, r *http.Request) {
	limit := defaultHistoryLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > configsvc.HistoryKeep {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(configsvc.HistoryKeep))
			return
		}
		limit = n
	}
	versions, err := c.store.History(r.Context(), limit)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if versions == nil {
		versions = []config.FleetEnvelope{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": versions})
}

func (c configAPI) version(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseUint(r.PathValue("version"), 10, 64)
	if err != nil || n == 0 {
		writeError(w, http.StatusBadRequest, "the version must be a positive number")
		return
	}
	// The history is at most configsvc.HistoryKeep entries: reading it
	// whole costs one request and spares the store another method.
	versions, err := c.store.History(r.Context(), configsvc.HistoryKeep)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for _, v := range versions {
		if v.Version == n {
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	writeError(w, http.StatusNotFound, "version "+strconv.FormatUint(n, 10)+": "+configsvc.ErrNoVersion.Error())
}

// fail maps a store error to its status: 409 for a stale edit, 422 for an
// invalid document, 404 for an unknown version, 503 when Consul does not
// answer.
func (c configAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var conflict *configsvc.ConflictError
	var invalid *configsvc.InvalidError
	switch {
	case errors.As(err, &conflict):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "current_version": conflict.Current})
	case errors.As(err, &invalid):
		writeInvalid(w, invalid)
	case errors.Is(err, configsvc.ErrNoVersion):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		c.o.Log.Warn("fleet configuration request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, err.Error())
	}
}

// writeInvalid answers 422 with every problem by field.
func writeInvalid(w http.ResponseWriter, e *configsvc.InvalidError) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"valid": false, "error": e.Error(), "problems": e.Problems})
}

func author(by string) string {
	if by == "" {
		return defaultAuthor
	}
	return by
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

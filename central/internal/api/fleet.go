package api

import (
	"context"
	"net/http"

	"github.com/rustguard/rustguard/central/internal/configsvc"
)

// FleetSource lists the edges and the configuration version each runs
// (configsvc.Service).
type FleetSource interface {
	Fleet(ctx context.Context) (configsvc.FleetView, error)
}

func registerFleet(mux *http.ServeMux, src FleetSource, o Options) {
	mux.HandleFunc("GET /v1/fleet", func(w http.ResponseWriter, r *http.Request) {
		view, err := src.Fleet(r.Context())
		if err != nil {
			o.Log.Warn("fleet view failed", "err", err)
			writeError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, view)
	})
}

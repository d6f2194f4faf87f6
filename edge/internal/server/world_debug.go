package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/rustguard/rustguard/edge/internal/world"
)

// worldDebug answers GET /debug/world on the admin listener: without
// parameters the replica's size; with backend (the address the edge
// dials), world (the world's name from 1.16, the dimension number before:
// docs/WORLD.md, "Data flow") and x, y, z, the block state the replica
// holds there, as every player of that world shares it. For operators
// checking what the edge believes, and for the end-to-end tests.
func worldDebug(st *world.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		q := r.URL.Query()
		if !q.Has("x") {
			s := st.Stats()
			_ = json.NewEncoder(w).Encode(map[string]int64{"bytes": s.Bytes, "budget": s.Budget, "columns": int64(s.Columns)})
			return
		}
		var pos [3]int32
		for i, k := range []string{"x", "y", "z"} {
			v, err := strconv.ParseInt(q.Get(k), 10, 32)
			if err != nil {
				http.Error(w, `{"error":"x, y and z must be integers"}`, http.StatusBadRequest)
				return
			}
			pos[i] = int32(v)
		}
		state, ok := st.Block(world.Dim{Backend: q.Get("backend"), Name: q.Get("world")}, pos[0], pos[1], pos[2])
		_ = json.NewEncoder(w).Encode(struct {
			Loaded bool   `json:"loaded"`
			State  uint16 `json:"state"`
		}{ok, state})
	})
}

package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rustguard/rustguard/shared/bans"
)

// Bans is the fleet's ban list (bans.Store): the one the edges enforce,
// so a ban written here kicks matching players fleet-wide within a second.
type Bans interface {
	Add(ctx context.Context, b bans.Ban) (bans.Ban, error)
	Remove(ctx context.Context, k bans.Kind, value string) (bool, error)
	List(ctx context.Context) ([]bans.Ban, error)
}

// apiBanSource is the source of bans written through the API.
const apiBanSource = "operator:api"

// BanRequest is the body of POST /v1/bans.
type BanRequest struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	// Duration is a Go duration ("10m", "12h"), a number of days ("7d"),
	// or empty (or "permanent") for a permanent ban.
	Duration string `json:"duration,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// BanView is a ban as the API shows it.
type BanView struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Value     string          `json:"value"`
	Reason    string          `json:"reason,omitempty"`
	Source    string          `json:"source,omitempty"`
	Created   time.Time       `json:"created"`
	Expires   *time.Time      `json:"expires,omitempty"`
	Permanent bool            `json:"permanent"`
	Evidence  []bans.Evidence `json:"evidence,omitempty"`
}

// ViewOf is b as the API shows it.
func ViewOf(b bans.Ban) BanView {
	v := BanView{ID: b.ID, Type: b.Kind.String(), Value: b.Value, Reason: b.Reason, Source: b.Source, Created: b.Created,
		Permanent: b.Permanent(), Evidence: b.Evidence}
	if !b.Permanent() {
		e := b.Expires
		v.Expires = &e
	}
	return v
}

func registerBans(mux *http.ServeMux, store Bans) {
	mux.HandleFunc("GET /v1/bans", func(w http.ResponseWriter, r *http.Request) {
		list, err := store.List(r.Context())
		if err != nil {
			unavailable(w, err)
			return
		}
		out := make([]BanView, len(list))
		for i, b := range list {
			out[i] = ViewOf(b)
		}
		writeJSON(w, http.StatusOK, map[string]any{"bans": out})
	})
	mux.HandleFunc("POST /v1/bans", func(w http.ResponseWriter, r *http.Request) {
		var req BanRequest
		if err := readJSON(w, r, &req); err != nil {
			writeError(w, http.StatusBadRequest, "body: "+jsonProblem(err))
			return
		}
		b, field, err := banOf(req, time.Now())
		if err != nil {
			writeFieldError(w, http.StatusBadRequest, field, err.Error())
			return
		}
		stored, err := store.Add(r.Context(), b)
		if errors.Is(err, bans.ErrInvalid) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err != nil {
			unavailable(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, ViewOf(stored))
	})
	remove := func(w http.ResponseWriter, r *http.Request, typ, value string) {
		k, err := bans.ParseKind(typ)
		if err != nil {
			writeFieldError(w, http.StatusBadRequest, "type", "must be name, uuid, ip or cidr")
			return
		}
		if _, _, err := bans.NormalizeSubject(k, value); err != nil {
			writeFieldError(w, http.StatusBadRequest, "value", strings.TrimPrefix(err.Error(), bans.ErrInvalid.Error()+": "))
			return
		}
		ok, err := store.Remove(r.Context(), k, value)
		if err != nil {
			unavailable(w, err)
			return
		}
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no ban on %s %s", k, value))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"removed": true, "type": k.String(), "value": value})
	}
	// DELETE /v1/bans/cidr/10.0.0.0/8: the value is the rest of the path,
	// so a CIDR's slash needs no escaping.
	mux.HandleFunc("DELETE /v1/bans/{type}/{value...}", func(w http.ResponseWriter, r *http.Request) {
		remove(w, r, r.PathValue("type"), r.PathValue("value"))
	})
	mux.HandleFunc("DELETE /v1/bans", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		remove(w, r, q.Get("type"), q.Get("value"))
	})
}

// banOf validates a ban request and returns the ban, or the field at
// fault and why.
func banOf(req BanRequest, now time.Time) (bans.Ban, string, error) {
	k, err := bans.ParseKind(strings.TrimSpace(req.Type))
	if err != nil {
		return bans.Ban{}, "type", errors.New("must be name, uuid, ip or cidr")
	}
	if _, _, err := bans.NormalizeSubject(k, req.Value); err != nil {
		return bans.Ban{}, "value", errors.New(strings.TrimPrefix(err.Error(), bans.ErrInvalid.Error()+": "))
	}
	b := bans.Ban{Kind: k, Value: req.Value, Reason: req.Reason, Source: apiBanSource, Created: now}
	d, err := bans.ParseDuration(req.Duration)
	if err != nil {
		return bans.Ban{}, "duration", err
	}
	if d != bans.Forever {
		b.Expires = now.Add(d)
	}
	if len(req.Reason) > bans.MaxReasonLen || !utf8.ValidString(req.Reason) {
		return bans.Ban{}, "reason", fmt.Errorf("must be valid UTF-8 of at most %d bytes (players see it)", bans.MaxReasonLen)
	}
	return b, "", nil
}

// jsonProblem says what is wrong with a request body without echoing it.
func jsonProblem(err error) string {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return fmt.Sprintf("over %d bytes", maxRequestBody)
	case errors.Is(err, io.EOF):
		return "empty; want a JSON object"
	}
	return err.Error()
}

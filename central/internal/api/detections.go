package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/correlate"
	"github.com/rustguard/rustguard/shared/detection"
)

// Detections answers the detection queries (the aggregate in Redis).
type Detections interface {
	Detections(ctx context.Context, q aggregate.Query) (aggregate.Page, error)
	Player(ctx context.Context, who string, since time.Time, limit int) (aggregate.History, error)
	Counts(ctx context.Context, q aggregate.CountQuery) ([]aggregate.Count, error)
}

// Attacks answers GET /v1/attacks (the correlator).
type Attacks interface {
	Attacks(ctx context.Context, limit int) (correlate.Attacks, error)
}

// Query parameter bounds.
const (
	defaultLimit = 100
	// maxPlayerParam caps a player name or UUID in a query: names are 16
	// characters, a UUID 36; edges cut longer claims to 256 bytes.
	maxPlayerParam = 256
	// maxRegionParam matches the edges' region names.
	maxRegionParam = 64
	// maxCheckParam: check keys are short dotted words.
	maxCheckParam = 128
	// defaultCountsSpan is how far back counts go without since.
	defaultCountsSpan = time.Hour
)

func registerDetections(mux *http.ServeMux, d Detections) {
	mux.HandleFunc("GET /v1/detections", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var p params
		query := aggregate.Query{
			Region: p.region(q, "region"), Check: p.check(q, "check"), Player: p.player(q, "player"),
			Since: p.time(q, "since"), Until: p.time(q, "until"), Limit: p.limit(q, aggregate.MaxLimit), Before: q.Get("before"),
		}
		if p.ok() && !query.Since.IsZero() && !query.Until.IsZero() && query.Until.Before(query.Since) {
			p.fail("until", "must not be before since")
		}
		if !p.ok() {
			p.write(w)
			return
		}
		page, err := d.Detections(r.Context(), query)
		if errors.Is(err, aggregate.ErrBadQuery) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err != nil {
			unavailable(w, err)
			return
		}
		if page.Detections == nil {
			page.Detections = []aggregate.Stored{}
		}
		writeJSON(w, http.StatusOK, page)
	})
	mux.HandleFunc("GET /v1/detections/counts", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var p params
		cq := aggregate.CountQuery{Bucket: q.Get("bucket"), Region: p.region(q, "region"), Check: p.check(q, "check"),
			Since: p.time(q, "since"), Until: p.time(q, "until")}
		switch cq.Bucket {
		case "":
			cq.Bucket = aggregate.BucketMinute
		case aggregate.BucketMinute, aggregate.BucketHour:
		default:
			p.fail("bucket", "must be minute or hour")
		}
		if cq.Until.IsZero() {
			cq.Until = time.Now()
		}
		if cq.Since.IsZero() {
			cq.Since = cq.Until.Add(-defaultCountsSpan)
		}
		if !p.ok() {
			p.write(w)
			return
		}
		counts, err := d.Counts(r.Context(), cq)
		if errors.Is(err, aggregate.ErrBadQuery) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err != nil {
			unavailable(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"bucket": cq.Bucket, "since": cq.Since.UTC(), "until": cq.Until.UTC(), "counts": counts})
	})
	mux.HandleFunc("GET /v1/players/{who}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var p params
		who := r.PathValue("who")
		if !validPlayer(who) {
			p.fail("player", fmt.Sprintf("must be a name or UUID of 1 to %d printable characters", maxPlayerParam))
		}
		since, limit := p.time(q, "since"), p.limit(q, aggregate.MaxLimit)
		if !p.ok() {
			p.write(w)
			return
		}
		h, err := d.Player(r.Context(), who, since, limit)
		if err != nil {
			unavailable(w, err)
			return
		}
		writeJSON(w, http.StatusOK, h)
	})
}

func registerAttacks(mux *http.ServeMux, a Attacks) {
	mux.HandleFunc("GET /v1/attacks", func(w http.ResponseWriter, r *http.Request) {
		var p params
		limit := p.limit(r.URL.Query(), correlate.MaxWaves)
		if !p.ok() {
			p.write(w)
			return
		}
		att, err := a.Attacks(r.Context(), limit)
		if err != nil {
			unavailable(w, err)
			return
		}
		writeJSON(w, http.StatusOK, att)
	})
}

// unavailable answers a failure of Redis: the client may retry.
func unavailable(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "storage unavailable: "+err.Error())
}

// params parses query parameters and keeps the first problem, naming the
// parameter.
type params struct {
	field, reason string
}

func (p *params) ok() bool { return p.field == "" }

func (p *params) fail(field, reason string) {
	if p.field == "" {
		p.field, p.reason = field, reason
	}
}

func (p *params) write(w http.ResponseWriter) {
	writeFieldError(w, http.StatusBadRequest, p.field, p.reason)
}

// time reads an RFC 3339 time, or a duration meaning that long ago
// ("15m", "2h", "7d" is not a Go duration: use "168h").
func (p *params) time(q url.Values, name string) time.Time {
	v := q.Get(name)
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return time.Now().Add(-d)
	}
	p.fail(name, "must be an RFC 3339 time (2026-12-07T10:00:00Z) or a positive duration ago (15m, 2h)")
	return time.Time{}
}

func (p *params) limit(q url.Values, max int) int {
	v := q.Get("limit")
	if v == "" {
		return min(defaultLimit, max)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		p.fail("limit", fmt.Sprintf("must be a number from 1 to %d", max))
		return 0
	}
	return n
}

func (p *params) region(q url.Values, name string) string {
	v := q.Get(name)
	if v == "" {
		return v
	}
	ok := len(v) <= maxRegionParam
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		p.fail(name, fmt.Sprintf("must be 1 to %d letters, digits, '-', '_' or '.'", maxRegionParam))
	}
	return v
}

func (p *params) check(q url.Values, name string) string {
	v := q.Get(name)
	if v != "" && (len(v) > maxCheckParam || !detection.ValidKey(v)) {
		p.fail(name, "must be a check key such as combat.reach")
	}
	return v
}

func (p *params) player(q url.Values, name string) string {
	v := q.Get(name)
	if v != "" && !validPlayer(v) {
		p.fail(name, fmt.Sprintf("must be a name or UUID of 1 to %d printable characters", maxPlayerParam))
	}
	return v
}

// validPlayer accepts what a player name or UUID can be: printable UTF-8
// without spaces.
func validPlayer(v string) bool {
	if v == "" || len(v) > maxPlayerParam || !utf8.ValidString(v) {
		return false
	}
	return !strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) })
}

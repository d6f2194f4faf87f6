package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rustguard/rustguard/central/internal/aggregate"
)

// GET /v1/players (no name): the players flagged in a recent window,
// those seen in the most regions first. Metric labels never carry a
// player, so this is where a dashboard's "top players flagged across
// regions" comes from (deploy/grafana/dashboards, through a JSON data
// source), and the operator page's list of the same.

const (
	// defaultTopWindow is how far back the ranking looks without ?since.
	defaultTopWindow = time.Hour
	// defaultTopLimit and maxTopLimit bound how many players one answer
	// lists: a dashboard table or a page section, not an export.
	defaultTopLimit = 20
	maxTopLimit     = 100
	// topScanMax caps the detections one ranking reads (ten pages of the
	// log): a busy hour of a large fleet has more, and the answer then
	// says it is partial rather than taking seconds of Redis time on
	// every dashboard refresh.
	topScanMax = 10 * aggregate.MaxLimit
	// maxTopListed caps the names, regions and checks listed per player:
	// an unauthenticated name can be claimed from anywhere.
	maxTopListed = 16
)

// TopPlayer is one player flagged in the window.
type TopPlayer struct {
	// Player is what /v1/players/{who} takes for this player's timeline:
	// the UUID when every detection was of an authenticated login,
	// otherwise the lower-cased name. An unauthenticated name is a claim:
	// Prefixes shows where the claims came from.
	Player        string    `json:"player"`
	Authenticated bool      `json:"authenticated"`
	Names         []string  `json:"names"`
	Regions       []string  `json:"regions"`
	Checks        []string  `json:"checks"`
	Prefixes      []string  `json:"prefixes,omitempty"`
	Detections    int       `json:"detections"`
	Last          time.Time `json:"last"`
	// RegionCount is len(Regions): a number a dashboard can sort on.
	RegionCount int `json:"region_count"`
}

// TopPlayers is the ranking.
type TopPlayers struct {
	Since time.Time `json:"since"`
	// Scanned is how many detections were read; Partial is set when the
	// scan stopped at its cap before the start of the window.
	Scanned int         `json:"scanned"`
	Partial bool        `json:"partial"`
	Players []TopPlayer `json:"players"`
}

func registerTop(mux *http.ServeMux, d Detections) {
	mux.HandleFunc("GET /v1/players", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var p params
		since := p.time(q, "since")
		limit := defaultTopLimit
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxTopLimit {
				p.fail("limit", fmt.Sprintf("must be a number from 1 to %d", maxTopLimit))
			}
			limit = n
		}
		if !p.ok() {
			p.write(w)
			return
		}
		if since.IsZero() {
			since = time.Now().Add(-defaultTopWindow)
		}
		top, err := topPlayers(r.Context(), d, since, limit)
		if errors.Is(err, aggregate.ErrBadQuery) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err != nil {
			unavailable(w, err)
			return
		}
		writeJSON(w, http.StatusOK, top)
	})
}

// topPlayers reads the detection log back to since (at most topScanMax
// entries) and ranks the players in it: most regions first, then most
// detections, then the most recent.
func topPlayers(ctx context.Context, d Detections, since time.Time, limit int) (TopPlayers, error) {
	type acc struct {
		TopPlayer
		names, regions, checks, prefixes set
		unauth                           bool
	}
	out := TopPlayers{Since: since.UTC(), Players: []TopPlayer{}}
	byKey := map[string]*acc{}
	q := aggregate.Query{Since: since, Limit: aggregate.MaxLimit}
	for out.Scanned < topScanMax {
		page, err := d.Detections(ctx, q)
		if err != nil {
			return TopPlayers{}, err
		}
		for _, s := range page.Detections {
			out.Scanned++
			name := strings.ToLower(s.Player)
			key := name
			if s.Authenticated && s.UUID != "" {
				key = s.UUID
			}
			if key == "" {
				continue
			}
			a := byKey[key]
			if a == nil {
				a = &acc{}
				a.Player = key
				byKey[key] = a
			}
			a.Detections++
			a.unauth = a.unauth || !s.Authenticated
			a.names.add(s.Player)
			a.regions.add(s.Region)
			a.checks.add(s.Check)
			if !s.Authenticated {
				if e := aggregate.EntryOf(s.Detection); e.Prefix != "" {
					a.prefixes.add(e.Prefix)
				}
			}
			if s.Time.After(a.Last) {
				a.Last = s.Time.UTC()
			}
		}
		if page.Next == "" {
			break
		}
		q.Before = page.Next
	}
	out.Partial = out.Scanned >= topScanMax
	for _, a := range byKey {
		p := a.TopPlayer
		p.Authenticated = !a.unauth
		p.Names, p.Regions, p.Checks, p.Prefixes = a.names.sorted(), a.regions.sorted(), a.checks.sorted(), a.prefixes.sorted()
		p.RegionCount = len(a.regions)
		out.Players = append(out.Players, p)
	}
	slices.SortFunc(out.Players, func(a, b TopPlayer) int {
		if a.RegionCount != b.RegionCount {
			return b.RegionCount - a.RegionCount
		}
		if a.Detections != b.Detections {
			return b.Detections - a.Detections
		}
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return strings.Compare(a.Player, b.Player)
	})
	if len(out.Players) > limit {
		out.Players = out.Players[:limit]
	}
	return out, nil
}

// set is a small set of strings listed in order, capped at maxTopListed.
type set map[string]struct{}

func (s *set) add(v string) {
	if v == "" {
		return
	}
	if *s == nil {
		*s = set{}
	}
	if len(*s) < maxTopListed {
		(*s)[v] = struct{}{}
	}
}

func (s set) sorted() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

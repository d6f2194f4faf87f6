package api

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/configsvc"
	"github.com/rustguard/rustguard/central/internal/correlate"
)

// The operator page: plain server-rendered HTML under /ui/ (html/template
// escapes everything a player chose, such as a name), no scripts, one
// style sheet. What it shows comes from the same sources as the JSON API:
// the fleet from the configuration service (Consul), detections and
// player histories from the aggregate, attack mode from the correlator.
// Each section says so when its source is missing or failing instead of
// failing the page. Sign-in: ui_auth.go.

//go:embed ui
var uiFiles embed.FS

const (
	// uiRefreshSeconds is how often the overview reloads itself: live
	// enough to watch a wave, rare enough to cost Redis nothing.
	uiRefreshSeconds = 15
	// uiDetections is how many of the newest detections the overview
	// lists.
	uiDetections = 50
	// uiWindow is the overview's window for counts and the ranking (the
	// page says "the last hour").
	uiWindow = time.Hour
	// uiTopPlayers is how many players the overview ranks.
	uiTopPlayers = 15
	// uiWaves is how many attack waves the overview lists.
	uiWaves = 5
	// uiTimeline is how many entries a player's timeline shows (the most
	// a history holds is 500).
	uiTimeline = 200
	// uiSourceTimeout bounds each source of a page, so one slow
	// dependency cannot hold the page.
	uiSourceTimeout = 3 * time.Second
)

// contentSecurityPolicy: the page loads nothing but its own style sheet,
// runs no script, posts forms only to itself and is never framed.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// traceIDPattern is an OTLP trace id as the aggregate stores it.
var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

type ui struct {
	o     Options
	auth  uiAuth
	pages *template.Template
	css   []byte
}

func registerUI(mux *http.ServeMux, o Options) error {
	u := &ui{o: o, auth: newUIAuth(o.Token, nil)}
	funcs := template.FuncMap{
		"traceURL": u.traceURL,
		"player":   func(who string) string { return "/ui/players/" + url.PathEscape(who) },
		"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"health":   healthClass,
		"join":     strings.Join,
		"short":    func(id string) string { return id[:min(len(id), 8)] },
	}
	var err error
	if u.pages, err = template.New("").Funcs(funcs).ParseFS(uiFiles, "ui/*.html"); err != nil {
		return fmt.Errorf("operator page templates: %w", err)
	}
	if u.css, err = uiFiles.ReadFile("ui/style.css"); err != nil {
		return err
	}
	mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusSeeOther))
	mux.HandleFunc("GET /ui/static/style.css", u.style)
	mux.HandleFunc("GET /ui/login", u.loginForm)
	mux.HandleFunc("POST /ui/login", u.login)
	mux.HandleFunc("POST /ui/logout", u.logout)
	mux.Handle("GET /ui/{$}", u.signedIn(u.overview))
	mux.Handle("GET /ui/players", u.signedIn(u.findPlayer))
	mux.Handle("GET /ui/players/{who}", u.signedIn(u.player))
	return nil
}

// headers every /ui answer carries.
func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with the page's own form posts, which sameOrigin
	// must refuse. Links to other sites (Jaeger) carry no referrer.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// signedIn sends a browser without a session to the login form.
func (u *ui) signedIn(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		if !u.auth.authenticated(r) {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		next(w, r)
	})
}

func (u *ui) style(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(u.css)
}

// render executes a page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (u *ui) render(w http.ResponseWriter, code int, name string, data any) {
	var b bytes.Buffer
	if err := u.pages.ExecuteTemplate(&b, name, data); err != nil {
		u.o.Log.Error("operator page failed to render", "page", name, "err", err)
		http.Error(w, "page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

type loginPage struct {
	Title, Error string
}

func (u *ui) loginForm(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	if u.auth.authenticated(r) {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	u.render(w, http.StatusOK, "login.html", loginPage{Title: "Sign in"})
}

func (u *ui) login(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		u.render(w, http.StatusBadRequest, "login.html", loginPage{Title: "Sign in", Error: "The form could not be read."})
		return
	}
	if !u.auth.tokenOK(r.PostForm.Get("token")) {
		// Anyone can post the form: debug, so guessing cannot flood the
		// log (the token is too long to guess; see config.MinTokenLen).
		u.o.Log.Debug("operator page: sign-in with a wrong token", "remote", r.RemoteAddr)
		u.render(w, http.StatusUnauthorized, "login.html", loginPage{Title: "Sign in", Error: "Wrong token."})
		return
	}
	u.auth.setSession(w, r)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (u *ui) logout(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	session, ok := u.auth.session(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if !ok || !sameOrigin(r) || r.ParseForm() != nil ||
		!macEqual(r.PostForm.Get(csrfField), u.auth.csrf(session)) {
		http.Error(w, "cross-site or expired request refused", http.StatusForbidden)
		return
	}
	clearSession(w, r)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// frame is what every signed-in page has: the title, the anti-forgery
// token of its logout form, and when it was made.
type frame struct {
	Title   string
	CSRF    string
	Now     time.Time
	Refresh int
}

func (u *ui) frame(r *http.Request, title string) frame {
	f := frame{Title: title, Now: time.Now().UTC()}
	if s, ok := u.auth.session(r); ok {
		f.CSRF = u.auth.csrf(s)
	}
	return f
}

// section is one part of a page with the error that kept it empty.
type section[T any] struct {
	Data T
	// Off says the source is not configured; Err that it failed.
	Off, Err string
}

// regionView is the fleet's edges of one region.
type regionView struct {
	Region         string
	Edges          []configsvc.Edge
	Passing        int
	ConfigVersions []uint64
}

type fleetView struct {
	Version   uint64
	Converged bool
	Regions   []regionView
	Problems  []string
}

type countRow struct {
	Region, Check string
	Count         int64
}

type overviewPage struct {
	frame
	Fleet      section[fleetView]
	Attacks    section[correlate.Attacks]
	Counts     section[[]countRow]
	Top        section[TopPlayers]
	Detections section[[]aggregate.Stored]
}

func (u *ui) overview(w http.ResponseWriter, r *http.Request) {
	p := overviewPage{frame: u.frame(r, "Fleet")}
	p.Refresh = uiRefreshSeconds
	now := time.Now()
	ctx := r.Context()

	if u.o.Fleet == nil {
		p.Fleet.Off = "No Consul (CONSUL_HTTP_ADDR): central does not see the fleet's edges."
	} else if v, err := withTimeout(ctx, u.o.Fleet.Fleet); err != nil {
		p.Fleet.Err = err.Error()
	} else {
		p.Fleet.Data = byRegion(v)
	}

	if u.o.Attacks == nil {
		p.Attacks.Off = "No correlator."
	} else if a, err := withTimeout(ctx, func(ctx context.Context) (correlate.Attacks, error) { return u.o.Attacks.Attacks(ctx, uiWaves) }); err != nil {
		p.Attacks.Err = err.Error()
	} else {
		p.Attacks.Data = a
	}

	if u.o.Detections == nil {
		p.Counts.Off, p.Top.Off, p.Detections.Off = "No aggregate.", "No aggregate.", "No aggregate."
	} else {
		counts, err := withTimeout(ctx, func(ctx context.Context) ([]aggregate.Count, error) {
			return u.o.Detections.Counts(ctx, aggregate.CountQuery{Bucket: aggregate.BucketMinute, Since: now.Add(-uiWindow), Until: now})
		})
		if err != nil {
			p.Counts.Err = err.Error()
		} else {
			p.Counts.Data = sumCounts(counts)
		}
		top, err := withTimeout(ctx, func(ctx context.Context) (TopPlayers, error) {
			return topPlayers(ctx, u.o.Detections, now.Add(-uiWindow), uiTopPlayers)
		})
		if err != nil {
			p.Top.Err = err.Error()
		} else {
			p.Top.Data = top
		}
		page, err := withTimeout(ctx, func(ctx context.Context) (aggregate.Page, error) {
			return u.o.Detections.Detections(ctx, aggregate.Query{Limit: uiDetections})
		})
		if err != nil {
			p.Detections.Err = err.Error()
		} else {
			p.Detections.Data = page.Detections
		}
	}
	u.render(w, http.StatusOK, "overview.html", p)
}

// findPlayer answers the search form: /ui/players?who=NAME.
func (u *ui) findPlayer(w http.ResponseWriter, r *http.Request) {
	who := strings.TrimSpace(r.URL.Query().Get("who"))
	if !validPlayer(who) {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/ui/players/"+url.PathEscape(who), http.StatusSeeOther)
}

// timelineRow is one detection of a player's timeline, placed in its
// region's column.
type timelineRow struct {
	aggregate.Entry
	Column int
}

type playerPage struct {
	frame
	Who      string
	History  section[aggregate.History]
	Regions  []string
	Timeline []timelineRow
}

func (u *ui) player(w http.ResponseWriter, r *http.Request) {
	who := r.PathValue("who")
	p := playerPage{frame: u.frame(r, "Player "+who), Who: who}
	code := http.StatusOK
	switch {
	case !validPlayer(who):
		p.History.Err = fmt.Sprintf("%q is not a player name or UUID.", who)
		code = http.StatusBadRequest
	case u.o.Detections == nil:
		p.History.Off = "No aggregate."
	default:
		h, err := withTimeout(r.Context(), func(ctx context.Context) (aggregate.History, error) {
			return u.o.Detections.Player(ctx, who, time.Time{}, uiTimeline)
		})
		if err != nil {
			p.History.Err = err.Error()
			break
		}
		p.History.Data = h
		p.Regions = slices.Clone(h.Regions)
		slices.Sort(p.Regions)
		for _, e := range h.Entries {
			p.Timeline = append(p.Timeline, timelineRow{Entry: e, Column: slices.Index(p.Regions, e.Region)})
		}
	}
	u.render(w, code, "player.html", p)
}

// traceURL links a trace id to the Jaeger UI ("" without a UI address or
// for anything that is not a trace id).
func (u *ui) traceURL(traceID string) string {
	if u.o.JaegerUIURL == "" || !traceIDPattern.MatchString(traceID) {
		return ""
	}
	return strings.TrimSuffix(u.o.JaegerUIURL, "/") + "/trace/" + traceID
}

// healthClass maps Consul's health words to the page's styles.
func healthClass(h string) string {
	switch h {
	case "passing", "warning", "critical", "maintenance":
		return "health-" + h
	}
	return "health-unknown"
}

func withTimeout[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, uiSourceTimeout)
	defer cancel()
	return f(ctx)
}

// byRegion groups the fleet view by region, regions and edges in name
// order.
func byRegion(v configsvc.FleetView) fleetView {
	out := fleetView{Version: v.Version, Converged: v.Converged}
	idx := map[string]int{}
	for _, e := range v.Edges {
		i, ok := idx[e.Region]
		if !ok {
			i = len(out.Regions)
			idx[e.Region] = i
			out.Regions = append(out.Regions, regionView{Region: e.Region})
		}
		rv := &out.Regions[i]
		rv.Edges = append(rv.Edges, e)
		if e.Health == "passing" {
			rv.Passing++
		}
		if !slices.Contains(rv.ConfigVersions, e.ConfigVersion) {
			rv.ConfigVersions = append(rv.ConfigVersions, e.ConfigVersion)
		}
	}
	slices.SortFunc(out.Regions, func(a, b regionView) int { return strings.Compare(a.Region, b.Region) })
	for i := range out.Regions {
		slices.SortFunc(out.Regions[i].Edges, func(a, b configsvc.Edge) int { return strings.Compare(a.ID, b.ID) })
		slices.Sort(out.Regions[i].ConfigVersions)
	}
	for _, dc := range v.Datacenters {
		if dc.Error != "" {
			out.Problems = append(out.Problems, dc.Name+": "+dc.Error)
		}
	}
	return out
}

// sumCounts adds the minute buckets up per region and check, the largest
// first.
func sumCounts(counts []aggregate.Count) []countRow {
	sum := map[[2]string]int64{}
	for _, c := range counts {
		sum[[2]string{c.Region, c.Check}] += c.Count
	}
	out := make([]countRow, 0, len(sum))
	for k, n := range sum {
		out = append(out, countRow{Region: k[0], Check: k[1], Count: n})
	}
	slices.SortFunc(out, func(a, b countRow) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Region+"|"+a.Check, b.Region+"|"+b.Check)
	})
	return out
}

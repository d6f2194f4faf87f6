package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/test/e2e/fleet"
)

// TestCentralAcrossRegions is issue 8's end-to-end test: two edges in two
// regions (eu, us) exporting to rustguard-central over OTLP, a second
// central replica on the same Redis, Jaeger, Consul, Redis, flying-squid,
// and real mineflayer players. One fleet serves every assertion:
//
//  1. Requests without the admin token, or with a wrong one, get 401.
//  2. A player caught cheating in eu and again in us (two checks that drop)
//     appears in /v1/players with both regions, the correlation policy bans
//     them fleet-wide (by address: the name is only a claim), and both edges
//     refuse that address. Their traces are found through Jaeger's query
//     API, by id and by service and region.
//  3. Central (the replica the edges export to) is stopped for 30 s. Meanwhile
//     the edges keep serving players (a bot logs in through each), a cheat
//     in us queues its detection span, and, through the other replica, a
//     fleet configuration change reaches both edges and takes effect on a
//     connected player's next packets without disconnecting them; an
//     invalid document is refused with the field and the reason; a stale
//     version gets 409. When central returns, the queued spans arrive.
//  4. The two replicas give the same answers.
//
// It logs the detection-to-API and detection-to-Jaeger times it sees.
func TestCentralAcrossRegions(t *testing.T) {
	const (
		cheater     = "Cheater"
		cheaterAddr = "127.0.0.2" // central bans it; the other players use 127.0.0.1
		outager     = "Outage"
		outagerAddr = "127.0.0.3"
		steady      = "Steady"
		version     = "1.21.4"
		// outage is how long central stays down: the 30 s.
		outage = 30 * time.Second
	)
	// cheats in eu and us: two distinct checks whose default action drops,
	// in two regions: what the default correlation policy bans for.
	cheats := map[string]string{"eu": "chat.lookup_string", "us": "chat.invalid"}

	testStart := time.Now()
	backend := newEventLog()
	o := suite.fleetOptions(t)
	o.Regions = []fleet.Region{{Name: "eu"}, {Name: "us"}}
	o.Centrals = 2
	o.MCVersion = version
	o.BackendLine = backend.add
	// Attack mode stays off: a test's burst of logins must not send the
	// players to verification.
	o.EdgeEnv = []string{"RUSTGUARD_ATTACK_MODE=off"}
	f := startFleet(t, o)
	eu, us := f.Edges[0], f.Edges[1]
	edges := map[string]*fleet.Edge{"eu": eu, "us": us}
	api1, api2 := f.API(0), f.API(1)

	t.Run("401 without the token or with a wrong one", func(t *testing.T) {
		checkUnauthorized(t, f)
	})

	// Detection to API and to Jaeger, as this test sees them: watch polls
	// central and Jaeger from before the cheats start.
	watch := newDetectionWatch(api1, f.Jaeger.QueryURL, cheater)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() { watch.run(watchCtx); close(watchDone) }()
	t.Cleanup(func() { stopWatch(); <-watchDone })

	t.Run("a cheater in two regions is one player, banned fleet-wide", func(t *testing.T) {
		var wg sync.WaitGroup
		for region, check := range cheats {
			wg.Go(func() {
				var res cheatResult
				run, err := suite.runJSON(cheatScriptTimeout, &res, "cheat.js", "--host", "127.0.0.1", "--port", port(edges[region].Addr),
					"--version", version, "--username", cheater, "--cheat", check, "--expect", "drop", "--local-address", cheaterAddr,
					"--timeout-ms", ms(cheatScriptTimeout))
				if err != nil || res.Event != "result" {
					t.Errorf("cheat %s in %s: %v: %s\n%s", check, region, err, run.last, run.stderr)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}

		var p playerView
		eventually(t, 10*time.Second, "the cheater's detections of both regions in /v1/players", func() (bool, string) {
			p = playerView{}
			getJSON(t, api1, "/v1/players/"+cheater, &p)
			return slices.Equal(p.Regions, []string{"eu", "us"}), fmt.Sprintf("regions %v checks %v", p.Regions, p.Checks)
		})
		for region, check := range cheats {
			found := false
			for _, e := range p.Entries {
				if e.Region == region && e.Check == check && e.Action == "drop" && e.TraceID != "" && e.Edge == edges[region].Instance {
					found = true
				}
			}
			if !found {
				t.Errorf("/v1/players/%s has no %s drop from %s with a trace id: %+v", cheater, check, region, p.Entries)
			}
		}

		// The verdict: a correlation ban with the evidence of both
		// regions, on the address (an offline name is a claim).
		var ban banView
		eventually(t, 10*time.Second, "the correlation ban in /v1/bans", func() (bool, string) {
			var list struct {
				Bans []banView `json:"bans"`
			}
			getJSON(t, api1, "/v1/bans", &list)
			for _, b := range list.Bans {
				if b.Source == "central:correlation" {
					ban = b
					return true, ""
				}
			}
			return false, fmt.Sprintf("%+v", list.Bans)
		})
		if ban.Type != "ip" || ban.Value != cheaterAddr {
			t.Errorf("correlation ban = %s %s, want ip %s (an unauthenticated identity is banned by address)", ban.Type, ban.Value, cheaterAddr)
		}
		evidence := map[string]string{}
		for _, ev := range ban.Evidence {
			evidence[ev.Region] = ev.Check
		}
		for region, check := range cheats {
			if evidence[region] != check {
				t.Errorf("ban evidence %+v: want %s from %s", ban.Evidence, check, region)
			}
		}
		// Fleet-wide: both edges now close that address at accept, and
		// only that one.
		for _, e := range []*fleet.Edge{eu, us} {
			eventually(t, 5*time.Second, "edge "+e.Region+" refusing "+cheaterAddr, func() (bool, string) {
				banned, err := bannedAtAccept(e.Addr, cheaterAddr)
				return banned, fmt.Sprint(err)
			})
			if banned, err := bannedAtAccept(e.Addr, "127.0.0.4"); banned || err != nil {
				t.Errorf("edge %s closes 127.0.0.4 too (%v): the ban is not by address", e.Region, err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	cheaterTraces := watch.traces() // region → trace id, from the API

	// Central down: everything from here to its return overlaps the 30 s.
	down := time.Now()
	f.Centrals[0].Stop()
	t.Logf("central-1 stopped; the edges export to it, central-2 serves the API")
	var wg sync.WaitGroup

	wg.Go(func() {
		t.Run("while central is down, the edges serve players", func(t *testing.T) {
			var bots sync.WaitGroup
			for _, e := range []*fleet.Edge{eu, us} {
				bots.Go(func() {
					var res botResult
					run, err := suite.runJSON(botTimeout, &res, "bot.js", "--host", "127.0.0.1", "--port", port(e.Addr),
						"--version", version, "--username", "bot_"+e.Region, "--timeout-ms", ms(botTimeout))
					if err != nil || res.Event != "result" || !res.Spawned || !res.Echo {
						t.Errorf("bot through %s while central is down: %v: %s\n%s", e.Region, err, run.last, run.stderr)
					}
				})
			}
			bots.Wait()
			// A cheat in us: its detection span waits in the edge's queue.
			var res cheatResult
			run, err := suite.runJSON(cheatScriptTimeout, &res, "cheat.js", "--host", "127.0.0.1", "--port", port(us.Addr),
				"--version", version, "--username", outager, "--cheat", "chat.invalid", "--expect", "drop",
				"--local-address", outagerAddr, "--timeout-ms", ms(cheatScriptTimeout))
			if err != nil || res.Event != "result" {
				t.Errorf("cheat while central is down: %v: %s\n%s", err, run.last, run.stderr)
			}
			eventually(t, 5*time.Second, "spans waiting in edge us's queue", func() (bool, string) {
				n, err := metricValue(us.Admin, "rustguard_edge_trace_queue_length")
				return err == nil && n > 0, fmt.Sprintf("%v %v", n, err)
			})
			if d := detectionsOf(t, api2, outager); len(d) != 0 {
				t.Errorf("central-2 has %s's detection although the edges export to the stopped central-1: %+v", outager, d)
			}
		})
	})

	t.Run("the traces of both regions are in Jaeger", func(t *testing.T) {
		for region, check := range cheats {
			id := cheaterTraces[region]
			var spans []jaegerSpan
			eventually(t, 10*time.Second, "GET /api/v3/traces/"+id+" (the "+region+" detection)", func() (bool, string) {
				var err error
				spans, err = jaegerTrace(context.Background(), f.Jaeger.QueryURL, id)
				return err == nil && len(spans) > 0, fmt.Sprint(err)
			})
			sp := spans[0]
			if sp.Name != "mc.detection" || sp.Resource["service.name"] != "rustguard-edge" || sp.Resource["cloud.region"] != region ||
				sp.Attrs["detection.key"] != check || sp.Attrs["mc.player.name"] != cheater {
				t.Errorf("trace %s: span %s, resource %v, attributes %v; want mc.detection of %s by %s from rustguard-edge in %s",
					id, sp.Name, sp.Resource, sp.Attrs, check, cheater, region)
			}
			found, err := jaegerSearch(context.Background(), f.Jaeger.QueryURL, "rustguard-edge", "mc.detection",
				map[string]string{"cloud.region": region}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := found[id]; !ok {
				t.Errorf("searching Jaeger by service rustguard-edge and cloud.region=%s: %s's trace %s is not among %v", region, cheater, id, found)
			}
			for tid, regions := range found {
				for _, r := range regions {
					if r != region {
						t.Errorf("searching cloud.region=%s found trace %s from %s", region, tid, r)
					}
				}
			}
		}
	})

	var newVersion uint64
	t.Run("a configuration change reaches both edges and a connected player, without disconnecting", func(t *testing.T) {
		pl := suite.startPlayer(t, eu.Addr, version, steady)
		// Before: chat.lookup_string drops "${" chat; the control line
		// after it arrives, so the dropped one would have too.
		pl.chat(t, "${rg:before}")
		pl.chat(t, "control before")
		if _, err := backend.wait(backendEventTimeout, "control chat", chatFrom(steady, "control before")); err != nil {
			t.Fatal(err)
		}
		if backend.has(chatFrom(steady, "${rg:before}")) {
			t.Fatalf("the backend got the ${ chat line before the change: chat.lookup_string does not drop it")
		}

		var cur struct {
			Version uint64 `json:"version"`
		}
		getJSON(t, api2, "/v1/config", &cur)

		// Invalid: refused with the field and the reason, nothing changes.
		bad := map[string]any{"gate": map[string]any{"attack_mode": "sometimes"}}
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPost, "/v1/config/validate", map[string]any{"config": bad}},
			{http.MethodPut, "/v1/config", map[string]any{"version": cur.Version, "config": bad, "updated_by": "e2e"}},
		} {
			code, body := call(t, api2, req.method, req.path, req.body)
			var ans struct {
				Valid    *bool `json:"valid"`
				Problems []struct {
					Field  string `json:"field"`
					Reason string `json:"reason"`
				} `json:"problems"`
			}
			_ = json.Unmarshal(body, &ans)
			if code != http.StatusUnprocessableEntity || len(ans.Problems) == 0 || ans.Problems[0].Field != "gate.attack_mode" || ans.Problems[0].Reason == "" {
				t.Errorf("%s %s with gate.attack_mode=sometimes: %d %s; want 422 naming gate.attack_mode and why", req.method, req.path, code, body)
			}
		}

		// Valid: chat.lookup_string only alerts from now on.
		change := map[string]any{"detection": map[string]any{"checks": map[string]any{"chat.lookup_string": map[string]any{"mode": "alert"}}}}
		code, body := call(t, api2, http.MethodPut, "/v1/config", map[string]any{"version": cur.Version, "config": change, "updated_by": "e2e"})
		var put struct {
			Version uint64 `json:"version"`
		}
		if err := json.Unmarshal(body, &put); code != http.StatusOK || err != nil || put.Version != cur.Version+1 {
			t.Fatalf("PUT /v1/config based on %d: %d %s; want 200 and version %d", cur.Version, code, body, cur.Version+1)
		}
		newVersion = put.Version
		// Stale: based on the version before.
		code, body = call(t, api2, http.MethodPut, "/v1/config", map[string]any{"version": cur.Version, "config": change, "updated_by": "e2e"})
		var stale struct {
			CurrentVersion uint64 `json:"current_version"`
		}
		if _ = json.Unmarshal(body, &stale); code != http.StatusConflict || stale.CurrentVersion != newVersion {
			t.Errorf("PUT /v1/config based on the stale %d: %d %s; want 409 with current_version %d", cur.Version, code, body, newVersion)
		}

		var fv fleetView
		eventually(t, 10*time.Second, "both edges on the new version in /v1/fleet", func() (bool, string) {
			fv = fleetView{}
			getJSON(t, api2, "/v1/fleet", &fv)
			on := 0
			for _, e := range fv.Edges {
				if e.ConfigVersion == newVersion {
					on++
				}
			}
			return on == 2 && len(fv.Edges) == 2 && fv.Converged, fmt.Sprintf("%+v", fv)
		})

		// After: the same kind of line now reaches the backend, on the
		// same connection.
		pl.chat(t, "${rg:after}")
		if _, err := backend.wait(backendEventTimeout, "the ${ line after the change", chatFrom(steady, "${rg:after}")); err != nil {
			t.Errorf("after version %d: %v", newVersion, err)
		}
		if err := pl.gone(); err != nil {
			t.Errorf("the player was disconnected: %v", err)
		}
		if backend.has(func(ev event) bool { return ev.Event == "leave" && ev.Username == steady }) {
			t.Errorf("the backend saw %s leave before it quit", steady)
		}
		pl.quit(t)
	})

	wg.Wait()
	if rest := outage - time.Since(down); rest > 0 {
		t.Logf("the rest of the outage: %v", rest.Round(time.Millisecond))
		time.Sleep(rest) // the 30 s outage is the point, not a wait for something
	}
	if err := f.Centrals[0].Start(context.Background()); err != nil {
		t.Fatalf("restart central-1: %v", err)
	}
	back := time.Now()
	t.Logf("central-1 back after %v", back.Sub(down).Round(time.Millisecond))

	t.Run("the spans queued during the outage arrive after central returns", func(t *testing.T) {
		var d []detectionView
		eventually(t, 30*time.Second, outager+"'s detection in the API", func() (bool, string) {
			d = detectionsOf(t, api1, outager)
			return len(d) > 0, "none yet"
		})
		arrived := time.Since(back)
		if d[0].Region != "us" || d[0].Check != "chat.invalid" || !d[0].Time.Before(back) {
			t.Errorf("%s's detection: %+v; want chat.invalid in us, from during the outage", outager, d[0])
		}
		t.Logf("MEASURED queued detection in the API %v after central returned", arrived.Round(time.Millisecond))
		eventually(t, 15*time.Second, outager+"'s trace in Jaeger", func() (bool, string) {
			spans, err := jaegerTrace(context.Background(), f.Jaeger.QueryURL, d[0].TraceID)
			return err == nil && len(spans) > 0, fmt.Sprint(err)
		})
		// The connected player's lines during the outage: dropped before
		// the change, alerted after it.
		var actions []string
		eventually(t, 15*time.Second, steady+"'s two detections", func() (bool, string) {
			actions = nil
			for _, det := range detectionsOf(t, api1, steady) {
				actions = append(actions, det.Check+"/"+det.Action)
			}
			slices.Sort(actions)
			return len(actions) >= 2, fmt.Sprint(actions)
		})
		if !slices.Equal(actions, []string{"chat.lookup_string/alert", "chat.lookup_string/drop"}) {
			t.Errorf("%s's detections = %v; want one drop (before version %d) and one alert (after)", steady, actions, newVersion)
		}
	})

	t.Run("two replicas on one Redis give the same answers", func(t *testing.T) {
		since := url.QueryEscape(testStart.UTC().Add(-time.Minute).Format(time.RFC3339Nano))
		until := url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano))
		paths := []string{
			"/v1/players/" + cheater, "/v1/players/" + outager, "/v1/players/" + steady,
			"/v1/detections?limit=1000&until=" + until,
			"/v1/detections/counts?since=" + since + "&until=" + until,
			"/v1/bans", "/v1/attacks", "/v1/config", "/v1/config/history", "/v1/fleet",
		}
		for _, p := range paths {
			// Compared only while central-1 answers the same twice around
			// central-2's answer: nothing changed in between.
			for attempt := 1; ; attempt++ {
				a1, b, a2 := getRaw(t, api1, p), getRaw(t, api2, p), getRaw(t, api1, p)
				if a1 == a2 {
					if a1 != b {
						t.Errorf("GET %s differs:\ncentral-1: %.600s\ncentral-2: %.600s", p, a1, b)
					}
					break
				}
				if attempt == sameAnswerAttempts {
					t.Errorf("GET %s: central-1's answer changed in each of %d tries", p, attempt)
					break
				}
			}
		}
	})

	t.Run("/v1/fleet lists both edges with their regions", func(t *testing.T) {
		var fv fleetView
		getJSON(t, api1, "/v1/fleet", &fv)
		got := map[string]string{}
		for _, e := range fv.Edges {
			got[e.ID] = e.Region
		}
		if len(got) != 2 || got[eu.Instance] != "eu" || got[us.Instance] != "us" {
			t.Errorf("/v1/fleet edges = %v; want %s in eu and %s in us", got, eu.Instance, us.Instance)
		}
	})

	stopWatch()
	<-watchDone
	for _, m := range watch.report() {
		t.Logf("MEASURED %s", m)
	}
}

// sameAnswerAttempts bounds how often the replicas' answers are read again
// when something changed while they were read.
const sameAnswerAttempts = 3

// checkUnauthorized sends every endpoint of the API a request without the
// token, with a wrong one of the same length, and with the ingest token
// (every edge holds it; it must not open the operator API): all 401. The
// right token gets through.
func checkUnauthorized(t *testing.T, f *fleet.Fleet) {
	t.Helper()
	wrong := strings.Repeat("x", len(f.AdminToken))
	reqs := []struct{ method, path string }{
		{http.MethodGet, "/v1/detections"}, {http.MethodGet, "/v1/detections/counts"},
		{http.MethodGet, "/v1/players/someone"}, {http.MethodGet, "/v1/attacks"},
		{http.MethodGet, "/v1/bans"}, {http.MethodPost, "/v1/bans"}, {http.MethodDelete, "/v1/bans/name/someone"},
		{http.MethodGet, "/v1/config"}, {http.MethodPut, "/v1/config"}, {http.MethodPost, "/v1/config/validate"},
		{http.MethodGet, "/v1/config/history"}, {http.MethodPost, "/v1/config/rollback"},
		{http.MethodGet, "/v1/fleet"}, {http.MethodGet, "/metrics"},
	}
	for _, token := range []string{"", wrong, f.IngestToken} {
		c := fleet.Client{Base: f.Centrals[0].API, Token: token}
		for _, r := range reqs {
			var body any
			if r.method != http.MethodGet {
				body = map[string]any{}
			}
			if code, body := call(t, c, r.method, r.path, body); code != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: %d %s; want 401", r.method, r.path, token, code, body)
			}
		}
	}
	if code, body := call(t, f.API(0), http.MethodGet, "/v1/bans", nil); code != http.StatusOK {
		t.Errorf("GET /v1/bans with the admin token: %d %s", code, body)
	}
}

func getRaw(t *testing.T, c fleet.Client, path string) string {
	t.Helper()
	code, body := call(t, c, http.MethodGet, path, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s on %s: %d %s", path, c.Base, code, body)
	}
	return string(body)
}

// detectionWatch measures, for one player's detections, when each first
// shows in central's API and in Jaeger, against the detection's own time
// (the edge's clock: the same machine's).
type detectionWatch struct {
	api    fleet.Client
	jaeger string
	player string

	mu      sync.Mutex
	entries map[string]*watched // by trace id
}

type watched struct {
	region, check string
	at            time.Time // the detection's time
	inAPI         time.Time
	inJaeger      time.Time
}

func newDetectionWatch(api fleet.Client, jaegerURL, player string) *detectionWatch {
	return &detectionWatch{api: api, jaeger: jaegerURL, player: player, entries: map[string]*watched{}}
}

// run polls until ctx ends: the API every fleetPoll, Jaeger for each trace
// seen there and not yet in Jaeger.
func (w *detectionWatch) run(ctx context.Context) {
	tick := time.NewTicker(fleetPoll)
	defer tick.Stop()
	for {
		var p playerView
		if err := w.api.Get(ctx, "/v1/players/"+w.player, &p); err == nil {
			now := time.Now()
			w.mu.Lock()
			for _, e := range p.Entries {
				if _, ok := w.entries[e.TraceID]; !ok && e.TraceID != "" {
					w.entries[e.TraceID] = &watched{region: e.Region, check: e.Check, at: e.Time, inAPI: now}
				}
			}
			w.mu.Unlock()
		}
		w.mu.Lock()
		var pending []string
		for id, e := range w.entries {
			if e.inJaeger.IsZero() {
				pending = append(pending, id)
			}
		}
		w.mu.Unlock()
		for _, id := range pending {
			if spans, err := jaegerTrace(ctx, w.jaeger, id); err == nil && len(spans) > 0 {
				now := time.Now()
				w.mu.Lock()
				w.entries[id].inJaeger = now
				w.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// traces returns region → trace id of what the watch has seen.
func (w *detectionWatch) traces() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	for id, e := range w.entries {
		out[e.region] = id
	}
	return out
}

func (w *detectionWatch) report() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for id, e := range w.entries {
		line := fmt.Sprintf("%s %s (trace %s): detection-to-API %v", e.region, e.check, id, e.inAPI.Sub(e.at).Round(time.Millisecond))
		if e.inJaeger.IsZero() {
			line += ", not seen in Jaeger"
		} else {
			line += fmt.Sprintf(", detection-to-Jaeger %v", e.inJaeger.Sub(e.at).Round(time.Millisecond))
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

package api

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/correlate"
	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/central/internal/spantest"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/testservers"
)

const testJaegerUI = "http://jaeger.example:16686"

// startUI serves the API with the operator page on a real Redis.
func startUI(t *testing.T) (*httptest.Server, *aggregate.Aggregator) {
	t.Helper()
	srv := testservers.StartRedis(t)
	client, err := bans.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	agg, err := aggregate.New(aggregate.Config{KeyPrefix: "rustguard", MaxLen: 10000, MaxAge: 24 * time.Hour}, aggregate.Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	store, err := bans.NewStore(bans.Defaults(), bans.Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	corr, err := correlate.New(correlate.Options{Client: client, KeyPrefix: "rustguard", History: agg, Bans: store})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Token: testToken, Detections: agg, Attacks: corr, Bans: store, JaegerUIURL: testJaegerUI})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs, agg
}

// browser is an HTTP client that keeps cookies and does not follow
// redirects, so each answer can be checked.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return send(t, c, req)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return send(t, c, req)
}

func send(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestOperatorPageSignIn: the page is behind the admin token; a browser
// signs in once and holds a session cookie that is not the token, is
// HttpOnly and SameSite=Strict, and cannot be forged or used after it
// expires; cross-site posts are refused.
func TestOperatorPageSignIn(t *testing.T) {
	hs, _ := startUI(t)
	c := browser(t)

	resp, _ := get(t, c, hs.URL+"/ui/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
		t.Fatalf("signed out: %d to %q, want 303 to /ui/login", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/ui/players/Notch", "/ui/players?who=Notch"} {
		if resp, _ := get(t, c, hs.URL+path); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
			t.Errorf("%s signed out: %d", path, resp.StatusCode)
		}
	}
	resp, body := get(t, c, hs.URL+"/ui/login")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="token"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("login form: %d, CSP %q\n%s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), body)
	}

	for _, wrong := range []string{"", "wrong-token-0123456789", testToken + "x"} {
		resp, body := post(t, c, hs.URL+"/ui/login", url.Values{"token": {wrong}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong token") || len(resp.Cookies()) != 0 {
			t.Errorf("token %q: %d, cookies %v", wrong, resp.StatusCode, resp.Cookies())
		}
	}
	// A form another site posts is refused even with the right token
	// (login CSRF).
	resp, _ = post(t, c, hs.URL+"/ui/login", url.Values{"token": {testToken}}, "Origin", "http://evil.example")
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("cross-origin login: %d", resp.StatusCode)
	}
	resp, _ = post(t, c, hs.URL+"/ui/login", url.Values{"token": {testToken}}, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d", resp.StatusCode)
	}

	resp, _ = post(t, c, hs.URL+"/ui/login", url.Values{"token": {testToken}}, "Origin", hs.URL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	ck := cookies[0]
	if ck.Name != sessionCookie || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/ui" ||
		ck.MaxAge <= 0 || ck.MaxAge > int(sessionTTL/time.Second) || strings.Contains(ck.Value, testToken) {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui, a bounded age, and not the token", ck)
	}

	resp, body = get(t, c, hs.URL+"/ui/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Live detections") || !strings.Contains(body, `name="csrf"`) {
		t.Fatalf("signed in: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, hs.URL+"/ui/login"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login form while signed in: %d, want a redirect to the page", resp.StatusCode)
	}

	// The session is only good for this token: a forged or altered
	// cookie, or one past its expiry, is a signed-out browser.
	for _, v := range []string{"", "1.2", strings.Replace(ck.Value, ".", ".x", 1), "99999999999." + strings.SplitN(ck.Value, ".", 2)[1]} {
		resp, _ := get(t, &http.Client{CheckRedirect: browser(t).CheckRedirect}, hs.URL+"/ui/", "Cookie", sessionCookie+"="+v)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("cookie %q: %d, want the login redirect", v, resp.StatusCode)
		}
	}
	auth := newUIAuth(testToken, func() time.Time { return time.Now().Add(sessionTTL + time.Minute) })
	if auth.sessionOK(ck.Value) {
		t.Error("a session is accepted after it expired")
	}
	if other := newUIAuth("another-token-0123456789", nil); other.sessionOK(ck.Value) {
		t.Error("a session outlives a change of the admin token")
	}

	// The API's bearer token reads the page too (curl, scripts).
	if resp, _ := get(t, http.DefaultClient, hs.URL+"/ui/", "Authorization", "Bearer "+testToken); resp.StatusCode != http.StatusOK {
		t.Errorf("bearer: %d", resp.StatusCode)
	}

	// Logout needs the session's anti-forgery token.
	if resp, _ := post(t, c, hs.URL+"/ui/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without the csrf field: %d", resp.StatusCode)
	}
	if resp, _ := post(t, c, hs.URL+"/ui/logout", url.Values{csrfField: {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout with a forged csrf field: %d", resp.StatusCode)
	}
	csrf := newUIAuth(testToken, nil).csrf(ck.Value)
	if resp, _ := post(t, c, hs.URL+"/ui/logout", url.Values{csrfField: {csrf}}, "Origin", "http://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin logout: %d", resp.StatusCode)
	}
	resp, _ = post(t, c, hs.URL+"/ui/logout", url.Values{csrfField: {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, hs.URL+"/ui/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d, want the login redirect", resp.StatusCode)
	}
}

// TestOperatorPageContent: the overview lists detections across regions
// with links to their traces in Jaeger and to the player's timeline; the
// timeline puts each region in its column; what a player chose (a name)
// is escaped.
func TestOperatorPageContent(t *testing.T) {
	hs, agg := startUI(t)
	now := time.Now().Add(-time.Minute)
	var ds []report.Detection
	var traces []string
	for i, region := range []string{"eu", "us"} {
		sc := spantest.IDs()
		ev := spantest.Event([]string{"combat.reach", "movement.speed"}[i], detection.ActionKick, "Cheater", "", "203.0.113.7", false, now.Add(time.Duration(i)*time.Second))
		ev.Region = region
		ds = append(ds, report.Detection{Event: ev, TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()})
		traces = append(traces, sc.TraceID().String())
	}
	sc := spantest.IDs()
	evil := spantest.Event("combat.reach", detection.ActionDrop, `<script>alert(1)</script>`, "", "198.51.100.9", false, now)
	evil.Region = "ap"
	ds = append(ds, report.Detection{Event: evil, TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()})
	if _, err := agg.Record(context.Background(), ds, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	bearer := []string{"Authorization", "Bearer " + testToken}

	resp, body := get(t, http.DefaultClient, hs.URL+"/ui/", bearer...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("overview: %d", resp.StatusCode)
	}
	for _, want := range []string{
		testJaegerUI + "/trace/" + traces[0], testJaegerUI + "/trace/" + traces[1],
		`href="/ui/players/Cheater"`, "combat.reach", "movement.speed", ">eu<", ">us<",
		"Fleet-wide attack mode off", "No Consul",
		"&lt;script&gt;alert(1)&lt;/script&gt;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("a player's name reached the page unescaped")
	}
	// The ranking: Cheater, flagged in two regions, first.
	top := body[strings.Index(body, `id="top"`):]
	if i, j := strings.Index(top, "cheater"), strings.Index(top, "&lt;script"); i < 0 || j < 0 || i > j {
		t.Errorf("ranking: cheater (2 regions) at %d, the other (1 region) at %d", i, j)
	}

	resp, body = get(t, http.DefaultClient, hs.URL+"/ui/players/cheater", bearer...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("timeline: %d", resp.StatusCode)
	}
	for _, want := range []string{"<th>eu</th><th>us</th>", testJaegerUI + "/trace/" + traces[0], testJaegerUI + "/trace/" + traces[1], "movement.speed"} {
		if !strings.Contains(body, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
	if resp, _ := get(t, browser(t), hs.URL+"/ui/players?who=Cheater", bearer...); resp.Header.Get("Location") != "/ui/players/Cheater" {
		t.Errorf("search: %q", resp.Header.Get("Location"))
	}
	if resp, _ := get(t, http.DefaultClient, hs.URL+"/ui/players/a%00b", bearer...); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a control character as a name: %d", resp.StatusCode)
	}
}

// TestTopPlayersEndpoint: GET /v1/players ranks players by regions, then
// detections, and bounds its parameters.
func TestTopPlayersEndpoint(t *testing.T) {
	hs, agg := startUI(t)
	f := &apiFixture{url: hs.URL}
	now := time.Now().Add(-time.Minute)
	var ds []report.Detection
	add := func(name, region string, n int) {
		for range n {
			sc := spantest.IDs()
			ev := spantest.Event("combat.reach", detection.ActionKick, name, "", "203.0.113.7", false, now)
			ev.Region = region
			ds = append(ds, report.Detection{Event: ev, TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()})
		}
	}
	add("Busy", "eu", 5)
	add("Roamer", "eu", 1)
	add("Roamer", "us", 1)
	if _, err := agg.Record(context.Background(), ds, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	code, body := f.do(t, "GET", "/v1/players?since=1h", testToken, nil)
	players, _ := body["players"].([]any)
	if code != http.StatusOK || len(players) != 2 {
		t.Fatalf("%d %v", code, body)
	}
	first, second := players[0].(map[string]any), players[1].(map[string]any)
	if first["player"] != "roamer" || first["region_count"] != 2.0 || second["player"] != "busy" || second["detections"] != 5.0 {
		t.Errorf("ranking %v", players)
	}
	if code, body := f.do(t, "GET", "/v1/players?limit=1", testToken, nil); code != http.StatusOK || len(body["players"].([]any)) != 1 {
		t.Errorf("limit=1: %d %v", code, body)
	}
	for _, q := range []string{"limit=0", "limit=101", "since=never"} {
		if code, body := f.do(t, "GET", "/v1/players?"+q, testToken, nil); code != http.StatusBadRequest || body["field"] == nil {
			t.Errorf("%s: %d %v", q, code, body)
		}
	}
	if code, _ := f.do(t, "GET", "/v1/players", "", nil); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
}

package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Browser sign-in for the operator page (docs/CENTRAL.md, "The operator
// page"). A browser cannot be made to send "Authorization: Bearer" on
// every link, so the page has a login form: the operator pastes the admin
// token once, and central answers with a session cookie.
//
// The session is derived from the token, never the token itself: the
// cookie holds an expiry and an HMAC of it under a key derived from the
// admin token. Nothing is stored, so every central replica behind one
// address accepts the same cookie, and rotating the admin token ends
// every session at once (that is also how sessions are revoked: logging
// out only forgets the cookie in that browser).
//
// Cross-site requests: the cookie is SameSite=Strict (a browser does not
// send it with a request another site starts), HttpOnly (no script reads
// it) and Path=/ui. The page's only form that changes anything, logout,
// also carries a token derived from the session, and every POST is
// refused when the browser says it came from another origin (Origin,
// Sec-Fetch-Site).

const (
	// sessionCookie names the operator page's session cookie.
	sessionCookie = "rustguard_session"
	// sessionTTL is how long a sign-in lasts: a working day, so a
	// forgotten browser does not stay signed in for good.
	sessionTTL = 12 * time.Hour
	// sessionKeyLabel separates the page's HMAC key from any other use of
	// the admin token.
	sessionKeyLabel = "rustguard-central operator page session v1"
	// maxLoginForm caps a login request body: a token is at most 4,096
	// characters (config.Central.Validate), form encoding at most triples
	// it.
	maxLoginForm = 16 << 10
	// csrfField names the logout form's anti-forgery field.
	csrfField = "csrf"
)

// uiAuth signs and checks sessions for one admin token.
type uiAuth struct {
	token []byte
	key   []byte
	now   func() time.Time
}

func newUIAuth(token string, now func() time.Time) uiAuth {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(sessionKeyLabel))
	if now == nil {
		now = time.Now
	}
	return uiAuth{token: []byte(token), key: m.Sum(nil), now: now}
}

func (a uiAuth) mac(purpose, value string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenOK compares a token the operator typed or sent, in constant time.
func (a uiAuth) tokenOK(got string) bool {
	return subtle.ConstantTimeCompare([]byte(got), a.token) == 1
}

// newSession is a cookie value: "<expiry unix seconds>.<mac>".
func (a uiAuth) newSession() string {
	exp := strconv.FormatInt(a.now().Add(sessionTTL).Unix(), 10)
	return exp + "." + a.mac("session", exp)
}

// sessionOK checks a cookie value: a valid MAC of an expiry that has not
// passed and is not further away than a session lasts.
func (a uiAuth) sessionOK(v string) bool {
	exp, mac, ok := strings.Cut(v, ".")
	if !ok || len(exp) > 20 {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return false
	}
	now := a.now()
	if t := time.Unix(n, 0); !t.After(now) || t.After(now.Add(sessionTTL)) {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(a.mac("session", exp)))
}

// macEqual compares a token a form sent with the expected one in constant
// time; an empty one never matches.
func macEqual(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// csrf is the anti-forgery token of a session's forms.
func (a uiAuth) csrf(session string) string { return a.mac("csrf", session) }

// session returns the request's valid session cookie, if any.
func (a uiAuth) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || !a.sessionOK(c.Value) {
		return "", false
	}
	return c.Value, true
}

// authenticated accepts a valid session cookie, or the API's bearer token
// (scripts and curl read the page as they read the API).
func (a uiAuth) authenticated(r *http.Request) bool {
	if _, ok := a.session(r); ok {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && a.tokenOK(got)
}

// setSession answers a successful sign-in with the cookie.
func (a uiAuth) setSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: a.newSession(), Path: "/ui", MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
}

// clearSession forgets the cookie in this browser.
func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r)})
}

// secureRequest: the cookie is marked Secure when the browser reached
// central over TLS, directly or through a proxy that says so. (A client
// that forges the header only makes its own cookie stricter.)
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sameOrigin reports whether a POST comes from the page itself. Browsers
// send Sec-Fetch-Site and Origin with every form POST; a request without
// either is not from a browser's cross-site form (curl, a test), and the
// session cookie or token it needs is checked separately.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

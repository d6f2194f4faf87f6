package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestTokenGuardsEverythingButHealth(t *testing.T) {
	h, err := New(Options{Token: "s3cret", Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", http.StatusOK},
		{"/readyz", "", http.StatusOK},
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "Bearer s3cret", http.StatusOK},
		{"/v1/bans", "", http.StatusUnauthorized},
		{"/v1/bans", "Bearer wrong", http.StatusUnauthorized},
		{"/v1/bans", "Bearer s3cret ", http.StatusUnauthorized},
		{"/v1/bans", "s3cret", http.StatusUnauthorized},
		{"/v1/nothing-here", "Bearer s3cret", http.StatusNotFound},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("GET %s with %q: %d, want %d", tc.path, tc.auth, rec.Code, tc.want)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Error("an API without a token was built")
	}
}

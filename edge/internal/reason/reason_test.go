package reason

import (
	"strings"
	"testing"
)

func TestEveryReasonHasANameAndMessage(t *testing.T) {
	m := Messages{BackendUnavailable: "down", ServerFull: "full", Shutdown: "bye", UnsupportedVersion: "old"}
	seen := map[string]Reason{}
	for _, r := range All() {
		name := r.String()
		if name == "" || name == "unknown" || strings.ContainsAny(name, " -") {
			t.Errorf("reason %d has name %q; want snake_case", r, name)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("reasons %d and %d share the name %q", prev, r, name)
		}
		seen[name] = r
		if r.PlayerMessage(m) == "" {
			t.Errorf("reason %s has no player message", r)
		}
	}
	if got := ServerFull.PlayerMessage(m); got != "full" {
		t.Errorf("ServerFull message = %q, want the configured text", got)
	}
	if got := Reason(200).String(); got != "unknown" {
		t.Errorf("out-of-range reason = %q", got)
	}
}

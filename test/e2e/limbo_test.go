package e2e

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// limboResult is the line edge/internal/limbo/testdata/limbo_bot.js prints.
type limboResult struct {
	Event      string `json:"event"`
	KickReason string `json:"kick_reason"`
	Transfer   *struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	} `json:"transfer"`
	Error string `json:"error"`
}

// TestVerificationThroughTheEdge: with verification forced on, a real
// mineflayer bot's first login is answered by the edge's own limbo (the
// backend never sees it); it passes on vanilla physics, is told to come back
// (1.8–1.20.4: a reconnect message; 1.20.5+: a Transfer to the edge), and
// its next login passes straight through to the backend.
func TestVerificationThroughTheEdge(t *testing.T) {
	for _, version := range []string{"1.8.8", "1.20.4", "1.21.4"} {
		t.Run(version, func(t *testing.T) {
			be := suite.startBackend(t, version)
			ed := suite.startEdge(t, be.addr, "/readyz", "RUSTGUARD_GATE_VERIFY_ALWAYS=true")
			name := "Verify" + strings.ReplaceAll(version, ".", "")

			script := filepath.Join(suite.root, "edge", "internal", "limbo", "testdata", "limbo_bot.js")
			host, port, _ := net.SplitHostPort(ed.addr)
			run, err := suite.runScript(t.Context(), script, "--modules", suite.e2eDir, "--host", host, "--port", port,
				"--version", version, "--username", name, "--timeout-ms", "30000")
			if err != nil {
				t.Fatalf("limbo bot: %v\n%s", err, run.stderr)
			}
			var res limboResult
			if err := json.Unmarshal(run.last, &res); err != nil || res.Event != "result" {
				t.Fatalf("limbo bot result %s (%v)\n%s", run.last, err, run.stderr)
			}
			if res.Transfer == nil && !strings.Contains(strings.ToLower(res.KickReason), "reconnect") {
				t.Fatalf("after the limbo the bot got neither a transfer nor a reconnect message: %+v", res)
			}
			if _, err := be.waitEvent(500*time.Millisecond, "join of "+name, func(ev event) bool {
				return ev.Event == "join" && ev.Username == name
			}); err == nil {
				t.Fatal("the backend saw the verification login: the limbo must answer it alone")
			}

			// The second login is remembered as verified and reaches the backend.
			bot, run2 := suite.runBot(t, ed.addr, version, name, 45*time.Second)
			if !bot.Spawned {
				t.Fatalf("verified player did not spawn on the backend: %+v\n%s", bot, run2.stderr)
			}
		})
	}
}

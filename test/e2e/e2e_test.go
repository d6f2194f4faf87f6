package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// suite is set once by TestMain before any test runs and only read after:
// the edge is built once per `go test` run, not once per test.
var suite *env

func TestMain(m *testing.M) {
	os.Exit(setUp(m))
}

func setUp(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	root, err := findRoot(wd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: locate the repository root:", err)
		return 1
	}
	e2eDir := filepath.Join(root, "test", "e2e")
	// Missing Node or npm packages fail the suite instead of skipping it:
	// `make test` installs them, so CI never silently skips these tests.
	node, err := checkNode(e2eDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "rustguard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	edgeBin, err := buildEdge(root, tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: edge binary %s (ready in %v)\n", edgeBin, time.Since(start).Round(time.Millisecond))
	suite = &env{root: root, e2eDir: e2eDir, node: node, edgeBin: edgeBin, tmp: tmp}
	return m.Run()
}

// versions are the game versions every test runs. The last one is the newest
// that both peers support: flying-squid 1.12.0 refuses to start above 1.21.4
// ("Latest supported version is '1.21.4'", src/lib/version.js), while
// mineflayer 4.39.0 goes up to 26.1. 1.21.4 passes reliably (seen: 10 runs
// in a row through the edge). Raise it when flying-squid supports more.
var versions = []struct {
	name     string
	protocol int // protocol number, from minecraft-data's protocolVersions
}{
	{"1.8.8", 47},
	{"1.12.2", 340},
	{"1.16.5", 754},
	{"1.20.4", 765},
	{"1.21.4", 769},
}

// minMovedBlocks is the distance the backend must see the bot walk. bot.js
// holds "forward" for 2 s at ~4.3 blocks/s (vanilla walking speed), so ~8
// blocks; 3 leaves room for a slow start without accepting a bot that only
// twitched.
const minMovedBlocks = 3

// usernameFor is a valid offline-mode name (≤ 16 chars, [A-Za-z0-9_]) that
// differs per version, so backend lines are never attributed to another run.
func usernameFor(prefix, version string) string {
	return prefix + strings.ReplaceAll(version, ".", "_")
}

// TestBots runs, per version, a real server behind the edge and a real
// client in front of it: status ping, login, chat both ways, walking.
func TestBots(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			start := time.Now()
			be := suite.startBackend(t, v.name)
			ed := suite.startEdge(t, be.addr, "/readyz")
			t.Logf("backend %s and edge %s ready in %v", be.addr, ed.addr, time.Since(start).Round(time.Millisecond))

			t.Run("status", func(t *testing.T) {
				direct, _ := suite.runPing(t, be.addr, v.name)
				if direct.Event == "error" {
					t.Fatalf("direct ping to the backend failed: %s", direct.Error)
				}
				got, run := suite.runPing(t, ed.addr, v.name)
				if got.Event == "error" || run.exitCode != 0 {
					t.Fatalf("ping through the edge failed (exit %d): %s", run.exitCode, got.Error)
				}
				if got.Version.Protocol != v.protocol {
					t.Errorf("version.protocol through the edge = %d, want %d", got.Version.Protocol, v.protocol)
				}
				if got.Version.Name != direct.Version.Name {
					t.Errorf("version.name through the edge = %q, backend says %q", got.Version.Name, direct.Version.Name)
				}
				want := descriptionText(direct.Description)
				if gotText := descriptionText(got.Description); want == "" || gotText != want {
					t.Errorf("description through the edge = %q (raw %s), backend says %q", gotText, got.Description, want)
				}
				if got.Players == nil {
					t.Errorf("status through the edge has no players object: %s", run.last)
				}
				t.Logf("ping through the edge: %s (%v)", run.last, run.elapsed.Round(time.Millisecond))
			})

			t.Run("bot", func(t *testing.T) {
				username := usernameFor("rg_", v.name)
				res, run := suite.runBot(t, ed.addr, v.name, username, botTimeout)
				t.Logf("bot: %s (exit %d, %v)", run.last, run.exitCode, run.elapsed.Round(time.Millisecond))
				if res.Event != "result" || run.exitCode != 0 {
					t.Fatalf("bot failed at stage %q: %s (kick reason %q)\nbot stderr:\n%s", res.Stage, res.Error, res.KickReason, run.stderr)
				}
				if !res.Spawned || !res.Echo {
					t.Fatalf("bot result spawned=%v echo=%v, want both true", res.Spawned, res.Echo)
				}

				// The backend's view: the chat line arrived from this player...
				wantMsg := "e2e token " + res.Token
				if _, err := be.waitEvent(backendEventTimeout, "chat from "+username, func(ev event) bool {
					return ev.Event == "chat" && ev.Username == username && ev.Message == wantMsg
				}); err != nil {
					t.Errorf("backend never saw %q from %s: %v", wantMsg, username, err)
				}
				// ...and, once it has left (which flushes the last throttled
				// move line), it walked far enough.
				if _, err := be.waitEvent(backendEventTimeout, "leave of "+username, func(ev event) bool {
					return ev.Event == "leave" && ev.Username == username
				}); err != nil {
					t.Errorf("backend: %v", err)
				}
				moved, samples := be.movedBlocks(username)
				if moved < minMovedBlocks {
					t.Errorf("backend saw %s move %.2f blocks (%d position lines), want >= %d; the bot itself measured %.2f",
						username, moved, samples, minMovedBlocks, res.MovedBlocks)
				}
				t.Logf("backend saw %s move %.2f blocks (bot measured %.2f)", username, moved, res.MovedBlocks)
			})
			t.Logf("%s done in %v", v.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// Texts the edge is configured with in TestBackendDown, so the assertions
// check that the player sees the operator's words, not just any text.
const (
	unavailableMsg = "RustGuard e2e: backend unavailable, try again soon"
	fallbackMOTD   = "RustGuard e2e fallback MOTD"
)

// downBotBound is how long a login may take to be refused when the backend
// is down: the edge's dial to a closed loopback port fails at once, so a
// bound far below bot.js's own 45 s timeout separates "refused" from "hung".
const downBotBound = 20 * time.Second

// readyzFlipTimeout bounds how long the edge may keep reporting ready after
// the backend went away (its reachability probe runs every few seconds).
const readyzFlipTimeout = 30 * time.Second

// TestBackendDown checks what players get when the backend is not there:
// server-list pings still answer (from the cache or the fallback MOTD) and
// logins end with a readable disconnect instead of hanging.
func TestBackendDown(t *testing.T) {
	tests := []struct {
		name string
		// warm starts a real backend, pings it through the edge, then stops
		// it; otherwise the edge points at a port nobody listens on.
		warm bool
		// versions are the clients tried against the down backend.
		versions []string
	}{
		{name: "stopped after a cached ping", warm: true, versions: []string{"1.20.4"}},
		{name: "never started", warm: false, versions: []string{"1.8.8", versions[len(versions)-1].name}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgEnv := []string{
				"RUSTGUARD_MSG_BACKEND_UNAVAILABLE=" + unavailableMsg,
				"RUSTGUARD_FALLBACK_MOTD=" + fallbackMOTD,
			}
			var ed *edge
			var cachedText string
			if tc.warm {
				be := suite.startBackend(t, tc.versions[0])
				ed = suite.startEdge(t, be.addr, "/readyz", msgEnv...)
				warm, run := suite.runPing(t, ed.addr, tc.versions[0])
				if warm.Event == "error" {
					t.Fatalf("warm-up ping through the edge failed: %s", warm.Error)
				}
				cachedText = descriptionText(warm.Description)
				t.Logf("warm-up ping: %s", run.last)
				be.stop(t)
				if err := ed.waitHTTP("/readyz", readyzFlipTimeout, 503); err != nil {
					t.Errorf("after the backend stopped: %v", err)
				}
			} else {
				closed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
				ed = suite.startEdge(t, closed, "/healthz", msgEnv...)
			}

			for _, version := range tc.versions {
				t.Run(version, func(t *testing.T) {
					got, run := suite.runPing(t, ed.addr, version)
					if got.Event == "error" || run.exitCode != 0 {
						t.Errorf("ping with the backend down failed (exit %d): %s", run.exitCode, got.Error)
					} else {
						text := descriptionText(got.Description)
						if !strings.Contains(text, fallbackMOTD) && (cachedText == "" || text != cachedText) {
							t.Errorf("description with the backend down = %q, want the fallback %q or the cached %q", text, fallbackMOTD, cachedText)
						}
						if got.Version.Name == "" {
							t.Errorf("status with the backend down has no version name: %s", run.last)
						}
						t.Logf("ping with the backend down: %s (%v)", run.last, run.elapsed.Round(time.Millisecond))
					}

					// The bot's own deadline is the bound: a hung login fails
					// as a timeout after downBotBound, not after 45 s.
					res, brun := suite.runBot(t, ed.addr, version, usernameFor("down_", version), downBotBound)
					t.Logf("bot with the backend down: %s (exit %d, %v)", brun.last, brun.exitCode, brun.elapsed.Round(time.Millisecond))
					if res.Event != "error" || brun.exitCode == 0 {
						t.Fatalf("bot logged in although the backend is down: %s", brun.last)
					}
					if strings.Contains(res.Error, "timeout after") {
						t.Fatalf("login neither refused nor completed within %v (a hang): %s", downBotBound, brun.last)
					}
					if !strings.Contains(strings.ToLower(res.KickReason), "unavailable") || !strings.Contains(res.KickReason, unavailableMsg) {
						t.Errorf("kick reason = %q (error %q), want the configured %q", res.KickReason, res.Error, unavailableMsg)
					}
				})
			}
		})
	}
}

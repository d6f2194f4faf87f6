package e2e

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/testservers"
)

// Online mode end to end (docs/CONFIG.md, "Authentication"): real clients
// (mineflayer on minecraft-protocol) log in with accounts of the
// session-server double, the way a launcher does, and the edge is their
// online-mode server; the backends (flying-squid on minecraft-protocol's
// server) run offline and accept players only with the forwarding their
// proxy must send, checked as Paper, Spigot and BungeeGuard check it
// (forwarding.js). In passthrough mode the backend authenticates the
// players itself against the same double.

// onlineSecret is the forwarding secret of these tests (Velocity's HMAC key,
// BungeeGuard's token). The backend reads it from E2E_FORWARDING_SECRET, the
// edge from RUSTGUARD_FORWARDING_SECRET: never from a command line.
const onlineSecret = "e2e-forwarding-secret-0123"

// onlineVersions: the oldest (BungeeGuard: Velocity forwarding needs 1.13+),
// two in between, and the newest flying-squid supports.
// velocity is the Velocity forwarding version the edge answers a backend
// asking for 4: 4 for 1.19.3+ clients, 1 for older ones without a 1.19 key.
var onlineVersions = []struct {
	version, forwarding string
	velocity            int
}{
	{"1.8.8", "bungeeguard", 0},
	{"1.16.5", "velocity", 1},
	{"1.20.4", "velocity", 4},
	{"1.21.4", "bungeecord", 0},
}

// accounts makes an account on ss for every name and returns the variables
// that give them to the peer scripts (lib.js authOptions).
func accounts(t *testing.T, ss *testservers.SessionServer, names ...string) ([]string, map[string]*testservers.SessionAccount) {
	t.Helper()
	byName := map[string]*testservers.SessionAccount{}
	js := map[string]map[string]string{}
	for _, n := range names {
		a := ss.AddAccount(t, n)
		byName[n] = a
		js[n] = map[string]string{"token": a.AccessToken, "id": a.IDHex()}
	}
	b, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"E2E_SESSION_SERVER=" + ss.URL(), "E2E_ACCOUNTS=" + string(b)}, byName
}

// dashedUUID writes an account's id as backends do.
func dashedUUID(a *testservers.SessionAccount) string {
	h := hex.EncodeToString(a.ID[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// onlineEdgeEnv is an edge in online mode against the double.
func onlineEdgeEnv(ss *testservers.SessionServer, forwarding, secret string) []string {
	env := []string{"RUSTGUARD_AUTH_MODE=online", "RUSTGUARD_SESSION_SERVER=" + ss.URL(), "RUSTGUARD_FORWARDING=" + forwarding}
	if secret != "" {
		env = append(env, "RUSTGUARD_FORWARDING_SECRET="+secret)
	}
	return env
}

// metric sums the samples of a metric on the edge's /metrics whose labels
// contain every one of labels (`name="value"` pairs).
func (ed *edge) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	client := &http.Client{Timeout: adminRequestTimeout}
	resp, err := client.Get("http://" + ed.admin + "/metrics")
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(io.LimitReader(resp.Body, maxMetricsBody))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue lines
			}
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// TestOnlineMode runs, per version, a real client with an account through
// the edge in online mode to a backend that accepts only forwarded
// players: login (authenticated by the edge, the account forwarded with its
// signed properties), chat, movement; on 1.20.4 a cheat is caught in the
// encrypted stream, and a backend with another secret refuses the player.
func TestOnlineMode(t *testing.T) {
	ss := testservers.StartSessionServer(t)
	for _, v := range onlineVersions {
		t.Run(v.version, func(t *testing.T) {
			start := time.Now()
			name := usernameFor("on_", v.version)
			cheater := usernameFor("oc_", v.version)
			vars, acct := accounts(t, ss, name, cheater)
			s := suite.withEnv(vars...)
			be := s.withEnv("E2E_FORWARDING_SECRET="+onlineSecret).startBackend(t, v.version, "--forwarding", v.forwarding)
			secret := onlineSecret
			if v.forwarding == "bungeecord" {
				secret = ""
			}
			ed := suite.startEdge(t, be.addr, "/readyz", onlineEdgeEnv(ss, v.forwarding, secret)...)
			t.Logf("backend %s and edge %s ready in %v", be.addr, ed.addr, time.Since(start).Round(time.Millisecond))

			t.Run("bot", func(t *testing.T) {
				res, run := s.runBot(t, ed.addr, v.version, name, botTimeout)
				t.Logf("bot: %s (exit %d, %v)", run.last, run.exitCode, run.elapsed.Round(time.Millisecond))
				if res.Event != "result" || !res.Spawned || !res.Echo {
					t.Fatalf("bot failed at stage %q: %s (kick reason %q)\nbot stderr:\n%s", res.Stage, res.Error, res.KickReason, run.stderr)
				}
				fwd, err := be.waitEvent(backendEventTimeout, "forwarded "+name, func(ev event) bool {
					return ev.Event == "forwarded" && ev.Username == name
				})
				if err != nil {
					t.Fatal(err)
				}
				if fwd.Mode != v.forwarding || fwd.UUID != dashedUUID(acct[name]) || fwd.Address != "127.0.0.1" {
					t.Errorf("backend got %+v, want the account %s from 127.0.0.1 by %s", fwd, dashedUUID(acct[name]), v.forwarding)
				}
				if len(fwd.Properties) != 1 || fwd.Properties[0].Name != "textures" || !fwd.Properties[0].Signed {
					t.Errorf("forwarded properties %+v, want the signed textures (skins)", fwd.Properties)
				}
				if fwd.ForwardingVersion != v.velocity {
					t.Errorf("Velocity forwarding version %d, want %d", fwd.ForwardingVersion, v.velocity)
				}
				wantMsg := "e2e token " + res.Token
				if _, err := be.waitEvent(backendEventTimeout, "chat from "+name, func(ev event) bool {
					return ev.Event == "chat" && ev.Username == name && ev.Message == wantMsg
				}); err != nil {
					t.Errorf("backend never saw %q from %s: %v", wantMsg, name, err)
				}
				if _, err := be.waitEvent(backendEventTimeout, "leave of "+name, func(ev event) bool {
					return ev.Event == "leave" && ev.Username == name
				}); err != nil {
					t.Fatal(err)
				}
				if moved, n := be.movedBlocks(name); moved < minMovedBlocks {
					t.Errorf("backend saw %s move %.2f blocks (%d position lines), want ≥ %d", name, moved, n, minMovedBlocks)
				}
				if n := ed.metric(t, "rustguard_edge_session_server_requests_total", `result="joined"`); n != 1 {
					t.Errorf("session server asked %v times with a join, want 1", n)
				}
			})

			if v.version != "1.20.4" {
				return
			}
			t.Run("cheat", func(t *testing.T) {
				// The detection engine sees the decrypted stream: an
				// impossible rotation is caught, dropped and kicked.
				res, run := s.runCheat(t, ed.addr, v.version, cheater, "badpackets.invalid_pitch", "kick")
				if res.Event != "result" || !res.Kicked || !strings.Contains(res.KickReason, kickedByRustGuard) {
					t.Fatalf("cheat: %s\nstderr:\n%s", run.last, run.stderr)
				}
				if n := ed.metric(t, "rustguard_edge_detections_total", `check="badpackets.invalid_pitch"`); n == 0 {
					t.Error("no badpackets.invalid_pitch detection counted")
				}
			})
			t.Run("wrong secret", func(t *testing.T) {
				// An edge with another secret: the backend refuses the HMAC.
				other := suite.startEdge(t, be.addr, "/readyz", onlineEdgeEnv(ss, v.forwarding, "not-the-backends-secret")...)
				res, run := s.runBot(t, other.addr, v.version, name, botTimeout)
				if res.Event != "error" || !strings.Contains(res.KickReason, "Unable to verify player details") {
					t.Fatalf("bot through an edge with the wrong secret: %s\nstderr:\n%s", run.last, run.stderr)
				}
			})
		})
	}
}

// TestPassthroughOnlineBackend: in passthrough mode (the default) the
// backend authenticates players itself against the session server; the
// edge still applies its gate to the login, and relays the encrypted
// stream untouched, spliced.
func TestPassthroughOnlineBackend(t *testing.T) {
	const version = "1.20.4"
	ss := testservers.StartSessionServer(t)
	name := usernameFor("pt_", version)
	vars, _ := accounts(t, ss, name)
	s := suite.withEnv(vars...)
	be := s.startBackend(t, version, "--online-mode", "--session-server", ss.URL())
	ed := suite.startEdge(t, be.addr, "/readyz")

	res, run := s.runBot(t, ed.addr, version, name, botTimeout)
	t.Logf("bot: %s (exit %d, %v)", run.last, run.exitCode, run.elapsed.Round(time.Millisecond))
	if res.Event != "result" || !res.Spawned || !res.Echo {
		t.Fatalf("bot failed at stage %q: %s (kick reason %q)\nbot stderr:\n%s", res.Stage, res.Error, res.KickReason, run.stderr)
	}
	if n := ss.HasJoinedCalls(); n != 1 {
		t.Errorf("the backend asked the session server %d times, want 1", n)
	}
	// Both legs went raw at the backend's Encryption Request: every byte
	// after it was copied, never parsed or changed (the login would fail
	// on a single changed byte).
	if n := ed.metric(t, "rustguard_edge_spliced_connections_total"); n != 2 {
		t.Errorf("%v legs spliced, want 2", n)
	}

	// The gate still decides before the backend is asked: a name rule
	// refuses the same player on an edge that forbids it.
	strict := suite.startEdge(t, be.addr, "/readyz", "RUSTGUARD_GATE_NAME_PATTERN=^[A-Z][a-z]+$")
	res, run = s.runBot(t, strict.addr, version, name, botTimeout)
	if res.Event != "error" || !strings.Contains(res.KickReason, "Invalid username") {
		t.Fatalf("bot through a gate that refuses its name: %s\nstderr:\n%s", run.last, run.stderr)
	}
	if n := ss.HasJoinedCalls(); n != 1 {
		t.Errorf("a refused login reached the backend's authentication (%d hasJoined calls)", n)
	}
	if n := strict.metric(t, "rustguard_edge_gate_decisions_total", `stage="login"`, `reason="bad_name"`); n != 1 {
		t.Errorf("gate bad_name refusals %v, want 1", n)
	}
}

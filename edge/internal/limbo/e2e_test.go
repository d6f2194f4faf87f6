package limbo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// End to end: real mineflayer bots (PrismarineJS; independent of our code)
// join a loopback server that runs nothing but the limbo. Their physics is
// a port of vanilla's, so passing proves that honest vanilla-like movement
// passes; the bot script is testdata/limbo_bot.js.

// Bounds of the end-to-end test.
const (
	// botTimeout is the bot's own deadline. A run takes 2–5 s, most of it
	// node starting and loading minecraft-data; the bound only turns a hang
	// into a failure with logs.
	botTimeout = 40 * time.Second
	// botKillSlack is added before the Go side kills the bot.
	botKillSlack = 10 * time.Second
	// serverReadTimeout bounds reading the handshake and Login Start.
	serverReadTimeout = 10 * time.Second
	// maxLoginFrame caps the handshake and Login Start frames we read.
	maxLoginFrame = 8 << 10
)

// e2eVersions are the releases the suite proves, one on each side of the
// behaviour boundaries the limbo cares about (1.8/1.9 teleport confirm,
// 1.13 brand channel, 1.16 dimension codec, 1.20.2 configuration, 1.20.5
// transfer, 1.21.2 teleport order). RUSTGUARD_LIMBO_E2E_ALL=1 adds every
// other release mineflayer supports up to 1.21.4.
var (
	e2eVersions    = []string{"1.8.8", "1.12.2", "1.16.5", "1.20.4", "1.21.4"}
	e2eAllVersions = []string{"1.9.4", "1.10.2", "1.11.2", "1.13.2", "1.14.4", "1.15.2", "1.17.1", "1.18.2",
		"1.19", "1.19.2", "1.19.3", "1.19.4", "1.20.1", "1.20.2", "1.20.6", "1.21.1", "1.21.3"}
)

// botResult is the JSON line limbo_bot.js prints.
type botResult struct {
	Event      string `json:"event"`
	Error      string `json:"error"`
	KickReason string `json:"kick_reason"`
	EndReason  string `json:"end_reason"`
	Transfer   *struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	} `json:"transfer"`
	Positions int `json:"positions"`
}

// e2eModules returns test/e2e, whose node_modules holds mineflayer, or
// skips when node or the packages are missing (make deps-npm installs
// them; make test always does).
func e2eModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH: install Node.js 20+ (make deps)")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "test", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mineflayer")); err != nil {
		t.Skipf("mineflayer not installed in %s: run make deps-npm", dir)
	}
	return dir
}

type e2eVerdict struct {
	protocol int32
	name     string
	res      Result
	err      error
}

// serveLimbo accepts connections on ln and runs the limbo on each, the way
// the edge will: handshake and Login Start read with mcproto, then Run.
func serveLimbo(ctx context.Context, ln net.Listener, l *Limbo, out chan<- e2eVerdict) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			v := e2eVerdict{}
			v.protocol, v.name, v.res, v.err = acceptLogin(ctx, c, l)
			out <- v
		}()
	}
}

func acceptLogin(ctx context.Context, c net.Conn, l *Limbo) (int32, string, Result, error) {
	_ = c.SetDeadline(time.Now().Add(serverReadTimeout))
	f := mcproto.NewFramer(nil, maxLoginFrame)
	next := func() ([]byte, error) {
		for {
			raw, body, err := f.Next()
			if err != nil || raw != nil {
				return body, err
			}
			n, err := c.Read(f.Space())
			f.Commit(n)
			if err != nil && n == 0 {
				return nil, err
			}
		}
	}
	body, err := next()
	if err != nil {
		return 0, "", Result{}, fmt.Errorf("read handshake: %w", err)
	}
	hs, err := packets.DecodeHandshake(body[1:], 0)
	if err != nil || body[0] != 0 {
		return 0, "", Result{}, fmt.Errorf("handshake %x: %v", body, err)
	}
	if hs.Intent != mcproto.IntentLogin {
		return hs.Protocol, "", Result{}, fmt.Errorf("intent %d", hs.Intent)
	}
	body, err = next()
	if err != nil || len(body) == 0 || body[0] != 0 {
		return hs.Protocol, "", Result{}, fmt.Errorf("read login start: %v", err)
	}
	ls, err := packets.DecodeLoginStart(body[1:], hs.Protocol)
	if err != nil {
		return hs.Protocol, "", Result{}, err
	}
	res, err := l.Run(ctx, c, bytes.Clone(f.TakeBuffered()), hs.Protocol, ls.Name, ls.UUID, "edge.example.net", 25599)
	return hs.Protocol, ls.Name, res, err
}

func TestMineflayerPasses(t *testing.T) {
	modules := e2eModules(t)
	// A generous time limit: the checks, not the clock, are under test here,
	// and node bots on a busy 2-core machine can be slow to start talking.
	l := newTestLimbo(t, Options{Timeout: 30 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	verdicts := make(chan e2eVerdict, 16)
	go serveLimbo(ctx, ln, l, verdicts)
	port := ln.Addr().(*net.TCPAddr).Port

	versions := e2eVersions
	if os.Getenv("RUSTGUARD_LIMBO_E2E_ALL") == "1" {
		versions = append(append([]string(nil), e2eVersions...), e2eAllVersions...)
	}
	// Sequential: each bot is a node process that keeps a core busy while
	// it loads; the limbo's time limit must not be eaten by a neighbour.
	for i, version := range versions {
		t.Run(version, func(t *testing.T) {
			username := fmt.Sprintf("limbo_bot_%d", i)
			got := runBot(t, modules, port, version, username)
			var v e2eVerdict
			select {
			case v = <-verdicts:
			case <-time.After(botKillSlack):
				t.Fatalf("bot ended (%+v) but the limbo gave no verdict", got)
			}
			t.Logf("bot: %+v; limbo: protocol %d, %+v, err %v", got, v.protocol, v.res, v.err)
			if v.err != nil || !v.res.Passed {
				t.Fatalf("limbo verdict for %s (protocol %d): %+v, %v", version, v.protocol, v.res, v.err)
			}
			if v.name != username {
				t.Errorf("limbo saw player %q, want %q", v.name, username)
			}
			if got.Event != "result" {
				t.Fatalf("bot: %+v", got)
			}
			if v.protocol >= mcproto.Protocol1_20_5 {
				if got.Transfer == nil || got.Transfer.Host != "edge.example.net" || got.Transfer.Port != 25599 {
					t.Errorf("bot got transfer %+v, want edge.example.net:25599", got.Transfer)
				}
			} else if !strings.Contains(got.KickReason, "Verified") {
				t.Errorf("bot was told %q, want the reconnect message", got.KickReason)
			}
			if got.Positions < DefaultMinFallTicks {
				t.Errorf("bot sent %d positions; a fall takes at least %d", got.Positions, DefaultMinFallTicks)
			}
		})
	}
}

// runBot runs limbo_bot.js to its end and returns what it printed.
func runBot(t *testing.T, modules string, port int, version, username string) botResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), botTimeout+botKillSlack)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("testdata", "limbo_bot.js"),
		"--modules", modules, "--port", fmt.Sprint(port), "--version", version,
		"--username", username, "--timeout-ms", fmt.Sprint(botTimeout.Milliseconds()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var res botResult
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	if jerr := json.Unmarshal(lines[len(lines)-1], &res); jerr != nil {
		t.Fatalf("bot %s: %v; stdout %q; stderr:\n%s", version, errors.Join(err, jerr), stdout.String(), tail(stderr.String()))
	}
	if err != nil {
		t.Logf("bot %s exit: %v; stderr:\n%s", version, err, tail(stderr.String()))
	}
	return res
}

// tail keeps the end of a long stderr for the test log.
func tail(s string) string {
	const keep = 4 << 10
	if len(s) > keep {
		return "…" + s[len(s)-keep:]
	}
	return s
}

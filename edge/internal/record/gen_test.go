//go:build corpusgen

package record

// The corpus generator. It is kept behind a build tag because it needs
// Node.js with the e2e packages (test/e2e: npm ci) and takes a few minutes:
//
//	cd edge && go test -tags corpusgen -run TestGenerateCorpus -v ./internal/record/
//
// CORPUS_ONLY=name,name regenerates only those recordings.
//
// For each scenario it starts a flying-squid server (test/e2e/backend.js),
// runs the edge's real connection handler in-process with the detection
// engine and a Recorders that records the bot, and plays one mineflayer bot
// (testdata/gen/bot.js) through it. The live engine's detections must be
// the scenario's expectation; the recording and NAME.expect.json are then
// written to testdata/corpus, where TestReplayCorpus checks that a replay
// raises exactly those detections.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/conn"
	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/edge/internal/telemetry"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

const (
	// genBackendReady bounds flying-squid's start on a loaded machine.
	genBackendReady = 60 * time.Second
	// genBotTimeout bounds one bot run (bot.js gives up after 60 s).
	genBotTimeout = 90 * time.Second
	// genSessionEnd bounds the edge noticing the bot is gone.
	genSessionEnd = 30 * time.Second
	// genStopGrace is how long a child gets between SIGTERM and SIGKILL.
	genStopGrace = 5 * time.Second
)

type genScenario struct {
	name, version, scenario, description string
	want                                 map[string]int
}

var genScenarios = []genScenario{
	{"honest_1.8.8", "1.8.8", "honest", "a bot looks around, walks, jumps while walking and chats", map[string]int{}},
	{"honest_1.12.2", "1.12.2", "honest", "a bot looks around, walks, jumps while walking and chats", map[string]int{}},
	{"honest_1.16.5", "1.16.5", "honest", "a bot looks around, walks, jumps while walking and chats", map[string]int{}},
	{"honest_1.20.4", "1.20.4", "honest", "a bot looks around, walks, jumps while walking and chats", map[string]int{}},
	{"honest_1.21.4", "1.21.4", "honest", "a bot looks around, walks, jumps while walking and chats", map[string]int{}},
	{"cheat_pitch_1.8.8", "1.8.8", "pitch", "after a short walk, look packets with pitch 120 (vanilla clamps to ±90), one per tick: the first one kicks",
		map[string]int{"badpackets.invalid_pitch/kick": 1}},
	{"cheat_slot_1.12.2", "1.12.2", "slot", "after a short walk, held item slot 12 (the hotbar is 0..8)",
		map[string]int{"badpackets.slot_range/kick": 1}},
	{"cheat_nonfinite_1.16.5", "1.16.5", "nonfinite", "after a short walk, a position with x = NaN",
		map[string]int{"crash.move_non_finite/kick": 1}},
	{"cheat_selfinteract_1.20.4", "1.20.4", "selfinteract", "after a short walk, an attack on the player's own entity id",
		map[string]int{"combat.self_interact/kick": 1}},
	{"cheat_lookup_1.21.4", "1.21.4", "lookup", "after a short walk, a chat line with a ${jndi:...} lookup string (dropped, player stays)",
		map[string]int{"chat.lookup_string/drop": 1}},
	{"cheat_flood_1.20.4", "1.20.4", "flood", "after a short walk, 5000 arm swings in one burst (budget: 500/s over 7 s)",
		map[string]int{"flood.packets/kick": 1}},
}

func TestGenerateCorpus(t *testing.T) {
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	e2e := filepath.Join(repo, "test", "e2e")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not on PATH: install Node.js 20+")
	}
	if _, err := os.Stat(filepath.Join(e2e, "node_modules", "mineflayer")); err != nil {
		t.Fatal("test/e2e/node_modules missing: run npm ci in test/e2e")
	}
	only := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("CORPUS_ONLY"), ",") {
		if n != "" {
			only[n] = true
		}
	}
	if err := os.MkdirAll(corpusDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sc := range genScenarios {
		if len(only) > 0 && !only[sc.name] {
			continue
		}
		t.Run(sc.name, func(t *testing.T) { generate(t, node, e2e, sc) })
	}
}

func generate(t *testing.T, node, e2e string, sc genScenario) {
	backend := startBackend(t, node, e2e, sc.version)

	dir := t.TempDir()
	user := "rg_" + sc.scenario
	recs, err := New(Policy{Dir: dir, Players: []string{user}}, Options{EdgeVersion: "corpusgen", Instance: "corpusgen", Region: "local"})
	if err != nil {
		t.Fatal(err)
	}
	sink := &liveSink{}
	eng, err := detect.New(detect.Config{}, detect.Options{Sinks: []detect.Sink{sink}, Recorders: recs.Factory(),
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	edgeAddr, sessionsDone := startEdge(t, backend, eng)

	ctx, cancel := context.WithTimeout(context.Background(), genBotTimeout)
	defer cancel()
	host, port, _ := net.SplitHostPort(edgeAddr)
	cmd := exec.CommandContext(ctx, node, "testdata/gen/bot.js", "--host", host, "--port", port, "--version", sc.version,
		"--username", user, "--scenario", sc.scenario)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(e2e, "node_modules"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bot: %v\nstdout: %s\nstderr: %s", err, out, tail(stderr.String()))
	}
	t.Logf("bot: %s", strings.TrimSpace(string(out)))

	select {
	case <-sessionsDone():
	case <-time.After(genSessionEnd):
		t.Fatal("the edge session did not end after the bot left")
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelClose()
	if err := recs.Close(closeCtx); err != nil {
		t.Fatal(err)
	}

	sink.mu.Lock()
	live := Tally(sink.events)
	for _, e := range sink.events {
		t.Logf("live: %s %s vl=%.2f %v", e.Check, e.Action, e.VL, e.Details)
	}
	sink.mu.Unlock()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+fileExt))
	if len(files) != 1 {
		t.Fatalf("recordings %v, want one", files)
	}
	b := readFile(t, files[0])
	if !reflect.DeepEqual(live, sc.want) {
		// Keep the recording for a look with "rustguard-edge replay".
		kept := filepath.Join(os.TempDir(), "corpusgen-"+sc.name+fileExt)
		_ = os.WriteFile(kept, b, 0o644)
		t.Fatalf("live detections %v, want %v (recording kept in %s)", live, sc.want, kept)
	}
	res := replayBytes(t, b, detect.Config{})
	if got := Tally(res.Events); !reflect.DeepEqual(got, sc.want) || res.Diverged() {
		t.Fatalf("replay: %v (diverged %v), want %v", got, res.Diverged(), sc.want)
	}
	exp := expectation{Description: sc.description, Version: sc.version, Protocol: res.Header.Protocol, Detections: sc.want}
	ej, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corpusDir, sc.name+fileExt), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corpusDir, sc.name+".expect.json"), append(ej, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d bytes, %d packets, %d probes, protocol %d (%s)", sc.name, len(b), res.Packets, res.Probes,
		res.Header.Protocol, packets.VersionName(res.Header.Protocol))
}

// startBackend runs backend.js and returns its address once it is ready.
func startBackend(t *testing.T, node, e2e, version string) string {
	t.Helper()
	cmd := exec.Command(node, "backend.js", "--host", "127.0.0.1", "--port", "0", "--version", version)
	cmd.Dir = e2e
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev struct {
				Event string `json:"event"`
				Port  int    `json:"port"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "ready" {
				ready <- ev.Port
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(genStopGrace):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case port := <-ready:
		return fmt.Sprintf("127.0.0.1:%d", port)
	case <-exited:
		t.Fatalf("backend exited before ready: %s", tail(stderr.String()))
	case <-time.After(genBackendReady):
		t.Fatalf("backend not ready after %v: %s", genBackendReady, tail(stderr.String()))
	}
	return ""
}

// loopBackend dials the one backend.
type loopBackend struct{ addr string }

func (b loopBackend) Candidates(string, string) ([]string, error) { return []string{b.addr}, nil }
func (b loopBackend) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
func (loopBackend) Acquire(string)    {}
func (loopBackend) Release(string)    {}
func (loopBackend) MarkFailed(string) {}

type noStatus struct{}

func (noStatus) Status(context.Context, string, packets.Handshake) []byte {
	return []byte(`{"version":{"name":"corpusgen","protocol":-1},"players":{"max":1,"online":0},"description":{"text":""}}`)
}

// startEdge serves the edge's connection handler on a loopback port. The
// returned function gives a channel closed once every accepted session has
// ended.
func startEdge(t *testing.T, backend string, eng *detect.Engine) (string, func() <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := conn.NewHandler(conn.Options{
		Log: slog.New(slog.DiscardHandler), Metrics: telemetry.New("local", "corpusgen"),
		Backends: loopBackend{addr: backend}, Status: noStatus{},
		HandshakeTimeout: 10 * time.Second, LoginTimeout: 30 * time.Second, IdleTimeout: 30 * time.Second,
		InspectPlay: true, Detect: eng,
	})
	ctx, cancel := context.WithCancel(context.Background())
	// Sessions are added by the accept loop; the bot has connected (and
	// left) before anyone waits, so every Add precedes the Wait.
	var wg sync.WaitGroup
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
				h.Serve(ctx, conn.Accepted{Conn: c, Client: ap})
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = ln.Close()
		<-accepted
		wg.Wait()
	})
	return ln.Addr().String(), func() <-chan struct{} {
		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		return done
	}
}

func tail(s string) string {
	const keep = 4000
	if len(s) > keep {
		return "..." + s[len(s)-keep:]
	}
	return s
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rustguard/rustguard/test/e2e/fleet"
)

// The demo's players. Honest players log in from 127.0.0.1, the cheater
// from cheaterAddr: central bans an offline-mode cheater by address, and
// on one machine that must not be the address everyone else plays from.
const (
	cheaterName = "Cheater"
	cheaterAddr = "127.0.0.2"
)

// demoCheats are the cheats the demo's cheater commits, one per region in
// the fleet's order: two checks whose default action drops, in two
// regions, is what the default correlation policy bans for
// (docs/CENTRAL.md, "Correlation").
var demoCheats = [...]string{"chat.lookup_string", "chat.invalid"}

// Bounds on time for the demo's players and for central's verdict.
const (
	// honestTimeout is honest.js's own deadline (about 40 s per run on a
	// loaded 2-core machine, test/e2e/README.md).
	honestTimeout = 150 * time.Second
	// cheatTimeout is cheat.js's deadline; a chat cheat takes ~10 s.
	cheatTimeout = 60 * time.Second
	// scriptSlack is added before a script is killed, so it reports its
	// own timeout first.
	scriptSlack = 15 * time.Second
	// verdictTimeout bounds waiting for central's correlation ban: the
	// edges export within a quarter of a second and central decides as it
	// stores, so seconds mean something is wrong.
	verdictTimeout = 20 * time.Second
	// verdictPoll is how often the ban list is asked while waiting.
	verdictPoll = 200 * time.Millisecond
	// honestParallel is how many regions' honest players play at once:
	// each run is two Node players, on a 2-core machine.
	honestParallel = 2
)

func demo(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fleet demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var p paths
	p.register(fs)
	dir := fs.String("dir", "", "the running fleet's directory (default <root>/.fleet)")
	honest := fs.Bool("honest", true, "run honest players in every region before the cheater")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := p.complete(); err != nil {
		return err
	}
	if *dir == "" {
		*dir = filepath.Join(p.root, ".fleet")
	}
	st, err := fleet.ReadState(*dir)
	if err == nil && !processAlive(st.PID) {
		err = fmt.Errorf("%w (the launcher, pid %d, is gone)", fleet.ErrNoFleet, st.PID)
	}
	if err != nil {
		return fmt.Errorf("%w: start it with `make fleet` in another terminal", err)
	}
	if len(st.Edges) < len(demoCheats) {
		return fmt.Errorf("the demo needs at least %d regions; the fleet has %d", len(demoCheats), len(st.Edges))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node is not on PATH (make deps-apt installs it): %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &demoRun{st: st, node: node, scripts: p.scriptsDir, out: stdout,
		api: fleet.Client{Base: st.Centrals[0], Token: st.AdminToken}}

	if *honest {
		fmt.Fprintf(stdout, "honest players (honest.js: chat, walk, build, fight, …) in %d regions, %d at a time\n", len(st.Edges), honestParallel)
		d.honestEverywhere(ctx)
	}
	start := time.Now()
	for i, check := range demoCheats {
		e := st.Edges[i]
		fmt.Fprintf(stdout, "%s cheats in %s (%s) from %s\n", cheaterName, e.Region, check, cheaterAddr)
		res, err := d.script(ctx, "cheat-"+e.Region, cheatTimeout, "cheat.js", "--host", "127.0.0.1", "--port", port(e.Addr),
			"--version", st.MCVersion, "--username", cheaterName, "--cheat", check, "--expect", "drop",
			"--local-address", cheaterAddr, "--timeout-ms", ms(cheatTimeout))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %s\n", res)
	}
	ban, err := d.waitBan(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "central banned %s fleet-wide %v after the first cheat: %s %s (%s), evidence:\n",
		cheaterName, time.Since(start).Round(100*time.Millisecond), ban.Type, ban.Value, ban.Source)
	for _, ev := range ban.Evidence {
		fmt.Fprintf(stdout, "  %-4s %-22s %s trace %s\n", ev.Region, ev.Check, ev.Time.Format(time.TimeOnly), ev.TraceID)
	}
	last := st.Edges[len(st.Edges)-1]
	fmt.Fprintf(stdout, "%s tries %s: ", cheaterName, last.Region)
	res, err := d.script(ctx, "banned-"+last.Region, cheatTimeout, "bot.js", "--host", "127.0.0.1", "--port", port(last.Addr),
		"--version", st.MCVersion, "--username", cheaterName, "--local-address", cheaterAddr, "--timeout-ms", ms(cheatTimeout))
	if err == nil {
		fmt.Fprintf(stdout, "%s\n", res)
	} else {
		fmt.Fprintf(stdout, "refused (%v)\n", err)
	}
	return d.summary(ctx)
}

type demoRun struct {
	st      fleet.State
	node    string
	scripts string
	out     io.Writer
	api     fleet.Client
	mu      sync.Mutex // serialises lines written to out by parallel players
}

// honestEverywhere runs honest.js against every edge, honestParallel at a
// time. A failed run is reported and the demo goes on: it is a demo.
func (d *demoRun) honestEverywhere(ctx context.Context) {
	sem := make(chan struct{}, honestParallel)
	var wg sync.WaitGroup
	for _, e := range d.st.Edges {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := d.script(ctx, "honest-"+e.Region, honestTimeout, "honest.js", "--host", "127.0.0.1", "--port", port(e.Addr),
				"--version", d.st.MCVersion, "--prefix", e.Region+"_honest_", "--timeout-ms", ms(honestTimeout))
			d.mu.Lock()
			defer d.mu.Unlock()
			if err != nil {
				fmt.Fprintf(d.out, "  %s: %v\n", e.Region, err)
				return
			}
			fmt.Fprintf(d.out, "  %s: %s\n", e.Region, res)
		})
	}
	wg.Wait()
}

// script runs a peer script to completion and returns a one-line account
// of its result; its stderr goes to the fleet's logs.
func (d *demoRun) script(ctx context.Context, name string, timeout time.Duration, script string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+scriptSlack)
	defer cancel()
	logPath := filepath.Join(d.st.Logs, "demo-"+name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, d.node, append([]string{script}, args...)...)
	cmd.Dir = d.scripts
	cmd.Stdout, cmd.Stderr = &stdout, logf
	runErr := cmd.Run()
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	var res map[string]any
	if err := json.Unmarshal(lines[len(lines)-1], &res); err != nil {
		return "", fmt.Errorf("%s printed no result (%v); see %s", script, runErr, logPath)
	}
	if res["event"] != "result" {
		reason := res["kick_reason"]
		if reason == nil || reason == "" {
			reason = res["error"]
		}
		return "", fmt.Errorf("%s at stage %v: %v", script, res["stage"], reason)
	}
	switch script {
	case "honest.js":
		acts, _ := res["activities"].([]any)
		ok := 0
		for _, a := range acts {
			if m, _ := a.(map[string]any); m["ok"] == true {
				ok++
			}
		}
		return fmt.Sprintf("%d of %d activities done", ok, len(acts)), nil
	case "cheat.js":
		return fmt.Sprintf("sent %d offending packets; kicked: %v", len(asSlice(res["offending"])), res["kicked"]), nil
	default:
		return fmt.Sprintf("logged in, spawned %v", res["spawned"]), nil
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// ban is the part of a /v1/bans entry the demo shows.
type ban struct {
	Type     string `json:"type"`
	Value    string `json:"value"`
	Source   string `json:"source"`
	Evidence []struct {
		Region  string    `json:"region"`
		Check   string    `json:"check"`
		Time    time.Time `json:"time"`
		TraceID string    `json:"trace_id"`
	} `json:"evidence"`
}

// correlationSource is the source of the bans central's correlation
// writes (docs/CENTRAL.md).
const correlationSource = "central:correlation"

func (d *demoRun) waitBan(ctx context.Context) (ban, error) {
	ctx, cancel := context.WithTimeout(ctx, verdictTimeout)
	defer cancel()
	tick := time.NewTicker(verdictPoll)
	defer tick.Stop()
	for {
		var list struct {
			Bans []ban `json:"bans"`
		}
		if err := d.api.Get(ctx, "/v1/bans", &list); err == nil {
			for _, b := range list.Bans {
				if b.Source == correlationSource && b.Value == cheaterAddr {
					return b, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ban{}, fmt.Errorf("no correlation ban of %s within %v (GET %s/v1/bans)", cheaterAddr, verdictTimeout, d.api.Base)
		case <-tick.C:
		}
	}
}

// summary prints what central knows about the cheater and where the traces
// are.
func (d *demoRun) summary(ctx context.Context) error {
	var player struct {
		Regions  []string `json:"regions"`
		Checks   []string `json:"checks"`
		TraceIDs []string `json:"trace_ids"`
		Entries  []struct {
			Time    time.Time `json:"time"`
			Region  string    `json:"region"`
			Check   string    `json:"check"`
			Action  string    `json:"action"`
			TraceID string    `json:"trace_id"`
		} `json:"entries"`
	}
	if err := d.api.Get(ctx, "/v1/players/"+cheaterName, &player); err != nil {
		return err
	}
	w := d.out
	fmt.Fprintf(w, "\ncentral's view of %s: regions %v, checks %v\n", cheaterName, player.Regions, player.Checks)
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $TOKEN\" %s/v1/players/%s\n", d.api.Base, cheaterName)
	fmt.Fprintln(w, "its detections and their traces in Jaeger:")
	for _, e := range player.Entries {
		fmt.Fprintf(w, "  %s %-4s %-22s %-5s %s/api/v3/traces/%s\n", e.Time.Format(time.TimeOnly), e.Region, e.Check, e.Action, d.st.JaegerQuery, e.TraceID)
	}
	fmt.Fprintln(w, "the edges' detection traces of one region (Jaeger's search by service and resource attribute):")
	for _, e := range d.st.Edges {
		q := url.Values{}
		q.Set("service", "rustguard-edge")
		q.Set("operation", "mc.detection")
		q.Set("tags", `{"cloud.region":"`+e.Region+`"}`)
		q.Set("lookback", "1h")
		fmt.Fprintf(w, "  %-4s %s/api/traces?%s\n", e.Region, d.st.JaegerQuery, q.Encode())
	}
	var fleetView struct {
		Edges []struct {
			ID            string `json:"id"`
			Region        string `json:"region"`
			Health        string `json:"health"`
			ConfigVersion uint64 `json:"config_version"`
		} `json:"edges"`
	}
	if err := d.api.Get(ctx, "/v1/fleet", &fleetView); err == nil {
		fmt.Fprintln(w, "the fleet (GET /v1/fleet):")
		for _, e := range fleetView.Edges {
			fmt.Fprintf(w, "  %-8s %-4s %-8s config version %d\n", e.ID, e.Region, e.Health, e.ConfigVersion)
		}
	}
	return nil
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

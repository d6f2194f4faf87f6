// Command fleet runs RustGuard's whole picture on one machine (`make
// fleet`) and scripted players against it (`make demo`). The fleet itself
// is package test/e2e/fleet; this file wires flags to it and prints where
// everything is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rustguard/rustguard/test/e2e/fleet"
)

const usage = `usage:
  fleet up [flags]     bring the local fleet up on loopback; Ctrl-C stops it (make fleet)
  fleet demo [flags]   honest and cheating players against the running fleet (make demo)
  fleet <command> -h   the flags of a command
`

// Exit statuses: 1 the command failed, 2 the command line is wrong.
const (
	exitFailed = 1
	exitUsage  = 2
)

// readyLine is printed once the fleet is up (tests wait for it).
const readyLine = "RustGuard fleet is up"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "up":
		err = up(args[1:], stdout)
	case "demo":
		err = demo(args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "fleet: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "fleet:", err)
		return exitUsage
	case err != nil:
		fmt.Fprintln(stderr, "fleet:", err)
		return exitFailed
	}
	return 0
}

var errUsage = errors.New("usage")

// paths are the programs and scripts, by default where `make` puts them
// under the repository root.
type paths struct {
	root                                      string
	edge, central, consul, jaeger, scriptsDir string
}

func (p *paths) register(fs *flag.FlagSet) {
	fs.StringVar(&p.root, "root", "", "repository root (default: the directory holding go.work above the working directory)")
	fs.StringVar(&p.edge, "edge-bin", "", "rustguard-edge (default <root>/bin/rustguard-edge)")
	fs.StringVar(&p.central, "central-bin", "", "rustguard-central (default <root>/bin/rustguard-central)")
	fs.StringVar(&p.consul, "consul-bin", "", "consul (default <root>/.tools/consul)")
	fs.StringVar(&p.jaeger, "jaeger-bin", "", "jaeger (default <root>/.tools/jaeger)")
	fs.StringVar(&p.scriptsDir, "scripts", "", "test/e2e: backend.js, honest.js, cheat.js and their node_modules (default <root>/test/e2e)")
}

func (p *paths) complete() error {
	if p.root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if p.root, err = findRoot(wd); err != nil {
			return err
		}
	}
	def := func(v *string, rel string) {
		if *v == "" {
			*v = filepath.Join(p.root, rel)
		}
	}
	def(&p.edge, "bin/rustguard-edge")
	def(&p.central, "bin/rustguard-central")
	def(&p.consul, ".tools/consul")
	def(&p.jaeger, ".tools/jaeger")
	def(&p.scriptsDir, "test/e2e")
	return nil
}

func findRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.work above %s: pass -root", dir)
		}
		d = parent
	}
}

// defaultRegions are the three regions: a player port each, and an
// admin port ten apart like the player ports.
const defaultRegions = "eu:25565:9565,us:25575:9575,ap:25585:9585"

// parseRegions reads "name:port:adminport,…" (0 for a free port).
func parseRegions(s string) ([]fleet.Region, error) {
	var out []fleet.Region
	for _, item := range strings.Split(s, ",") {
		parts := strings.Split(strings.TrimSpace(item), ":")
		if len(parts) != 3 || parts[0] == "" {
			return nil, fmt.Errorf("%w: -regions %q: want name:port:adminport,…", errUsage, s)
		}
		port, err1 := strconv.Atoi(parts[1])
		admin, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || port < 0 || port > 65535 || admin < 0 || admin > 65535 {
			return nil, fmt.Errorf("%w: -regions %q: ports must be numbers from 0 to 65535", errUsage, s)
		}
		out = append(out, fleet.Region{Name: parts[0], Port: port, AdminPort: admin})
	}
	return out, nil
}

func up(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fleet up", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var p paths
	p.register(fs)
	dir := fs.String("dir", "", "the fleet's directory: logs, data and the state file (default <root>/.fleet)")
	regions := fs.String("regions", defaultRegions, "an edge per region: name:port:adminport,… (0: a free port)")
	backendPort := fs.Int("backend-port", 25566, "flying-squid's port (0: a free port)")
	centralPort := fs.Int("central-port", 8080, "central's API port (0: a free port)")
	jaegerPort := fs.Int("jaeger-port", 16686, "Jaeger's query API port (0: a free port)")
	consulPort := fs.Int("consul-port", 8500, "Consul's HTTP port (0: a free port)")
	mcVersion := fs.String("mc-version", fleet.DefaultMCVersion, "the backend's Minecraft version")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, fs.Arg(0))
	}
	rs, err := parseRegions(*regions)
	if err != nil {
		return err
	}
	if err := p.complete(); err != nil {
		return err
	}
	if *dir == "" {
		*dir = filepath.Join(p.root, ".fleet")
	}
	if st, err := fleet.ReadState(*dir); err == nil && processAlive(st.PID) {
		return fmt.Errorf("a fleet (pid %d) already runs from %s: stop it first (Ctrl-C where it runs)", st.PID, *dir)
	}
	// The previous run's logs and data go (only those: -dir may name a
	// directory that holds other things); a fleet starts from nothing.
	for _, sub := range []string{"logs", "data", fleet.StateFile} {
		if err := os.RemoveAll(filepath.Join(*dir, sub)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(stdout, "starting the fleet: Consul, Redis, Jaeger, flying-squid, central, then the edges")
	f, err := fleet.Start(ctx, fleet.Options{
		Dir: *dir, EdgeBin: p.edge, CentralBin: p.central, ConsulBin: p.consul, JaegerBin: p.jaeger,
		ScriptsDir: p.scriptsDir, Regions: rs, CentralPort: *centralPort, JaegerQueryPort: *jaegerPort,
		ConsulPort: *consulPort, BackendPort: *backendPort, MCVersion: *mcVersion,
		BackendOpAll: true, AdminToken: os.Getenv("RUSTGUARD_ADMIN_TOKEN"), Progress: prefixed{stdout, "  "},
	})
	if err != nil {
		return err
	}
	st := f.State()
	if err := fleet.WriteState(*dir, st); err != nil {
		f.Stop()
		return err
	}
	printBanner(stdout, st, os.Getenv("RUSTGUARD_ADMIN_TOKEN") != "")
	<-ctx.Done()
	stop()
	fmt.Fprintln(stdout, "\nstopping the fleet")
	_ = fleet.RemoveState(*dir)
	f.Stop()
	fmt.Fprintf(stdout, "the fleet has stopped; logs are in %s\n", st.Logs)
	return nil
}

// operatorPage is where central serves its operator page.
const operatorPage = "/ui/"

func printBanner(w io.Writer, st fleet.State, tokenFromEnv bool) {
	api := st.Centrals[0]
	fmt.Fprintf(w, "\n%s (Ctrl-C stops everything it started)\n\n", readyLine)
	fmt.Fprintf(w, "  Minecraft %s: point a client at the edge of a region\n", st.MCVersion)
	for _, e := range st.Edges {
		_, port, _ := strings.Cut(e.Addr, ":")
		fmt.Fprintf(w, "    %-4s localhost:%-6s metrics http://%s/metrics\n", e.Region, port, e.Admin)
	}
	fmt.Fprintf(w, "  backend          flying-squid on %s (every player is an operator), in Consul as %q\n", st.Backend, fleet.BackendService)
	fmt.Fprintf(w, "  central API      %s   e.g. curl -H \"Authorization: Bearer $TOKEN\" %s/v1/fleet\n", api, api)
	fmt.Fprintf(w, "  operator page    %s%s\n", api, operatorPage)
	fmt.Fprintf(w, "  Jaeger query API %s/api/v3/services\n", st.JaegerQuery)
	fmt.Fprintf(w, "  Consul           http://%s/v1/catalog/services\n", st.Consul)
	fmt.Fprintf(w, "  Redis            %s\n", st.Redis)
	from := "generated; set RUSTGUARD_ADMIN_TOKEN to choose it"
	if tokenFromEnv {
		from = "from RUSTGUARD_ADMIN_TOKEN"
	}
	fmt.Fprintf(w, "  admin token      %s   (%s)\n", st.AdminToken, from)
	fmt.Fprintf(w, "  logs             %s\n\n", st.Logs)
	fmt.Fprintf(w, "  TOKEN=%s\n", st.AdminToken)
	fmt.Fprintf(w, "  make demo        honest and cheating players in every region\n\n")
}

// processAlive reports whether pid names a running process (signal 0
// checks without signalling).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// prefixed writes each write (a line) with a prefix.
type prefixed struct {
	w      io.Writer
	prefix string
}

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

package testservers

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
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

const (
	// consulStartTimeout bounds agent start to leader election; a dev agent
	// elects itself in about 0.5 s here (tools/README.md), a loaded CI
	// machine under -race needs more.
	consulStartTimeout = 30 * time.Second
	// consulPollInterval is how often start-up polls /v1/status/leader: the
	// agent offers no event to wait on.
	consulPollInterval = 25 * time.Millisecond
	// consulStopTimeout bounds waiting for a killed agent to exit.
	consulStopTimeout = 10 * time.Second
	// consulLogTail is how much of the agent's log a failed test prints.
	consulLogTail = 8 << 10
)

// Consul is a real Consul agent in dev mode (server and client in one
// process, in-memory state) on loopback ports of its own.
//
// Restart keeps the ports and configuration but, dev mode keeping no data,
// starts from an empty catalog whose Raft index begins again near zero: the
// "index went backwards" case of blocking queries, which watchers must
// survive. Tests re-register what they need after a Restart.
type Consul struct {
	t          testing.TB
	bin        string
	dir        string
	configPath string
	datacenter string
	node       string
	ports      consulPorts
	client     *api.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exits
}

type consulPorts struct {
	HTTP    int `json:"http"`
	SerfLAN int `json:"serf_lan"`
	SerfWAN int `json:"serf_wan"`
	Server  int `json:"server"`
	DNS     int `json:"dns"`
	GRPC    int `json:"grpc"`
	GRPCTLS int `json:"grpc_tls"`
	HTTPS   int `json:"https"`
}

// StartConsul runs a dev agent for datacenter and waits until it has a
// leader and has registered its own node. The binary is
// $RUSTGUARD_CONSUL_BIN or <repo>/.tools/consul; without it the test fails,
// because `make test` is expected to have built it. The agent is killed by
// PID when the test ends.
func StartConsul(t testing.TB, datacenter string) *Consul {
	t.Helper()
	bin := consulBinary(t)
	dir := t.TempDir()
	// A port picked free can be taken by another process before the agent
	// binds it (tests run packages in parallel): then the agent exits at
	// once, and we try again with fresh ports.
	var c *Consul
	for attempt := 0; ; attempt++ {
		free := freeLoopbackPorts(t, 4)
		c = &Consul{
			t:          t,
			bin:        bin,
			dir:        dir,
			configPath: filepath.Join(dir, "consul.json"),
			datacenter: datacenter,
			node:       fmt.Sprintf("node-%s-%d", datacenter, free[0]),
			ports: consulPorts{
				HTTP: free[0], SerfLAN: free[1], SerfWAN: free[2], Server: free[3],
				DNS: -1, GRPC: -1, GRPCTLS: -1, HTTPS: -1,
			},
		}
		cfg := map[string]any{
			"datacenter":           datacenter,
			"node_name":            c.node,
			"bind_addr":            "127.0.0.1",
			"client_addr":          "127.0.0.1",
			"ports":                c.ports,
			"log_level":            "warn",
			"disable_update_check": true,
			"connect":              map[string]any{"enabled": false},
			"ui_config":            map[string]any{"enabled": false},
		}
		raw, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			t.Fatalf("consul config: %v", err)
		}
		if err := os.WriteFile(c.configPath, raw, 0o600); err != nil {
			t.Fatalf("write consul config: %v", err)
		}
		acfg := api.DefaultNonPooledConfig()
		acfg.Address = c.HTTPAddr()
		acfg.Scheme = "http"
		acfg.Token = ""
		if c.client, err = api.NewClient(acfg); err != nil {
			t.Fatalf("consul client: %v", err)
		}
		if err := c.startOnce(); err == nil {
			break
		} else if attempt == consulStartAttempts-1 {
			t.Fatalf("consul %s: %v\n%s", datacenter, err, c.logTail())
		}
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("consul %s log tail:\n%s", datacenter, c.logTail())
		}
	})
	return c
}

// consulStartAttempts bounds retries after a port race at start.
const consulStartAttempts = 3

// HTTPAddr is the agent's HTTP API address (host:port), the value for
// CONSUL_HTTP_ADDR.
func (c *Consul) HTTPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ports.HTTP)) }

// Client is an API client for this agent.
func (c *Consul) Client() *api.Client { return c.client }

// Datacenter is the agent's datacenter.
func (c *Consul) Datacenter() string { return c.datacenter }

// NodeName is the agent's node name.
func (c *Consul) NodeName() string { return c.node }

// Stop kills the agent and waits for it to exit. It is idempotent.
func (c *Consul) Stop() {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.cmd = nil
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-done:
	case <-time.After(consulStopTimeout):
		c.t.Errorf("consul pid %d did not exit within %v", cmd.Process.Pid, consulStopTimeout)
	}
}

// Restart stops the agent and starts it again on the same ports with an
// empty catalog (see Consul).
func (c *Consul) Restart() {
	c.t.Helper()
	c.Stop()
	c.start()
}

// JoinWAN federates this agent's datacenter with other's and waits until
// each lists the other's datacenter.
func (c *Consul) JoinWAN(other *Consul) {
	c.t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(other.ports.SerfWAN))
	if err := c.client.Agent().Join(addr, true); err != nil {
		c.t.Fatalf("consul %s: join WAN %s: %v", c.datacenter, addr, err)
	}
	for _, pair := range [][2]*Consul{{c, other}, {other, c}} {
		a, b := pair[0], pair[1]
		c.poll("WAN join", func() (bool, error) {
			dcs, err := a.client.Catalog().Datacenters()
			if err != nil {
				return false, err
			}
			for _, dc := range dcs {
				if dc == b.datacenter {
					return true, nil
				}
			}
			return false, nil
		})
	}
}

func (c *Consul) start() {
	c.t.Helper()
	if err := c.startOnce(); err != nil {
		c.t.Fatalf("consul %s: %v\n%s", c.datacenter, err, c.logTail())
	}
}

// startOnce starts the agent and waits for its leader; an agent that exits
// while starting is an error (and nothing is left running).
func (c *Consul) startOnce() error {
	c.t.Helper()
	logf, err := os.OpenFile(filepath.Join(c.dir, "consul.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("consul log: %w", err)
	}
	cmd := exec.Command(c.bin, "agent", "-dev", "-config-file", c.configPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "CONSUL_HTTP_ADDR=", "CONSUL_HTTP_TOKEN=")
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start consul: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	c.mu.Lock()
	c.cmd, c.done = cmd, done
	c.mu.Unlock()

	var exited bool
	c.poll("leader", func() (bool, error) {
		select {
		case <-done:
			exited = true
			return true, nil
		default:
		}
		leader, err := c.client.Status().Leader()
		if err != nil || leader == "" {
			return false, nil
		}
		node, _, err := c.client.Catalog().Node(c.node, nil)
		return err == nil && node != nil, nil
	})
	if exited {
		return errors.New("agent exited while starting")
	}
	return nil
}

// poll calls cond every consulPollInterval until it is true, fails the test
// on an error or after consulStartTimeout.
func (c *Consul) poll(what string, cond func() (bool, error)) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), consulStartTimeout)
	defer cancel()
	tick := time.NewTicker(consulPollInterval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			c.t.Fatalf("consul %s: waiting for %s: %v\n%s", c.datacenter, what, err, c.logTail())
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("consul %s: no %s within %v\n%s", c.datacenter, what, consulStartTimeout, c.logTail())
		case <-tick.C:
		}
	}
}

func (c *Consul) logTail() string {
	b, err := os.ReadFile(filepath.Join(c.dir, "consul.log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > consulLogTail {
		b = b[len(b)-consulLogTail:]
	}
	return string(bytes.TrimSpace(b))
}

// consulBinary finds the agent binary or fails the test.
func consulBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("RUSTGUARD_CONSUL_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("RUSTGUARD_CONSUL_BIN=%s: %v", bin, err)
		}
		return bin
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("find repository root: %v", err)
	}
	bin := filepath.Join(root, ".tools", "consul")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("consul agent not found at %s: run make test (builds Consul into .tools/)", bin)
	}
	return bin
}

// repoRoot walks up from the working directory to the folder holding go.work.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory")
		}
		dir = parent
	}
}

// freeLoopbackPorts returns n distinct ports free for both TCP and UDP on
// 127.0.0.1 (Serf gossips over both). The sockets are held until all are
// chosen so the same port is not handed out twice.
func freeLoopbackPorts(t testing.TB, n int) []int {
	t.Helper()
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	ports := make([]int, 0, n)
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > 100*n {
			t.Fatalf("no free loopback ports")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		closers = append(closers, ln.Close)
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		closers = append(closers, pc.Close)
		ports = append(ports, port)
	}
	return ports
}

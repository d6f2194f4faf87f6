package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/shared/consulwatch"
	"github.com/rustguard/rustguard/shared/testservers"
)

// changeTimeout bounds how long a test waits for a Consul change to reach
// Candidates. Blocking queries return at once on a change, so anything near
// this limit is a bug; the measured latencies are logged.
const changeTimeout = 10 * time.Second

// startBackend is a TCP listener that accepts and closes connections: the
// edge only needs an address that answers.
func startBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return ln.Addr().String()
}

// registerBackend registers addr as an instance of service with a passing TTL
// check; the returned check ID fails or passes it.
func registerBackend(t *testing.T, c *api.Client, service, id, addr string, meta map[string]string) string {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portStr)
	checkID := "check-" + id
	reg := &api.AgentServiceRegistration{
		ID: id, Name: service, Address: host, Port: port, Meta: meta,
		Check: &api.AgentServiceCheck{CheckID: checkID, TTL: "1h", Status: api.HealthPassing},
	}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	return checkID
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestConsul(t *testing.T, o ConsulOptions) *Consul {
	t.Helper()
	if o.Log == nil {
		o.Log = quietLog()
	}
	c, err := NewConsul(o)
	if err != nil {
		t.Fatalf("NewConsul: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel()
	if err := c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor waits, driven by Changed, until cond holds, and returns how long
// it took.
func waitFor(t *testing.T, c *Consul, what string, cond func() bool) time.Duration {
	t.Helper()
	return waitForWithin(t, c, changeTimeout, what, cond)
}

func waitForWithin(t *testing.T, c *Consul, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ch := c.Changed()
		if cond() {
			return time.Since(start)
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: not within %v (state %+v)", what, timeout, c.State())
		}
	}
}

// candidatesAre reports whether Candidates(host, "") holds exactly want, in
// any order; want empty means ErrBackendUnavailable.
func candidatesAre(c *Consul, host string, want ...string) func() bool {
	return func() bool {
		got, err := c.Candidates(host, "")
		if len(want) == 0 {
			return errors.Is(err, ErrBackendUnavailable)
		}
		got = slices.Clone(got)
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		return err == nil && slices.Equal(got, w)
	}
}

func TestConsulWatchSeesRegistration(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	c := newTestConsul(t, ConsulOptions{Client: agent.Client(), DefaultService: "minecraft"})
	if _, err := c.Candidates("play.example.com", "x"); !errors.Is(err, ErrBackendUnavailable) {
		t.Fatalf("before registration: err = %v, want ErrBackendUnavailable", err)
	}
	if c.Reachable() {
		t.Fatal("Reachable with no instance")
	}
	addr := startBackend(t)
	start := time.Now()
	registerBackend(t, agent.Client(), "minecraft", "mc-1", addr, nil)
	waitFor(t, c, "registration visible", candidatesAre(c, "play.example.com", addr))
	t.Logf("registration → Candidates: %v", time.Since(start))
	if !c.Reachable() {
		t.Fatal("not Reachable with a passing instance")
	}
	st := c.State()
	if !st.ConsulReachable || st.LastUpdate.IsZero() || st.Services["minecraft"].Instances != 1 {
		t.Fatalf("state = %+v", st)
	}
}

func TestConsulRemovesInstance(t *testing.T) {
	tests := []struct {
		name   string
		remove func(t *testing.T, a *api.Client, id, checkID string)
	}{
		{"deregistered", func(t *testing.T, a *api.Client, id, _ string) {
			if err := a.Agent().ServiceDeregister(id); err != nil {
				t.Fatal(err)
			}
		}},
		{"check critical", func(t *testing.T, a *api.Client, _, checkID string) {
			if err := a.Agent().UpdateTTL(checkID, "down", api.HealthCritical); err != nil {
				t.Fatal(err)
			}
		}},
		{"maintenance", func(t *testing.T, a *api.Client, id, _ string) {
			if err := a.Agent().EnableServiceMaintenance(id, "test"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	agent := testservers.StartConsul(t, "dc1")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := "svc" + strconv.Itoa(i)
			c := newTestConsul(t, ConsulOptions{Client: agent.Client(), DefaultService: svc})
			a, b := startBackend(t), startBackend(t)
			registerBackend(t, agent.Client(), svc, svc+"-a", a, nil)
			checkB := registerBackend(t, agent.Client(), svc, svc+"-b", b, nil)
			waitFor(t, c, "both instances", candidatesAre(c, "h", a, b))

			start := time.Now()
			tt.remove(t, agent.Client(), svc+"-b", checkB)
			waitFor(t, c, "instance removed", candidatesAre(c, "h", a))
			t.Logf("%s → gone from Candidates: %v", tt.name, time.Since(start))
		})
	}
}

// registerClaimant registers addr as an instance of service that claims
// hosts (comma-separated) through MetaHostsKey, with tags.
func registerClaimant(t *testing.T, c *api.Client, service, id, addr, hosts string, tags ...string) {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portStr)
	reg := &api.AgentServiceRegistration{
		ID: id, Name: service, Address: host, Port: port, Tags: tags,
		Meta: map[string]string{MetaHostsKey: hosts},
	}
	if err := c.Agent().ServiceRegister(reg); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

// syncBuffer is a log destination for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// routeCase is one expected routing answer: the single backend want, or
// the error wantErr.
type routeCase struct {
	host    string
	want    string
	wantErr error
}

// routesAre reports whether every case holds; when not, the first that
// does not, for the failure message.
func routesAre(c *Consul, cases []routeCase) (bool, string) {
	for _, rc := range cases {
		got, err := c.Candidates(rc.host, "player")
		if rc.wantErr != nil {
			if !errors.Is(err, rc.wantErr) {
				return false, fmt.Sprintf("Candidates(%q) = %v, %v; want %v", rc.host, got, err, rc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, []string{rc.want}) {
			return false, fmt.Sprintf("Candidates(%q) = %v, %v; want [%s]", rc.host, got, err, rc.want)
		}
	}
	return true, ""
}

// waitRoutes waits until every case holds (watchers publish one service at
// a time, so intermediate tables differ) and fails with the first that does
// not.
func waitRoutes(t *testing.T, c *Consul, cases []routeCase) {
	t.Helper()
	deadline := time.NewTimer(changeTimeout)
	defer deadline.Stop()
	for {
		ch := c.Changed()
		ok, why := routesAre(c, cases)
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("routing not as expected within %v: %s (state %+v)", changeTimeout, why, c.State())
		}
	}
}

// TestConsulRouting: routes first, then hosts the default service declares,
// then claims of allowed services only, then the default pool. A service
// the configuration does not allow to claim hosts is ignored however early
// its name sorts; a host two allowed services claim goes to neither.
func TestConsulRouting(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	a := agent.Client()
	mc, lobby, events, grab, x, y, plain, rogue := startBackend(t), startBackend(t), startBackend(t), startBackend(t),
		startBackend(t), startBackend(t), startBackend(t), startBackend(t)
	registerClaimant(t, a, "minecraft", "mc-1", mc, "home.example.com")
	registerBackend(t, a, "lobby", "lobby-1", lobby, nil)
	// Allowed claimants (prefix "mc-"); all but mc-plain carry the tag.
	registerClaimant(t, a, "mc-events", "events-1", events, "events.example.com, Party.Example.com", "rustguard")
	registerClaimant(t, a, "mc-grab", "grab-1", grab,
		"play.example.com,lobby.example.com,home.example.com,grab.example.com", "rustguard")
	registerClaimant(t, a, "mc-x", "x-1", x, "both.example.com", "rustguard")
	registerClaimant(t, a, "mc-y", "y-1", y, "both.example.com", "rustguard")
	registerClaimant(t, a, "mc-plain", "plain-1", plain, "plain.example.com")
	// Not allowed, sorting before every allowed service, carrying the tag:
	// it must not get any host, contested or free.
	registerClaimant(t, a, "aaa-rogue", "rogue-1", rogue,
		"events.example.com,play.example.com,home.example.com,free.example.com,both.example.com", "rustguard")

	routes := map[string]string{"play.example.com": "minecraft", "Lobby.Example.com": "lobby"}
	configs := []struct {
		name    string
		o       ConsulOptions
		watched []string // the claimants each edge must have heard of
		cases   []routeCase
	}{
		{"prefix", ConsulOptions{Routes: routes, DefaultService: "minecraft", ClaimPrefix: "mc-"},
			[]string{"mc-events", "mc-grab", "mc-x", "mc-y", "mc-plain"}, []routeCase{
				{host: "play.example.com", want: mc},
				{host: "LOBBY.example.com.", want: lobby},
				{host: "events.example.com", want: events},
				{host: "party.example.com", want: events},
				{host: "grab.example.com", want: grab},
				{host: "plain.example.com", want: plain},
				{host: "home.example.com", want: mc}, // the default service declares it
				{host: "both.example.com", want: mc}, // contested: neither claimant
				{host: "free.example.com", want: mc}, // only the rogue claims it
				{host: "nowhere.example.com", want: mc},
			}},
		{"prefix and tag, no default", ConsulOptions{Routes: routes, ClaimPrefix: "mc-", ClaimTag: "rustguard"},
			[]string{"mc-events", "mc-grab", "mc-x", "mc-y"}, []routeCase{
				{host: "play.example.com", want: mc},
				{host: "events.example.com", want: events},
				{host: "grab.example.com", want: grab},
				{host: "home.example.com", want: grab}, // no default pool to keep it
				{host: "plain.example.com", wantErr: ErrUnknownHost},
				{host: "both.example.com", wantErr: ErrUnknownHost},
				{host: "free.example.com", wantErr: ErrUnknownHost},
				{host: "nowhere.example.com", wantErr: ErrUnknownHost},
			}},
	}
	consuls := map[string]*Consul{}
	logs := map[string]*syncBuffer{}
	for _, cfg := range configs {
		o := cfg.o
		o.Client = a
		logs[cfg.name] = &syncBuffer{}
		o.Log = slog.New(slog.NewTextHandler(logs[cfg.name], &slog.HandlerOptions{Level: slog.LevelWarn}))
		c := newTestConsul(t, o) // outlives the subtest: used again below
		consuls[cfg.name] = c
		t.Run(cfg.name, func(t *testing.T) {
			// Every claimant first, so that a host going to the default pool
			// is the rule at work, not a claimant not heard of yet.
			waitFor(t, c, "claimants watched", func() bool {
				svcs := c.State().Services
				for _, name := range cfg.watched {
					if svcs[name].Instances == 0 {
						return false
					}
				}
				return true
			})
			waitRoutes(t, c, cfg.cases)
			if st := c.State(); st.ClaimsNotAllowed != 1 || st.ClaimsOverCap != 0 {
				t.Errorf("state = %+v, want one service not allowed (aaa-rogue)", st)
			}
			// Each decision is logged at warn, naming the services.
			log := logs[cfg.name].String()
			for _, want := range []string{
				`msg="several services claim one host`, `host=both.example.com claimants="[mc-x mc-y]"`,
				`msg="ignoring host claims of services the configuration does not allow`, `first=[aaa-rogue]`,
				`msg="ignoring a host claim: discovery.routes sends it to minecraft"`, `host=play.example.com claimants=[mc-grab]`,
			} {
				if !strings.Contains(log, want) {
					t.Errorf("no warning with %s in the log:\n%s", want, log)
				}
			}
		})
	}

	// Without host_claim_prefix or host_claim_tag, metadata routes nothing.
	t.Run("no claims allowed", func(t *testing.T) {
		c := newTestConsul(t, ConsulOptions{Client: a, Routes: routes, DefaultService: "minecraft"})
		waitRoutes(t, c, []routeCase{{host: "lobby.example.com", want: lobby}})
		for _, h := range []string{"events.example.com", "grab.example.com", "free.example.com"} {
			if ok, why := routesAre(c, []routeCase{{host: h, want: mc}}); !ok {
				t.Error(why)
			}
		}
		if _, ok := c.State().Services["aaa-rogue"]; ok {
			t.Error("a service was watched for its claims although none are allowed")
		}
	})

	// A claimed host disappears with the last instance claiming it.
	c := consuls["prefix"]
	if err := a.Agent().ServiceDeregister("events-1"); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, c, []routeCase{{host: "events.example.com", want: mc}})
	// And a host stops being contested when one claimant leaves.
	if err := a.Agent().ServiceDeregister("y-1"); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, c, []routeCase{{host: "both.example.com", want: x}})
}

// TestConsulClaimCapFiltersFirst: services that may not claim hosts do not
// count towards the cap on watched claimants, however many there are and
// however early they sort; allowed ones over the cap are counted.
func TestConsulClaimCapFiltersFirst(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	a := agent.Client()
	events := startBackend(t)
	other := startBackend(t)
	for i := range maxDiscoveredServices + 6 {
		registerClaimant(t, a, fmt.Sprintf("aa-%03d", i), fmt.Sprintf("aa-%03d-1", i), other, fmt.Sprintf("h%d.example.com", i))
	}
	registerClaimant(t, a, "mc-events", "events-1", events, "events.example.com")
	c := newTestConsul(t, ConsulOptions{Client: a, ClaimPrefix: "mc-", NoFailover: true})
	waitRoutes(t, c, []routeCase{{host: "events.example.com", want: events}, {host: "h0.example.com", wantErr: ErrUnknownHost}})
	if st := c.State(); st.ClaimsNotAllowed != maxDiscoveredServices+6 || st.ClaimsOverCap != 0 {
		t.Fatalf("state: %d not allowed, %d over the cap; want %d and 0", st.ClaimsNotAllowed, st.ClaimsOverCap, maxDiscoveredServices+6)
	}

	// More allowed claimants than the cap: the first by name are watched,
	// the rest counted (and logged) as left out.
	for i := range maxDiscoveredServices {
		registerClaimant(t, a, fmt.Sprintf("mc-%03d", i), fmt.Sprintf("mc-%03d-1", i), other, fmt.Sprintf("m%d.example.com", i))
	}
	waitFor(t, c, "allowed claimants over the cap counted", func() bool { return c.State().ClaimsOverCap == 1 })
	waitRoutes(t, c, []routeCase{{host: "m0.example.com", want: other}, {host: "m63.example.com", want: other}})
	// "mc-events" sorts after "mc-063": it is the one left out.
	if _, err := c.Candidates("events.example.com", ""); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("events.example.com: err = %v, want ErrUnknownHost (its claimant is over the cap)", err)
	}
}

func TestConsulLeastConnectionsAndStableChoice(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	c := newTestConsul(t, ConsulOptions{Client: agent.Client(), DefaultService: "minecraft"})
	addrs := []string{startBackend(t), startBackend(t), startBackend(t)}
	for i, a := range addrs {
		registerBackend(t, agent.Client(), "minecraft", "mc-"+strconv.Itoa(i), a, nil)
	}
	waitFor(t, c, "three instances", candidatesAre(c, "h", addrs...))

	// Without a player key: fewest connections first.
	for range 3 {
		c.Acquire(addrs[0])
	}
	c.Acquire(addrs[1])
	got, err := c.Candidates("h", "")
	if err != nil || !slices.Equal(got, []string{addrs[2], addrs[1], addrs[0]}) {
		t.Fatalf("by load (3,1,0): %v, %v; want %v", got, err, []string{addrs[2], addrs[1], addrs[0]})
	}
	for range 3 {
		c.Release(addrs[0])
	}
	c.Release(addrs[1])
	for range 2 {
		c.Acquire(addrs[2])
	}
	if got, _ := c.Candidates("h", ""); got[len(got)-1] != addrs[2] {
		t.Fatalf("after Release/Acquire the busiest should be last: %v", got)
	}
	for range 2 {
		c.Release(addrs[2])
	}

	// With a key: the same first choice every time, also for a reconnect
	// after other players came and went.
	first, _ := c.Candidates("h", "Notch")
	c.Acquire(first[0])
	c.Release(first[0])
	for range 5 {
		if again, _ := c.Candidates("h", "Notch"); again[0] != first[0] {
			t.Fatalf("stable choice moved: %s → %s", first[0], again[0])
		}
	}
	// Unless that instance is far busier than the rest.
	for range 20 {
		c.Acquire(first[0])
	}
	if busy, _ := c.Candidates("h", "Notch"); busy[0] == first[0] {
		t.Fatalf("an overloaded stable choice should give way: %v", busy)
	}
}

func TestConsulDialFailureGoesLast(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	c := newTestConsul(t, ConsulOptions{Client: agent.Client(), DefaultService: "minecraft", DialTimeout: time.Second})
	up := startBackend(t)
	// An address nothing listens on: dials are refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	_ = ln.Close()
	registerBackend(t, agent.Client(), "minecraft", "up", up, nil)
	registerBackend(t, agent.Client(), "minecraft", "down", down, nil)
	waitFor(t, c, "two instances", candidatesAre(c, "h", up, down))

	key := ""
	for i := range 1000 {
		k := "p" + strconv.Itoa(i)
		if got, _ := c.Candidates("h", k); got[0] == down {
			key = k
			break
		}
	}
	// What the login path does: try candidates in order until one answers.
	cands, _ := c.Candidates("h", key)
	var conn net.Conn
	var dialErrs []error
	for _, a := range cands {
		if conn, err = c.Dial(context.Background(), a); err == nil {
			break
		}
		dialErrs = append(dialErrs, err)
	}
	if conn == nil {
		t.Fatalf("no candidate answered: %v", dialErrs)
	}
	_ = conn.Close()
	if len(dialErrs) != 1 || !errors.Is(dialErrs[0], ErrBackendUnavailable) {
		t.Fatalf("dial errors = %v, want one ErrBackendUnavailable for the refused instance", dialErrs)
	}
	if got, _ := c.Candidates("h", key); got[0] != up {
		t.Fatalf("refused instance should go last for a while: %v", got)
	}
}

func TestConsulOutageKeepsLastGoodAndRecovers(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	c := newTestConsul(t, ConsulOptions{Client: agent.Client(), DefaultService: "minecraft"})
	before := startBackend(t)
	registerBackend(t, agent.Client(), "minecraft", "mc-1", before, nil)
	waitFor(t, c, "instance", candidatesAre(c, "h", before))

	agent.Stop()
	waitFor(t, c, "outage noticed", func() bool { return !c.State().ConsulReachable })
	if !candidatesAre(c, "h", before)() || !c.Reachable() {
		t.Fatal("the last good pool must survive a Consul outage")
	}
	lastOK := c.State().LastUpdate

	// A dev agent comes back empty, with its index back near zero.
	start := time.Now()
	agent.Restart()
	after := startBackend(t)
	registerBackend(t, agent.Client(), "minecraft", "mc-2", after, nil)
	// Retries back off exponentially while the agent is down, so the next
	// attempt may come up to consulwatch.BackoffMax after it is back.
	took := waitForWithin(t, c, consulwatch.BackoffMax+changeTimeout, "watch recovered", func() bool {
		return c.State().ConsulReachable && candidatesAre(c, "h", after)()
	})
	t.Logf("recovered %v after the restart began (%v after re-registration wait)", time.Since(start), took)
	if !c.State().LastUpdate.After(lastOK) {
		t.Fatal("LastUpdate did not move after recovery")
	}
}

func TestConsulFailoverToOtherDatacenter(t *testing.T) {
	dc1 := testservers.StartConsul(t, "dc1")
	dc2 := testservers.StartConsul(t, "dc2")
	dc1.JoinWAN(dc2)
	// The edge starts while no datacenter has an instance: the failover
	// query finds nothing, and is polled while the local pool stays empty.
	c := newTestConsul(t, ConsulOptions{Client: dc1.Client(), DefaultService: "minecraft"})
	if _, err := c.Candidates("h", ""); !errors.Is(err, ErrBackendUnavailable) {
		t.Fatalf("no instance anywhere: err = %v", err)
	}
	remote := startBackend(t)
	registerBackend(t, dc2.Client(), "minecraft", "mc-dc2", remote, nil)
	took := waitFor(t, c, "failover to dc2", candidatesAre(c, "h", remote))
	t.Logf("instance registered in dc2 → used by the dc1 edge: %v (poll interval %v)", took, failoverPollInterval)
	st := c.State().Services["minecraft"]
	if !st.Failover || st.Datacenter != "dc2" || st.Instances != 1 {
		t.Fatalf("state = %+v, want 1 failover instance in dc2", st)
	}
	if !c.Reachable() {
		t.Fatal("failover instance should make the edge reachable")
	}

	// The query exists by its documented name and is idempotent on restart.
	defs, _, err := dc1.Client().PreparedQuery().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range defs {
		if d.Name == QueryName("minecraft") {
			n++
			if !d.Service.OnlyPassing || d.Service.Failover.NearestN != defaultFailoverNearestN {
				t.Fatalf("query definition = %+v", d.Service)
			}
		}
	}
	c2 := newTestConsul(t, ConsulOptions{Client: dc1.Client(), DefaultService: "minecraft"})
	waitFor(t, c2, "second edge fails over too", candidatesAre(c2, "h", remote))
	defs, _, _ = dc1.Client().PreparedQuery().List(nil)
	for _, d := range defs {
		if d.Name == QueryName("minecraft") {
			n--
		}
	}
	if n != 0 {
		t.Fatalf("prepared query count changed across edges (%d)", n)
	}

	// A local instance takes over again.
	local := startBackend(t)
	registerBackend(t, dc1.Client(), "minecraft", "mc-dc1", local, nil)
	waitFor(t, c, "back to local", candidatesAre(c, "h", local))
	if st := c.State().Services["minecraft"]; st.Failover || st.Datacenter != "" {
		t.Fatalf("state = %+v, want local", st)
	}
}

// TestConsulFailoverRewritesForeignQuery: a failover query that someone
// else created under the edge's name with extra filters (here
// IgnoreCheckIDs, which makes a failing instance count as passing) is
// rewritten before use, so it cannot send players to that instance.
func TestConsulFailoverRewritesForeignQuery(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	a := agent.Client()
	bad := startBackend(t)
	check := registerBackend(t, a, "minecraft", "mc-bad", bad, nil)
	if err := a.Agent().UpdateTTL(check, "down", api.HealthCritical); err != nil {
		t.Fatal(err)
	}
	foreign := &api.PreparedQueryDefinition{
		Name: QueryName("minecraft"),
		Service: api.ServiceQuery{
			Service: "minecraft", OnlyPassing: true,
			Failover:       api.QueryFailoverOptions{NearestN: defaultFailoverNearestN},
			IgnoreCheckIDs: []string{check},
		},
	}
	if _, _, err := a.PreparedQuery().Create(foreign, nil); err != nil {
		t.Fatal(err)
	}
	// The watcher's first answer runs the failover query (the local pool
	// is empty) before WaitSynced returns.
	c := newTestConsul(t, ConsulOptions{Client: a, DefaultService: "minecraft"})
	if got, err := c.Candidates("h", ""); !errors.Is(err, ErrBackendUnavailable) {
		t.Fatalf("Candidates = %v, %v; want ErrBackendUnavailable (the only instance is critical)", got, err)
	}
	defs, _, err := a.PreparedQuery().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Name == QueryName("minecraft") && len(d.Service.IgnoreCheckIDs) != 0 {
			t.Fatalf("failover query still ignores checks %v", d.Service.IgnoreCheckIDs)
		}
	}
}

// TestConsulFailoverQueryRecreated: a failover query deleted while the edge
// runs (by hand, or with a session someone tied it to) is created again at
// the next failover poll, not only when the edge restarts.
func TestConsulFailoverQueryRecreated(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	a := agent.Client()
	newTestConsul(t, ConsulOptions{Client: a, DefaultService: "minecraft"})
	queryID := func() string {
		defs, _, err := a.PreparedQuery().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range defs {
			if d.Name == QueryName("minecraft") {
				return d.ID
			}
		}
		return ""
	}
	id := queryID()
	if id == "" {
		t.Fatal("no failover query after the first answer")
	}
	if _, err := a.PreparedQuery().Delete(id, nil); err != nil {
		t.Fatal(err)
	}
	// Prepared queries have no blocking read: poll. One poll interval runs
	// the query and fails, the next creates it again.
	start := time.Now()
	deadline := start.Add(3*failoverPollInterval + changeTimeout)
	for queryID() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("failover query not recreated within %v", deadline.Sub(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("failover query recreated %v after it was deleted", time.Since(start))
}

func TestRegisterEdge(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	ready := httpReadyz(t)
	reg, err := Register(context.Background(), RegistrationOptions{
		Client: agent.Client(), Region: "eu-west", InstanceID: "edge-1", ListenAddr: "0.0.0.0:25565",
		AdminAddr: ready, Version: "v1.2.3", TTL: 3 * time.Second, CheckInterval: time.Second, Log: quietLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })

	svc, _, err := agent.Client().Agent().Service("edge-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := map[string]string{"region": "eu-west", "instance": "edge-1", "listen": "0.0.0.0:25565", "version": "v1.2.3"}
	if svc.Service != EdgeServiceName || svc.Port != 25565 || !maps.Equal(svc.Meta, wantMeta) || !slices.Contains(svc.Tags, "edge") {
		t.Fatalf("registered service = %+v", svc)
	}
	checks, err := agent.Client().Agent().ChecksWithFilter(`ServiceID == "edge-1"`)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ch := range checks {
		types = append(types, ch.Type)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"http", "ttl"}) {
		t.Fatalf("check types = %v, want http and ttl", types)
	}

	// Both checks pass: the edge is listed as healthy, and stays so past
	// the TTL because the heartbeat keeps passing it.
	start := time.Now()
	waitHealth(t, agent.Client(), func(entries []*api.ServiceEntry) bool { return len(entries) == 1 })
	t.Logf("edge healthy in catalog after %v", time.Since(start))
	waitHealth(t, agent.Client(), func([]*api.ServiceEntry) bool { return time.Since(start) > 2*reg.ttl })
	if entries, _, _ := agent.Client().Health().Service(EdgeServiceName, "", true, nil); len(entries) != 1 {
		t.Fatalf("edge not healthy after %v: heartbeat not passing the TTL", 2*reg.ttl)
	}

	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	services, err := agent.Client().Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := services["edge-1"]; ok {
		t.Fatal("edge still registered after Close")
	}
}

func TestRegisterEdgeCrashGoesCritical(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	reg, err := Register(context.Background(), RegistrationOptions{
		Client: agent.Client(), InstanceID: "edge-crash", AdminAddr: httpReadyz(t),
		TTL: time.Second, CheckInterval: time.Second, Log: quietLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	waitHealth(t, agent.Client(), func(entries []*api.ServiceEntry) bool { return len(entries) == 1 })
	// A crashed edge stops passing its TTL; the agent marks it critical (and
	// reaps it after deregisterCriticalAfter, too slow to wait for here).
	reg.stopHeartbeat()
	start := time.Now()
	waitHealth(t, agent.Client(), func(entries []*api.ServiceEntry) bool { return len(entries) == 0 })
	t.Logf("stopped heartbeat → critical after %v (TTL %v)", time.Since(start), reg.ttl)
}

// waitHealth follows the passing instances of the edge service with
// blocking queries until cond holds.
func waitHealth(t *testing.T, a *api.Client, cond func([]*api.ServiceEntry) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel()
	var index uint64
	for {
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: time.Second}).WithContext(ctx)
		entries, meta, err := a.Health().Service(EdgeServiceName, "", true, q)
		if err != nil {
			t.Fatalf("waiting for edge health: %v", err)
		}
		if cond(entries) {
			return
		}
		index = meta.LastIndex
	}
}

func httpReadyz(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

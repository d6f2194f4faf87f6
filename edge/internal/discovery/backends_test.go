package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func testPool(addrs ...string) []backend {
	out := make([]backend, len(addrs))
	for i, a := range addrs {
		out[i] = backend{addr: a, stats: &backendStats{}}
	}
	return out
}

func setLoads(p []backend, loads ...int64) {
	for i, l := range loads {
		p[i].stats.conns.Store(l)
	}
}

// keyFor finds a player key whose stable choice in p is want.
func keyFor(t *testing.T, p []backend, want string) string {
	t.Helper()
	for i := range 10000 {
		k := fmt.Sprintf("player%d", i)
		if rank(p, k, 0)[0] == want {
			return k
		}
	}
	t.Fatalf("no key prefers %s", want)
	return ""
}

func TestRankLeastConnections(t *testing.T) {
	tests := []struct {
		name  string
		loads []int64
		want  []string
	}{
		{"fewest first", []int64{5, 1, 3}, []string{"b:1", "c:1", "a:1"}},
		{"all equal keeps every backend", []int64{2, 2, 2}, nil},
		{"one idle", []int64{9, 0, 9}, []string{"b:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPool("a:1", "b:1", "c:1")
			setLoads(p, tt.loads...)
			got := rank(p, "", 0)
			if len(got) != len(p) {
				t.Fatalf("rank returned %v, want all %d backends", got, len(p))
			}
			if !slices.Equal(got[:len(tt.want)], tt.want) {
				t.Fatalf("rank = %v, want prefix %v", got, tt.want)
			}
			for i := 1; i < len(got); i++ {
				if loadOf(p, got[i-1]) > loadOf(p, got[i]) {
					t.Fatalf("rank = %v not ordered by load", got)
				}
			}
		})
	}
}

func loadOf(p []backend, addr string) int64 {
	for _, b := range p {
		if b.addr == addr {
			return b.stats.conns.Load()
		}
	}
	return -1
}

func TestRankStableChoice(t *testing.T) {
	p := testPool("a:1", "b:1", "c:1", "d:1")
	first := rank(p, "Notch", 0)[0]
	for range 10 {
		if got := rank(p, "Notch", 0)[0]; got != first {
			t.Fatalf("stable choice moved from %s to %s", first, got)
		}
	}
	// Removing another instance must not move the player (rendezvous).
	var rest []backend
	dropped := 0
	for _, b := range p {
		if b.addr != first && dropped < 2 {
			dropped++
			continue
		}
		rest = append(rest, b)
	}
	if got := rank(rest, "Notch", 0)[0]; got != first {
		t.Fatalf("after removing other instances the choice moved from %s to %s", first, got)
	}
	// Many keys spread over every instance.
	seen := map[string]int{}
	for i := range 400 {
		seen[rank(p, fmt.Sprintf("player%d", i), 0)[0]]++
	}
	for _, b := range p {
		if seen[b.addr] < 50 {
			t.Fatalf("uneven spread over instances: %v", seen)
		}
	}
}

func TestRankBoundedLoad(t *testing.T) {
	tests := []struct {
		name       string
		loads      []int64 // for a:1, b:1, c:1
		keepSticky bool
	}{
		{"idle pool", []int64{0, 0, 0}, true},
		{"one more than the others", []int64{1, 0, 0}, true},
		{"within 25% of the average", []int64{11, 10, 10}, true},
		{"far above the average", []int64{20, 5, 5}, false},
		{"only it is loaded", []int64{10, 0, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPool("a:1", "b:1", "c:1")
			key := keyFor(t, p, "a:1")
			setLoads(p, tt.loads...)
			got := rank(p, key, 0)
			if (got[0] == "a:1") != tt.keepSticky {
				t.Fatalf("loads %v: rank = %v, sticky kept = %t, want %t", tt.loads, got, got[0] == "a:1", tt.keepSticky)
			}
			if !tt.keepSticky && loadOf(p, got[0]) != slices.Min(tt.loads) {
				t.Fatalf("loads %v: overloaded sticky choice should give way to the least loaded, got %v", tt.loads, got)
			}
		})
	}
}

func TestRankPenalizedLast(t *testing.T) {
	p := testPool("a:1", "b:1", "c:1")
	key := keyFor(t, p, "a:1")
	now := time.Now().UnixNano()
	p[0].stats.failedUntil.Store(now + int64(time.Second))
	for _, k := range []string{key, ""} {
		got := rank(p, k, now)
		if got[len(got)-1] != "a:1" {
			t.Fatalf("key %q: a backend that refused a dial should go last, got %v", k, got)
		}
	}
	// Once the penalty expires it is the stable choice again.
	if got := rank(p, key, now+int64(2*time.Second)); got[0] != "a:1" {
		t.Fatalf("after the penalty: %v", got)
	}
}

func TestRendezvousSeparatesKeyAndAddr(t *testing.T) {
	if rendezvous("ab", "c") == rendezvous("a", "bc") {
		t.Fatal("key and address must not run together")
	}
}

// TestOutageResetsOtherWatchersIndex covers the watcher that was between two
// requests while the agent restarted: it never sees an error itself, so it
// must learn from the watcher that did that its index may be stale (the CI
// failure of TestConsulOutageKeepsLastGoodAndRecovers: parked for the whole
// WaitTime on a fresh agent whose index was lower).
func TestOutageResetsOtherWatchersIndex(t *testing.T) {
	c := &Consul{
		log:     quietLog(),
		wait:    time.Second,
		failing: make(map[string]bool),
		notify:  make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sent := make(chan uint64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.blockingLoop(ctx, "quiet watcher", func(ctx context.Context, index uint64, _ time.Duration) (uint64, error) {
			select {
			case sent <- index:
			case <-ctx.Done():
			}
			return 100, nil
		})
	}()
	next := func() uint64 {
		t.Helper()
		select {
		case i := <-sent:
			return i
		case <-time.After(10 * time.Second):
			t.Fatal("the loop stopped asking")
			return 0
		}
	}
	if i := next(); i != 0 {
		t.Fatalf("first request index = %d, want 0", i)
	}
	if i := next(); i != 100 {
		t.Fatalf("second request index = %d, want the answer's 100", i)
	}
	// Another watcher fails meanwhile. The loop may already be inside its
	// next request (which then carries 100); the one after must re-read.
	c.setFailing(ctx, "other watcher", errors.New("connection refused"))
	i := next()
	if i == 100 {
		i = next()
	}
	if i != 1 {
		t.Fatalf("request after another watcher's error: index %d, want 1 (re-read at once)", i)
	}
	if i := next(); i != 100 {
		t.Fatalf("after the re-read: index %d, want 100 again", i)
	}
	cancel()
	<-done
}

func TestParseHosts(t *testing.T) {
	long := string(make([]byte, maxHostLen+1))
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"play.example.com", []string{"play.example.com"}},
		{" Play.Example.COM. , lobby.example.com,,", []string{"play.example.com", "lobby.example.com"}},
		{"a," + long + ",b", []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := parseHosts(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("parseHosts(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	many := ""
	for i := range maxHostsPerInstance + 10 {
		many += fmt.Sprintf("h%d,", i)
	}
	if got := parseHosts(many); len(got) != maxHostsPerInstance {
		t.Errorf("parseHosts kept %d hosts, want the cap %d", len(got), maxHostsPerInstance)
	}
}

func TestEntryAddr(t *testing.T) {
	node := &api.Node{Address: "10.0.0.1", TaggedAddresses: map[string]string{"wan": "203.0.113.1"}}
	tests := []struct {
		name   string
		e      *api.ServiceEntry
		remote bool
		want   string
		ok     bool
	}{
		{"service address", &api.ServiceEntry{Node: node, Service: &api.AgentService{Address: "10.0.0.2", Port: 25565}}, false, "10.0.0.2:25565", true},
		{"node address fallback", &api.ServiceEntry{Node: node, Service: &api.AgentService{Port: 25565}}, false, "10.0.0.1:25565", true},
		{"remote prefers node wan when service has none", &api.ServiceEntry{Node: node, Service: &api.AgentService{Port: 25565}}, true, "203.0.113.1:25565", true},
		{"remote prefers service wan", &api.ServiceEntry{Node: node, Service: &api.AgentService{Address: "10.0.0.2", Port: 25565,
			TaggedAddresses: map[string]api.ServiceAddress{"wan": {Address: "198.51.100.2", Port: 30000}}}}, true, "198.51.100.2:30000", true},
		{"ipv6", &api.ServiceEntry{Node: node, Service: &api.AgentService{Address: "2001:db8::1", Port: 25565}}, false, "[2001:db8::1]:25565", true},
		{"no port", &api.ServiceEntry{Node: node, Service: &api.AgentService{Address: "10.0.0.2"}}, false, "", false},
		{"no service", &api.ServiceEntry{Node: node}, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := entryAddr(tt.e, tt.remote)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("entryAddr = %q, %t; want %q, %t", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRegistrationAddresses(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"127.0.0.1:9565", "http://127.0.0.1:9565/readyz"},
		{":9565", "http://127.0.0.1:9565/readyz"},
		{"0.0.0.0:9565", "http://127.0.0.1:9565/readyz"},
		{"[::]:9565", "http://127.0.0.1:9565/readyz"},
		{"[2001:db8::1]:9565", "http://[2001:db8::1]:9565/readyz"},
	} {
		if got, err := readyzURL(tt.in); err != nil || got != tt.want {
			t.Errorf("readyzURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := readyzURL("no-port"); err == nil {
		t.Error("readyzURL accepted an address without port")
	}
	for _, tt := range []struct {
		in   string
		host string
		port int
	}{
		{"0.0.0.0:25565", "", 25565},
		{"192.0.2.7:25565", "192.0.2.7", 25565},
		{"", "", 0},
	} {
		h, p, err := serviceAddress(tt.in)
		if err != nil || h != tt.host || p != tt.port {
			t.Errorf("serviceAddress(%q) = %q, %d, %v", tt.in, h, p, err)
		}
	}
}

func TestStaticCandidates(t *testing.T) {
	s := NewStatic("127.0.0.1:25566", time.Second, nil, nil)
	got, err := s.Candidates("anything.example.com", "Notch")
	if err != nil || !slices.Equal(got, []string{"127.0.0.1:25566"}) {
		t.Fatalf("Candidates = %v, %v", got, err)
	}
	s.Acquire(got[0])
	s.Release(got[0])
}

// tableConsul is a Consul with a hand-made routing table and no watchers,
// for tests and benchmarks of the read path.
func tableConsul(routes map[string][]string, def string) *Consul {
	c := &Consul{stats: map[string]*backendStats{}}
	t := &table{byHost: map[string]*pool{}}
	pools := map[string]*pool{}
	for host, addrs := range routes {
		p := &pool{service: host, backends: testPool(addrs...)}
		pools[host] = p
		t.byHost[host] = p
		t.healthy = t.healthy || len(addrs) > 0
	}
	if def != "" {
		t.def = pools[def]
	}
	c.table.Store(t)
	return c
}

func TestCandidatesErrors(t *testing.T) {
	c := tableConsul(map[string][]string{"play.example.com": {"a:1"}, "empty.example.com": nil}, "")
	if _, err := c.Candidates("nowhere.example.com", "x"); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("unknown host: err = %v, want ErrUnknownHost", err)
	}
	if _, err := c.Candidates("empty.example.com", "x"); !errors.Is(err, ErrBackendUnavailable) {
		t.Fatalf("empty pool: err = %v, want ErrBackendUnavailable", err)
	}
	if got, err := c.Candidates("PLAY.example.com.", "x"); err != nil || got[0] != "a:1" {
		t.Fatalf("host case and trailing dot: %v, %v", got, err)
	}
	d := tableConsul(map[string][]string{"play.example.com": {"a:1"}}, "play.example.com")
	if got, err := d.Candidates("nowhere.example.com", "x"); err != nil || got[0] != "a:1" {
		t.Fatalf("default pool: %v, %v", got, err)
	}
}

func BenchmarkCandidates(b *testing.B) {
	for _, n := range []int{1, 3, 8, 32, 100} {
		addrs := make([]string, n)
		for i := range addrs {
			addrs[i] = fmt.Sprintf("10.0.%d.%d:25565", i/250, i%250)
		}
		c := tableConsul(map[string][]string{"play.example.com": addrs}, "")
		for _, key := range []string{"", "Notch"} {
			b.Run(fmt.Sprintf("backends=%d/key=%t", n, key != ""), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Candidates("play.example.com", key); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

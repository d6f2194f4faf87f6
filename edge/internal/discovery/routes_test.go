package discovery

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/rustguard/rustguard/shared/testservers"
)

// TestConsulSetRoutes: routes change while the edge runs; a newly routed
// service is asked before its hosts go to it, and a service no route names
// any more stops being watched.
func TestConsulSetRoutes(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	a := agent.Client()
	mc, lobby, events := startBackend(t), startBackend(t), startBackend(t)
	registerBackend(t, a, "minecraft", "mc-1", mc, nil)
	registerBackend(t, a, "lobby", "lobby-1", lobby, nil)
	registerBackend(t, a, "events", "events-1", events, nil)
	c := newTestConsul(t, ConsulOptions{Client: a, Routes: map[string]string{"lobby.example.com": "lobby"}, DefaultService: "minecraft"})
	if !candidatesAre(c, "lobby.example.com", lobby)() || !candidatesAre(c, "events.example.com", mc)() {
		t.Fatal("initial routing wrong")
	}

	ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel()
	if err := c.SetRoutes(ctx, map[string]string{"Events.Example.com": "events"}, "minecraft"); err != nil {
		t.Fatal(err)
	}
	// Published only once events answered: no wait needed here.
	if !candidatesAre(c, "events.example.com", events)() {
		got, err := c.Candidates("events.example.com", "")
		t.Fatalf("events.example.com → %v, %v; want the events pool at once", got, err)
	}
	if !candidatesAre(c, "lobby.example.com", mc)() {
		t.Fatal("the removed route still leads to lobby")
	}
	if _, ok := c.State().Services["lobby"]; ok {
		t.Fatal("lobby is still watched")
	}
	if !c.Routed("events.example.com") || c.Routed("lobby.example.com") {
		t.Fatal("Routed does not follow the new routes")
	}

	// Without a default service, unknown hosts are refused.
	if err := c.SetRoutes(ctx, map[string]string{"events.example.com": "events"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Candidates("play.example.com", ""); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("unknown host without a default: %v", err)
	}
	if err := c.SetRoutes(ctx, map[string]string{"": "events"}, "minecraft"); err == nil {
		t.Fatal("an empty host was accepted")
	}
	// A service nobody registered: SetRoutes waits for its (empty) first
	// answer, which comes at once, and the host has no backend.
	if err := c.SetRoutes(ctx, map[string]string{"ghost.example.com": "ghost"}, "minecraft"); err != nil {
		t.Fatal(err)
	}
	if !candidatesAre(c, "ghost.example.com")() {
		t.Fatal("a route to a service without instances must say unavailable")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel2()
	if err := c.WaitSynced(ctx2); err != nil {
		t.Fatalf("WaitSynced after SetRoutes: %v", err)
	}
}

// TestRegistrationSetMeta: the version meta reaches the catalogue and the
// edge stays healthy (re-registering keeps its checks' status).
func TestRegistrationSetMeta(t *testing.T) {
	agent := testservers.StartConsul(t, "dc1")
	reg, err := Register(context.Background(), RegistrationOptions{
		Client: agent.Client(), Region: "eu-west", InstanceID: "edge-1", ListenAddr: "127.0.0.1:25565",
		AdminAddr: httpReadyz(t), Version: "v1", Meta: map[string]string{"config_version": "0", "region": "spoofed"},
		TTL: 3 * time.Second, CheckInterval: time.Second, Log: quietLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	meta := func() map[string]string {
		svc, _, err := agent.Client().Agent().Service("edge-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		return svc.Meta
	}
	if m := meta(); m["config_version"] != "0" || m["region"] != "eu-west" {
		t.Fatalf("meta %v: want config_version 0 and the edge's own region", m)
	}
	waitHealth(t, agent.Client(), func(entries []*api.ServiceEntry) bool { return len(entries) == 1 })
	if err := reg.SetMeta(context.Background(), map[string]string{"config_version": "7", "config_status": "applied"}); err != nil {
		t.Fatal(err)
	}
	if m := meta(); m["config_version"] != "7" || m["config_status"] != "applied" || m["version"] != "v1" {
		t.Fatalf("meta after SetMeta %v", m)
	}
	entries, _, err := agent.Client().Health().Service(EdgeServiceName, "", true, nil)
	if err != nil || len(entries) != 1 {
		t.Fatalf("after SetMeta the edge is not passing: %d entries, %v", len(entries), err)
	}
}

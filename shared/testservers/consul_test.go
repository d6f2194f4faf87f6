package testservers

import (
	"slices"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestConsulStartsOnItsOwnPorts(t *testing.T) {
	c := StartConsul(t, "dc-test")
	self, err := c.Client().Agent().Self()
	if err != nil {
		t.Fatalf("agent self: %v", err)
	}
	cfg := self["Config"]
	if cfg["Datacenter"] != "dc-test" || cfg["NodeName"] != c.NodeName() {
		t.Fatalf("agent config = %v, want datacenter dc-test and node %s", cfg, c.NodeName())
	}
	if c.ports.HTTP == 8500 || c.ports.SerfLAN == 8301 {
		t.Fatalf("agent on default ports: %+v", c.ports)
	}
}

func TestConsulRestartKeepsAddressAndEmptiesCatalog(t *testing.T) {
	c := StartConsul(t, "dc1")
	addr := c.HTTPAddr()
	reg := &api.AgentServiceRegistration{ID: "s1", Name: "svc", Port: 1}
	if err := c.Client().Agent().ServiceRegister(reg); err != nil {
		t.Fatalf("register: %v", err)
	}
	_, before, err := c.Client().Catalog().Services(nil)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}

	c.Stop()
	if _, err := c.Client().Status().Leader(); err == nil {
		t.Fatal("agent still answers after Stop")
	}
	c.Restart()
	if c.HTTPAddr() != addr {
		t.Fatalf("address changed across restart: %s → %s", addr, c.HTTPAddr())
	}
	services, after, err := c.Client().Catalog().Services(nil)
	if err != nil {
		t.Fatalf("catalog after restart: %v", err)
	}
	if _, ok := services["svc"]; ok {
		t.Fatal("dev agent kept a service across restart")
	}
	if after.LastIndex >= before.LastIndex {
		t.Logf("index did not go backwards (%d → %d); watchers see a plain change", before.LastIndex, after.LastIndex)
	}
}

func TestConsulJoinWAN(t *testing.T) {
	dc1 := StartConsul(t, "dc1")
	dc2 := StartConsul(t, "dc2")
	dc1.JoinWAN(dc2)
	dcs, err := dc2.Client().Catalog().Datacenters()
	if err != nil {
		t.Fatalf("datacenters: %v", err)
	}
	if !slices.Contains(dcs, "dc1") || !slices.Contains(dcs, "dc2") {
		t.Fatalf("datacenters = %v, want dc1 and dc2", dcs)
	}
}

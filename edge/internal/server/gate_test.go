package server

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/gate"
	"github.com/rustguard/rustguard/shared/config"
)

// The configuration's gate defaults and the gate's own Defaults (which say
// where each number comes from) must not drift apart.
func TestGateDefaultsMatchConfiguration(t *testing.T) {
	got := gateConfig(config.DefaultEdge().Gate)
	want := gate.Defaults()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config.DefaultEdge().Gate maps to\n%+v\nbut gate.Defaults() is\n%+v", got, want)
	}
}

// TestGateRefusesWithReadableReasons: with the default gate, a bad name
// and a fourth account from one address are refused with a login
// disconnect a player can read, and counted.
func TestGateRefusesWithReadableReasons(t *testing.T) {
	b := startBackend(t, -1, false)
	cfg := testConfig(b.addr())
	cfg.Gate = config.DefaultEdge().Gate
	cfg.Gate.LoginAddrRate, cfg.Gate.LoginAddrBurst = 100, 100 // this test is about names and accounts
	cfg.Gate.LoginPrefixRate, cfg.Gate.LoginPrefixBurst = 100, 100
	e := startEdge(t, cfg)

	bad := dial(t, e.Addr().String())
	bad.Write(append(handshake(765, "localhost", 25565, 2), loginStart(765, "bad name!")...))
	if msg := bad.expectClosed(t); len(msg) == 0 {
		t.Error("a bad name got no disconnect message")
	}

	// Three players from one address are fine; the fourth is refused.
	for i := 0; i < 3; i++ {
		c := dial(t, e.Addr().String())
		c.login(t, 765, fmt.Sprintf("Player%d", i))
		b.nextLogin(t)
	}
	fourth := dial(t, e.Addr().String())
	fourth.Write(append(handshake(765, "localhost", 25565, 2), loginStart(765, "Player4")...))
	if msg := fourth.expectClosed(t); !strings.Contains(strings.ToLower(string(msg)), "address") && len(msg) == 0 {
		t.Errorf("fourth account from one address: %q", msg)
	}
	waitFor(t, func() bool { return testutil.ToFloat64(e.Metrics.Rejected.WithLabelValues("refused")) == 2 })
}

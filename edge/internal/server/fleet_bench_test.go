package server

import (
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/testservers"
)

// benchLoginTimeout bounds one benchmark login end to end; a login that
// takes longer is a failure, not a slow sample.
const benchLoginTimeout = 5 * time.Second

// startLoginSuccessBackend answers every login with Login Success (1.20.4
// layout) and closes: the cheapest backend, so the benchmark measures the
// edge.
func startLoginSuccessBackend(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	success := append([]byte{0x02}, make([]byte, 16)...)
	success = mcproto.AppendString(success, "Bench")
	success = mcproto.AppendVarInt(success, 0) // no properties
	frame := mcproto.AppendFrame(nil, success)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(benchLoginTimeout))
				fr := mcproto.NewFrameReader(c, mcproto.MaxFrameLength)
				if _, err := fr.Next(); err != nil { // handshake
					return
				}
				if _, err := fr.Next(); err != nil { // Login Start
					return
				}
				_, _ = c.Write(frame)
				_, _ = io.Copy(io.Discard, c) // until the edge hangs up
			})
		}
	})
	b.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// BenchmarkLoginsWithRedisLimits: how many logins per second one edge
// admits when every login makes a fleet limit check against a real Redis
// (local gate open, fleet limits high enough never to refuse). One
// operation is a whole login: TCP connect, handshake, Login Start, the
// gate with its Redis round trip, the backend dial and Login Success back
// to the client.
//
// The "without_redis" case is the same edge with no fleet state, for the
// difference. Client, edge, backend and Redis share the machine's cores,
// so the absolute numbers are a floor.
func BenchmarkLoginsWithRedisLimits(b *testing.B) {
	b.Setenv("CONSUL_HTTP_ADDR", "") // static backend: this measures the gate and the login path
	backend := startLoginSuccessBackend(b)
	redis := testservers.StartRedis(b)
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"with_redis", true}, {"without_redis", false}} {
		b.Run(tc.name, func(b *testing.B) { benchLogins(b, backend, redis, tc.redis) })
	}
}

func benchLogins(b *testing.B, backend string, redis *testservers.Redis, withRedis bool) {
	cfg := testConfig(backend)
	if withRedis {
		cfg.Redis.URL = redis.URL()
	}
	r := &cfg.Redis
	r.LoginAddrRate, r.LoginAddrBurst = openFleetRate*openFleetRate, openFleetRate*openFleetRate
	r.LoginPrefixRate, r.LoginPrefixBurst = openFleetRate*openFleetRate, openFleetRate*openFleetRate
	r.LoginNameRate, r.LoginNameBurst = openFleetRate*openFleetRate, openFleetRate*openFleetRate
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	e, err := New(cfg, "bench", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	e.Start()
	b.Cleanup(e.Shutdown)
	if withRedis {
		select {
		case <-e.bans.Synced():
		case <-time.After(fleetWait):
			b.Fatal("ban list not loaded")
		}
	}
	addr := e.Addr().String()
	hello := append(handshake(fleetProtocol, "localhost", 25565, 2), loginStart(fleetProtocol, "Bench")...)

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchLogin(addr, hello); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
	if !withRedis {
		return
	}
	failedOpen, _ := counterValue(e, "rustguard_edge_login_limit_decisions_total", "result", "failed_open")
	allowed, _ := counterValue(e, "rustguard_edge_login_limit_decisions_total", "result", "allowed")
	b.ReportMetric(failedOpen, "failed_open")
	if allowed == 0 {
		b.Error("no login was decided by Redis: the benchmark did not measure the fleet limit")
	}
}

// benchLogin runs one login and returns once Login Success arrived.
func benchLogin(addr string, hello []byte) error {
	c, err := net.DialTimeout("tcp", addr, benchLoginTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(benchLoginTimeout))
	if _, err := c.Write(hello); err != nil {
		return err
	}
	fr := mcproto.NewFrameReader(c, mcproto.MaxFrameLength)
	for {
		body, err := fr.Next()
		if err != nil {
			return err
		}
		id, _, err := mcproto.ReadVarInt(body)
		if err != nil {
			return err
		}
		switch id {
		case 0x02:
			return nil
		case 0x00:
			return &loginRefused{msg: string(body)}
		}
	}
}

type loginRefused struct{ msg string }

func (e *loginRefused) Error() string { return "login refused: " + e.msg }

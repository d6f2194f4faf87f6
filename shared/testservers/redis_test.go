package testservers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/shared/testservers"
)

func TestRedisStopRestartKeepsData(t *testing.T) {
	srv := testservers.StartRedis(t)
	if !strings.HasPrefix(srv.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(srv.URL(), srv.Addr()) {
		t.Fatalf("URL %q does not name Addr %q", srv.URL(), srv.Addr())
	}
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatalf("parse URL: %v", err)
	}
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	srv.Stop()
	srv.Stop() // idempotent
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded with the server stopped")
	}
	srv.Restart()
	got, err := c.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("after restart GET k = %q, %v; want v (AOF keeps data)", got, err)
	}
}

func TestRedisInstancesAreIndependent(t *testing.T) {
	a, b := testservers.StartRedis(t), testservers.StartRedis(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers share %s", a.Addr())
	}
	ctx := context.Background()
	ca := redis.NewClient(&redis.Options{Addr: a.Addr()})
	cb := redis.NewClient(&redis.Options{Addr: b.Addr()})
	t.Cleanup(func() { _ = ca.Close(); _ = cb.Close() })
	if err := ca.Set(ctx, "only-a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := cb.Exists(ctx, "only-a").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS on the other server = %d, %v; want 0", n, err)
	}
}

package bans_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/shared/bans"
)

// TestClientDefaults: NewClient keeps the edge's tight budgets,
// NewClientWith applies other ones, and the URL's own options win over
// either.
func TestClientDefaults(t *testing.T) {
	opts := func(url string, d *bans.ClientDefaults) *redis.Options {
		t.Helper()
		var c redis.UniversalClient
		var err error
		if d == nil {
			c, err = bans.NewClient(url)
		} else {
			c, err = bans.NewClientWith(url, *d)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.(*redis.Client).Options()
	}
	if o := opts("redis://127.0.0.1:6379", nil); o.ReadTimeout != bans.EdgeClientDefaults().IOTimeout || o.MaxRetries != 1 {
		t.Errorf("edge defaults: read %v, retries %d", o.ReadTimeout, o.MaxRetries)
	}
	central := bans.ClientDefaults{DialTimeout: time.Second, IOTimeout: 3 * time.Second, PoolTimeout: time.Second, MaxRetries: 1, DialAttempts: 1}
	if o := opts("redis://127.0.0.1:6379", &central); o.ReadTimeout != 3*time.Second || o.WriteTimeout != 3*time.Second || o.PoolTimeout != time.Second {
		t.Errorf("other defaults: read %v, write %v, pool %v", o.ReadTimeout, o.WriteTimeout, o.PoolTimeout)
	}
	if o := opts("redis://127.0.0.1:6379?read_timeout=7s", &central); o.ReadTimeout != 7*time.Second {
		t.Errorf("URL option lost: read %v", o.ReadTimeout)
	}
}

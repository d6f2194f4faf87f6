package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// worldWalkMs keeps the bot online while the test reads the replica: it
// walks about 20 blocks, so the columns around its spawn stay within
// flying-squid's view distance (4 columns) the whole time.
const worldWalkMs = 5000

// worldLoadTimeout bounds how long the sampled columns may take to reach
// the edge after flying-squid reports the spawn.
const worldLoadTimeout = 20 * time.Second

// TestWorldReplica: a bot plays through the edge; the block states
// flying-squid holds around its spawn (backend.js --sample-blocks) are the
// ones the edge's world replica holds there, read through the admin
// listener's /debug/world while the bot is online. The world is named as
// the edge names it (docs/WORLD.md, "Data flow"): the dimension number
// before 1.16, the world's name from it.
func TestWorldReplica(t *testing.T) {
	for _, v := range []struct{ name, world string }{{"1.8.8", "0"}, {"1.20.4", "minecraft:overworld"}} {
		t.Run(v.name, func(t *testing.T) {
			be := suite.startBackend(t, v.name, "--sample-blocks")
			ed := suite.startEdge(t, be.addr, "/readyz")
			username := usernameFor("rw_", v.name)
			host, port, _ := net.SplitHostPort(ed.addr)
			ctx, cancel := context.WithTimeout(context.Background(), botTimeout+scriptKillSlack)
			defer cancel()
			type botRun struct {
				run scriptRun
				err error
			}
			done := make(chan botRun, 1)
			go func() {
				run, err := suite.runScript(ctx, "bot.js", "--host", host, "--port", port, "--version", v.name,
					"--username", username, "--timeout-ms", strconv.Itoa(int(botTimeout.Milliseconds())),
					"--walk-ms", strconv.Itoa(worldWalkMs))
				done <- botRun{run, err}
			}()
			ev, err := be.waitEvent(backendEventTimeout, "block samples of "+username, func(ev event) bool {
				return ev.Event == "blocks" && ev.Username == username
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(ev.Samples) == 0 {
				t.Fatal("flying-squid sampled no blocks")
			}
			distinct := map[int32]bool{}
			deadline := time.Now().Add(worldLoadTimeout)
			for _, s := range ev.Samples {
				var got worldBlock
				for {
					if got, err = readWorld(ed.admin, be.addr, v.world, s); err != nil {
						t.Fatal(err)
					}
					if got.Loaded || time.Now().After(deadline) {
						break
					}
					time.Sleep(50 * time.Millisecond) // the column is on its way: poll the edge
				}
				if !got.Loaded {
					t.Fatalf("%d,%d,%d: the edge holds no column there after %v", s[0], s[1], s[2], worldLoadTimeout)
				}
				if int32(got.State) != s[3] {
					t.Errorf("%d,%d,%d: the edge holds state %d, flying-squid %d", s[0], s[1], s[2], got.State, s[3])
				}
				distinct[s[3]] = true
			}
			if len(distinct) < 3 {
				t.Errorf("samples too uniform to mean anything: states %v", distinct)
			}
			t.Logf("%d samples through the edge match flying-squid (%d distinct states)", len(ev.Samples), len(distinct))
			r := <-done
			if r.err != nil || r.run.exitCode != 0 {
				t.Fatalf("bot: %v (exit %d): %s\nstderr:\n%s", r.err, r.run.exitCode, r.run.last, r.run.stderr)
			}
		})
	}
}

type worldBlock struct {
	Loaded bool   `json:"loaded"`
	State  uint16 `json:"state"`
}

// readWorld asks the edge's /debug/world for the block at sample s.
func readWorld(admin, backend, world string, s [4]int32) (worldBlock, error) {
	q := url.Values{"backend": {backend}, "world": {world},
		"x": {strconv.Itoa(int(s[0]))}, "y": {strconv.Itoa(int(s[1]))}, "z": {strconv.Itoa(int(s[2]))}}
	client := &http.Client{Timeout: adminRequestTimeout}
	resp, err := client.Get("http://" + admin + "/debug/world?" + q.Encode())
	if err != nil {
		return worldBlock{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return worldBlock{}, fmt.Errorf("/debug/world: %s", resp.Status)
	}
	var b worldBlock
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		return worldBlock{}, err
	}
	return b, nil
}

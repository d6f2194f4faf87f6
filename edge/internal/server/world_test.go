package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rustguard/rustguard/edge/internal/fixtures"
	"github.com/rustguard/rustguard/edge/internal/world"
	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/edge/internal/world/chunk"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// squidRecording is a recording of flying-squid's world packets and the
// block states it holds at sample positions (edge/internal/world/chunk/
// testdata, written by record.js there).
type squidRecording struct {
	Packets []struct {
		State string `json:"state"`
		Name  string `json:"name"`
		Data  string `json:"data"` // the packet: id and data
	} `json:"packets"`
	Samples [][4]int32 `json:"samples"` // x, y, z, state
}

func loadSquid(t *testing.T, version string) squidRecording {
	t.Helper()
	var rec squidRecording
	fixtures.GzipJSON(t, filepath.Join("..", "world", "chunk", "testdata", "squid-"+version+".json.gz"), &rec)
	return rec
}

// squidPlay takes a logged-in client and its backend leg into play with
// the recording's packets: configuration (registries, 1.20.2+) and then
// join game, the chunks and the block change, compressed as the backend's
// leg says. It returns the recording's world as the edge names it.
func squidPlay(t *testing.T, c *client, bc *backendConn, protocol int32, rec squidRecording, threshold int) world.Dim {
	t.Helper()
	return squidPlayWith(t, playPeer{
		read:  func() int32 { id, _ := c.packet(t); return id },
		write: func(id int32) { c.Write(frameRaw(id, nil)) },
	}, bc, protocol, rec, threshold)
}

// playPeer is the player's end for squidPlayWith: a plain client or an
// online-mode one (encrypted by the edge).
type playPeer struct {
	read  func() int32   // the next packet's id
	write func(id int32) // a packet without data
	// loggedIn: the client sent Login Acknowledged itself (1.20.2+).
	loggedIn bool
}

func squidPlayWith(t *testing.T, c playPeer, bc *backendConn, protocol int32, rec squidRecording, threshold int) world.Dim {
	t.Helper()
	table := packets.Lookup(protocol)
	var comp mcproto.Compressor
	send := func(state mcproto.State, raw []byte) {
		t.Helper()
		if _, err := bc.Write(comp.AppendFrame(nil, raw, threshold)); err != nil {
			t.Fatal(err)
		}
		id := c.read()
		if want, _, _ := mcproto.ReadVarInt(raw); id != want {
			t.Fatalf("client got %#x, want %#x (%s)", id, want, table.Name(state, mcproto.Clientbound, want))
		}
	}
	if protocol >= 764 {
		if !c.loggedIn {
			c.write(0x03) // Login Acknowledged
		}
		bc.fr.Next()
	}
	var joinBody []byte
	configured := false
	for _, pk := range rec.Packets {
		raw, err := base64.StdEncoding.DecodeString(pk.Data)
		if err != nil {
			t.Fatal(err)
		}
		state := mcproto.StatePlay
		if pk.State == "configuration" {
			state = mcproto.StateConfiguration
		} else if protocol >= 764 && !configured {
			finish := table.ID(mcproto.StateConfiguration, mcproto.Clientbound, packets.KindFinishConfiguration)
			send(mcproto.StateConfiguration, mcproto.AppendVarInt(nil, finish))
			c.write(table.ID(mcproto.StateConfiguration, mcproto.Serverbound, packets.KindFinishConfiguration))
			bc.fr.Next()
			configured = true
		}
		if pk.Name == "login" {
			_, n, _ := mcproto.ReadVarInt(raw)
			joinBody = raw[n:]
		}
		send(state, raw)
	}
	// The world's name as the recording's join game gives it.
	bt, err := blocks.ForProtocol(protocol)
	if err != nil {
		t.Fatal(err)
	}
	var types chunk.DimensionTypes
	r, err := chunk.NewDecoder(bt).JoinGame(joinBody, &types)
	if err != nil {
		t.Fatal(err)
	}
	name := r.World
	if name == "" {
		name = strconv.Itoa(int(r.ID))
	}
	return world.Dim{Backend: bc.LocalAddr().String(), Name: name}
}

// blockChange is a block_change packet built from the wire format
// (docs/WORLD.md, "Block changes"), independent of the edge's decoder.
func blockChange(protocol int32, x, y, z int32, state int32) []byte {
	var pos uint64
	if protocol < 477 {
		pos = uint64(x&0x3FFFFFF)<<38 | uint64(y&0xFFF)<<26 | uint64(z&0x3FFFFFF)
	} else {
		pos = uint64(x&0x3FFFFFF)<<38 | uint64(z&0x3FFFFFF)<<12 | uint64(y&0xFFF)
	}
	id := packets.Lookup(protocol).ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindBlockChange)
	b := mcproto.AppendVarInt(nil, id)
	b = append(b, byte(pos>>56), byte(pos>>48), byte(pos>>40), byte(pos>>32), byte(pos>>24), byte(pos>>16), byte(pos>>8), byte(pos))
	return mcproto.AppendVarInt(b, state)
}

// TestWorldReplicaThroughTheRelay: a backend sends flying-squid's recorded
// chunks (compressed) and a block change to a player through the edge; the
// edge's replica holds the blocks flying-squid holds, and the change; when
// the player leaves, the replica lets the columns go.
func TestWorldReplicaThroughTheRelay(t *testing.T) {
	for _, tc := range []struct {
		version  string
		protocol int32
	}{{"1.8.8", 47}, {"1.12.2", 340}, {"1.20.4", 765}, {"1.21.4", 769}} {
		t.Run(tc.version, func(t *testing.T) {
			rec := loadSquid(t, tc.version)
			const threshold = 256 // chunks arrive compressed, small packets not
			b := startBackend(t, threshold, false)
			e := startEdge(t, testConfig(b.addr()))
			if e.world == nil {
				t.Fatal("no world replica with the default configuration")
			}
			c := dial(t, e.Addr().String())
			c.login(t, tc.protocol, "Builder")
			bc := b.nextLogin(t)
			dim := squidPlay(t, c, bc, tc.protocol, rec, threshold)

			checked, solid := 0, 0
			var changeAt [3]int32
			for _, s := range rec.Samples {
				got, ok := e.world.Block(dim, s[0], s[1], s[2])
				if !ok {
					continue // beyond the recorded columns
				}
				if int32(got) != s[3] {
					t.Errorf("%d,%d,%d: the replica holds state %d, flying-squid %d", s[0], s[1], s[2], got, s[3])
				}
				checked++
				if s[3] != 0 {
					solid++
					changeAt = [3]int32{s[0], s[1], s[2]}
				}
			}
			t.Logf("%s: %d samples read back through the edge (%d not air); replica %+v", dim.Name, checked, solid, e.world.Stats())
			if checked < len(rec.Samples)/2 || solid == 0 {
				t.Fatalf("only %d of %d samples in the replica (%d not air)", checked, len(rec.Samples), solid)
			}

			// The backend breaks a block: the replica follows.
			var comp mcproto.Compressor
			bc.Write(comp.AppendFrame(nil, blockChange(tc.protocol, changeAt[0], changeAt[1], changeAt[2], 0), threshold))
			if id, _ := c.packet(t); id != packets.Lookup(tc.protocol).ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindBlockChange) {
				t.Fatalf("client got %#x, want the block change", id)
			}
			if got, ok := e.world.Block(dim, changeAt[0], changeAt[1], changeAt[2]); !ok || got != 0 {
				t.Errorf("after the change the replica holds %d (loaded %v), want air", got, ok)
			}
			if st := e.world.Stats(); st.Columns == 0 || st.Bytes == 0 {
				t.Errorf("replica stats %+v", st)
			}
			// Operators read the same through the admin listener.
			for _, s := range rec.Samples[:50] {
				want := s[3]
				if s[0] == changeAt[0] && s[1] == changeAt[1] && s[2] == changeAt[2] {
					want = 0
				}
				if got := debugWorld(t, e, dim, s[0], s[1], s[2]); got.Loaded && int32(got.State) != want {
					t.Errorf("/debug/world at %d,%d,%d: %+v, want state %d", s[0], s[1], s[2], got, want)
				}
			}
			if got := debugWorld(t, e, dim, changeAt[0], changeAt[1], changeAt[2]); !got.Loaded || got.State != 0 {
				t.Errorf("/debug/world at the changed block: %+v, want air", got)
			}

			// The player leaves: their view closes and the columns go.
			c.Close()
			waitFor(t, func() bool { return e.world.Stats().Columns == 0 })
		})
	}
}

type worldDebugAnswer struct {
	Loaded bool   `json:"loaded"`
	State  uint16 `json:"state"`
}

func debugWorld(t *testing.T, e *Edge, dim world.Dim, x, y, z int32) worldDebugAnswer {
	t.Helper()
	q := url.Values{"backend": {dim.Backend}, "world": {dim.Name},
		"x": {strconv.Itoa(int(x))}, "y": {strconv.Itoa(int(y))}, "z": {strconv.Itoa(int(z))}}
	resp, err := http.Get("http://" + e.adm.Addr().String() + "/debug/world?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a worldDebugAnswer
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/debug/world: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestWorldReplicaOff: world.budget_bytes 0 means no replica, and the
// relay carries the world packets as before.
func TestWorldReplicaOff(t *testing.T) {
	rec := loadSquid(t, "1.20.4")
	b := startBackend(t, 256, false)
	cfg := testConfig(b.addr())
	cfg.World.BudgetBytes = 0
	e := startEdge(t, cfg)
	if e.world != nil {
		t.Fatal("a world replica with world.budget_bytes 0")
	}
	if resp, err := http.Get("http://" + e.adm.Addr().String() + "/debug/world"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/debug/world without a replica: %s, want 404", resp.Status)
	}
	c := dial(t, e.Addr().String())
	c.login(t, 765, "Builder")
	squidPlay(t, c, b.nextLogin(t), 765, rec, 256)
}

// TestWorldBudgetRefusesNewPlayers: once the replica is within its join
// reserve, a new player gets no view (counted) and plays on: every packet
// still reaches them, and the replica does not grow for them.
func TestWorldBudgetRefusesNewPlayers(t *testing.T) {
	rec := loadSquid(t, "1.20.4")
	const protocol, threshold = 765, 256
	b := startBackend(t, threshold, false)
	cfg := testConfig(b.addr())
	cfg.World.BudgetBytes = config.MinWorldBudget
	e := startEdge(t, cfg)
	c := dial(t, e.Addr().String())
	c.login(t, protocol, "First")
	bc := b.nextLogin(t)
	squidPlay(t, c, bc, protocol, rec, threshold)

	// The first player walks far: the recorded columns again, further
	// east each time, until the replica is within an eighth of its budget.
	var chunks [][]byte
	for _, pk := range rec.Packets {
		if pk.Name == "map_chunk" {
			raw, _ := base64.StdEncoding.DecodeString(pk.Data)
			chunks = append(chunks, raw)
		}
	}
	var comp mcproto.Compressor
	for shift := int32(1); e.world.Stats().Bytes <= config.MinWorldBudget-config.MinWorldBudget/8; shift++ {
		if shift > 1000 {
			t.Fatalf("the replica never filled: %+v", e.world.Stats())
		}
		for _, raw := range chunks {
			moved := append([]byte(nil), raw...)
			_, n, _ := mcproto.ReadVarInt(moved)
			x := int32(binary.BigEndian.Uint32(moved[n:])) + 64*shift
			binary.BigEndian.PutUint32(moved[n:], uint32(x))
			bc.Write(comp.AppendFrame(nil, moved, threshold))
			c.packet(t)
		}
	}
	full := e.world.Stats()

	// The second player is refused a view and plays on.
	c2 := dial(t, e.Addr().String())
	c2.login(t, protocol, "Second")
	squidPlay(t, c2, b.nextLogin(t), protocol, rec, threshold)
	if got := testutil.ToFloat64(e.Metrics.WorldRefused); got != 1 {
		t.Errorf("rustguard_edge_world_refused_total = %v, want 1", got)
	}
	if st := e.world.Stats(); st.Bytes > full.Bytes || st.Bytes > st.Budget {
		t.Errorf("the replica grew for a refused player: %+v, was %+v", st, full)
	}
}

// TestWorldBudgetDefault keeps the configuration's default budget equal to
// the replica's own.
func TestWorldBudgetDefault(t *testing.T) {
	if got := config.DefaultEdge().World.BudgetBytes; got != world.DefaultBudget {
		t.Errorf("world.budget_bytes defaults to %d, the replica to %d", got, world.DefaultBudget)
	}
}

// TestMalformedChunkClosesTheBackend: a backend sending a chunk that does
// not decode is a broken or hostile server. Its connection is closed (the
// player told the server is unavailable), counted and logged; the edge
// serves the next player. A chunk frame large enough to be spliced were
// its body not read is still read whole (conn/largeframe.go): the replica
// needs it.
func TestMalformedChunkClosesTheBackend(t *testing.T) {
	for _, tc := range []struct {
		version   string
		protocol  int32
		threshold int
		pad       int // bytes of data after the chunk's header
	}{{"1.8.8", 47, -1, 600}, {"1.20.4", 765, 256, 600}, {"1.8.8", 47, -1, 300 << 10}, {"1.20.4", 765, 256, 300 << 10}} {
		t.Run(fmt.Sprintf("%s/%d bytes", tc.version, tc.pad), func(t *testing.T) {
			rec := loadSquid(t, tc.version)
			b := startBackend(t, tc.threshold, false)
			e := startEdge(t, testConfig(b.addr()))
			c := dial(t, e.Addr().String())
			c.login(t, tc.protocol, "Victim")
			bc := b.nextLogin(t)
			squidPlay(t, c, bc, tc.protocol, rec, tc.threshold)

			// A chunk at 5, 5 whose data buffer announces 3 MiB (vanilla
			// refuses more than 2) and carries pad bytes (600: enough to
			// be compressed when the leg compresses; 300 KiB of noise: a
			// frame that large on either leg).
			id := packets.Lookup(tc.protocol).ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindMapChunk)
			bad := mcproto.AppendVarInt(nil, id)
			bad = append(bad, 0, 0, 0, 5, 0, 0, 0, 5)
			if tc.protocol < 107 {
				bad = append(bad, 1, 0xFF, 0xFF) // ground-up, every section
			} else {
				bad = append(bad, 0x0A, 0) // heightmaps: an empty compound without a root name
			}
			bad = mcproto.AppendVarInt(bad, 3<<20)
			rng := rand.New(rand.NewPCG(7, 7))
			for range tc.pad {
				bad = append(bad, byte(rng.Uint32()))
			}
			var comp mcproto.Compressor
			bc.Write(comp.AppendFrame(nil, bad, tc.threshold))
			msg := c.expectClosed(t)
			if want := "not reachable"; !strings.Contains(string(msg), want) {
				t.Errorf("player told %q, want the backend-unavailable message", msg)
			}
			waitFor(t, func() bool { return testutil.ToFloat64(e.Metrics.WorldMalformed) == 1 })
			// The backend's connection ends.
			_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				if _, err := bc.fr.Next(); err != nil {
					break
				}
			}
			// The edge serves the next player.
			c2 := dial(t, e.Addr().String())
			c2.login(t, tc.protocol, "Next")
			b.nextLogin(t)
			// The victim's view closed with the connection.
			waitFor(t, func() bool { return e.world.Stats().Columns == 0 })
		})
	}
}

package record

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// simProtocol is 1.20.4: Ping/Pong probes, play after configuration.
const simProtocol = 765

// simStart is a fixed session start, so recordings of simulations are
// reproducible byte for byte.
var simStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// liveSink collects the live engine's events.
type liveSink struct {
	mu     sync.Mutex
	events []detection.Event
}

func (s *liveSink) Detect(e *detection.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, *e)
}

// simStep is one thing a simulated session does at a point in time.
type simStep struct {
	at   time.Duration
	dir  mcproto.Direction
	st   mcproto.State
	kind packets.Kind
	data []byte
}

// simSession is a scripted session: a client in play that walks every
// tick, a server that sends keep-alives, the engine's probes answered
// after rtt, and extra steps (cheats) at given times.
type simSession struct {
	name  string
	ticks int
	rtt   time.Duration
	extra []simStep
}

func look(yaw, pitch float32) []byte {
	b := mcproto.AppendFloat32(nil, yaw)
	b = mcproto.AppendFloat32(b, pitch)
	return mcproto.AppendBool(b, true)
}

// position is a PlayerPosition body (1.20.4 layout).
func position(x, y, z float64) []byte {
	b := mcproto.AppendFloat64(nil, x)
	b = mcproto.AppendFloat64(b, y)
	b = mcproto.AppendFloat64(b, z)
	return mcproto.AppendBool(b, true)
}

// run plays the session through an engine whose recorders follow pol and
// returns the live events and the paths of the recordings written.
func (s simSession) run(t *testing.T, pol Policy, o Options) ([]detection.Event, []string) {
	t.Helper()
	if pol.Dir == "" {
		pol.Dir = t.TempDir()
	}
	recs, err := New(pol, o)
	if err != nil {
		t.Fatal(err)
	}
	sink := &liveSink{}
	eng, err := detect.New(detect.Config{}, detect.Options{Sinks: []detect.Sink{sink}, Recorders: recs.Factory()})
	if err != nil {
		t.Fatal(err)
	}
	p := eng.NewPlayer(detect.PlayerInfo{Protocol: simProtocol, Name: s.name, UUID: "00000000-0000-0000-0000-000000000001",
		Addr: netip.MustParseAddrPort("127.0.0.1:50000"), Session: "s1"})
	steps := s.script()
	var probe []byte
	type answer struct {
		at time.Duration
		id int32
	}
	var answers []answer
	for _, st := range steps {
		for len(answers) > 0 && answers[0].at <= st.at {
			p.Serverbound(mcproto.StatePlay, packets.KindPong, mcproto.AppendInt32(nil, answers[0].id), 0, simStart.Add(answers[0].at))
			answers = answers[1:]
		}
		now := simStart.Add(st.at)
		if st.dir == mcproto.Clientbound {
			p.Clientbound(st.st, st.kind, st.data, now)
			// The relay asks for a probe after each batch it writes to the client.
			if probe = p.Probe(now, probe[:0]); len(probe) > 0 {
				_, n, err := mcproto.ReadVarInt(probe)
				if err != nil {
					t.Fatal(err)
				}
				r := mcproto.NewReader(probe[n:])
				answers = append(answers, answer{at: st.at + s.rtt, id: r.Int32()})
			}
		} else {
			p.Serverbound(st.st, st.kind, st.data, 0, now)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := recs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(pol.Dir, "*"+fileExt))
	if err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	return sink.events, files
}

// script expands the session into time-ordered steps.
func (s simSession) script() []simStep {
	const tick = 50 * time.Millisecond
	var steps []simStep
	steps = append(steps, simStep{at: 0, dir: mcproto.Serverbound, st: mcproto.StateConfiguration, kind: packets.KindFinishConfiguration})
	for i := 0; i < s.ticks; i++ {
		at := time.Duration(i+1) * tick
		// The server's entity and keep-alive traffic: one clientbound
		// packet every tick gives the relay a batch to attach probes to.
		steps = append(steps, simStep{at: at, dir: mcproto.Clientbound, st: mcproto.StatePlay, kind: packets.KindEntityVelocity, data: []byte{1, 0, 0, 0, 0, 0, 0}})
		steps = append(steps, simStep{at: at + 5*time.Millisecond, dir: mcproto.Serverbound, st: mcproto.StatePlay, kind: packets.KindPlayerPosition, data: position(0.5, 64, 0.5+float64(i)*0.2)})
	}
	for _, e := range s.extra {
		// Insert keeping order by time (stable: extras go after steps of the same time).
		i := len(steps)
		for i > 0 && steps[i-1].at > e.at {
			i--
		}
		steps = append(steps, simStep{})
		copy(steps[i+1:], steps[i:])
		steps[i] = e
	}
	return steps
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func replayBytes(t *testing.T, b []byte, cfg detect.Config) *Result {
	t.Helper()
	res, err := Replay(context.Background(), bytes.NewReader(b), cfg)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return res
}

package detect

import (
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// linkedRecorder keeps the connection context each event came with.
type linkedRecorder struct {
	recorder
	links []trace.SpanContext
}

func (r *linkedRecorder) DetectLinked(e *detection.Event, conn trace.SpanContext) {
	r.Detect(e)
	r.links = append(r.links, conn)
}

// TestLinkedSinkGetsTheConnection: a sink that links detections to the
// connection's span gets the context the connection registered; plain
// sinks get the event alone.
func TestLinkedSinkGetsTheConnection(t *testing.T) {
	linked, plain := &linkedRecorder{}, &recorder{}
	e, err := New(Config{}, Options{Sinks: []Sink{plain, linked}})
	if err != nil {
		t.Fatal(err)
	}
	conn := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	p := e.NewPlayer(PlayerInfo{Protocol: 765, Name: "Steve", Trace: conn})
	p.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, packets.PlayerLook{Pitch: 95}.AppendData(nil, 765), 0, t0)
	if len(linked.events) != 1 || len(linked.links) != 1 || !linked.links[0].Equal(conn) {
		t.Errorf("linked sink: %d events, links %v", len(linked.events), linked.links)
	}
	if len(plain.events) != 1 {
		t.Errorf("plain sink: %d events", len(plain.events))
	}
	untraced := e.NewPlayer(PlayerInfo{Protocol: 765, Name: "Alex"})
	untraced.Serverbound(mcproto.StatePlay, packets.KindPlayerLook, packets.PlayerLook{Pitch: 95}.AppendData(nil, 765), 0, t0)
	if len(linked.links) != 2 || linked.links[1].IsValid() {
		t.Errorf("an untraced connection's link: %v", linked.links)
	}
}

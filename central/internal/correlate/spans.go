package correlate

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/rustguard/rustguard/central/internal/aggregate"
	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/telemetry"
)

// maxLinks is the OpenTelemetry SDK's default link limit per span
// (OTEL_SPAN_LINK_COUNT_LIMIT): backends expect no more.
const maxLinks = 128

// SpanSink takes central's own spans for the tracing backend (the
// forwarder). It must not block.
type SpanSink interface {
	Forward(td ptrace.Traces)
}

// emitCorrelation sends a player.correlation span for a ban: a trace of
// its own, linked to every detection span the ban rests on, so an operator
// who finds the ban in the tracing backend reaches each region's evidence
// in one click.
func (c *Correlator) emitCorrelation(b bans.Ban, id report.Identity, flags []aggregate.Flag, regions, checks []string, now time.Time) {
	if c.o.Spans == nil {
		return
	}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr(telemetry.AttrServiceName, telemetry.ServiceCentral)
	if c.o.Instance != "" {
		res.PutStr(telemetry.AttrServiceInstance, c.o.Instance)
	}
	if c.o.Version != "" {
		res.PutStr(telemetry.AttrServiceVersion, c.o.Version)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("rustguard-central/correlate")
	sp := ss.Spans().AppendEmpty()
	sp.SetName(telemetry.SpanCorrelation)
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	_, _ = rand.Read(tid[:])
	_, _ = rand.Read(sid[:])
	sp.SetTraceID(tid)
	sp.SetSpanID(sid)
	sp.SetKind(ptrace.SpanKindInternal)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	a := sp.Attributes()
	a.PutStr(telemetry.AttrCorrelationIdentity, id.Key)
	a.PutStr(telemetry.AttrBanKind, b.Kind.String())
	a.PutStr(telemetry.AttrBanValue, b.Value)
	a.PutStr(telemetry.AttrBanSource, b.Source)
	a.PutInt(telemetry.AttrBanDuration, int64(b.Remaining(now)/time.Second))
	if id.Auth {
		a.PutStr(telemetry.AttrPlayerUUID, id.UUID)
	}
	r := a.PutEmptySlice(telemetry.AttrCorrelationRegions)
	for _, v := range regions {
		r.AppendEmpty().SetStr(v)
	}
	k := a.PutEmptySlice(telemetry.AttrCorrelationChecks)
	for _, v := range checks {
		k.AppendEmpty().SetStr(v)
	}
	for _, e := range flags {
		if sp.Links().Len() == maxLinks {
			break
		}
		var lt pcommon.TraceID
		var ls pcommon.SpanID
		if hex.DecodedLen(len(e.TraceID)) != len(lt) || hex.DecodedLen(len(e.SpanID)) != len(ls) {
			continue
		}
		if _, err := hex.Decode(lt[:], []byte(e.TraceID)); err != nil {
			continue
		}
		if _, err := hex.Decode(ls[:], []byte(e.SpanID)); err != nil {
			continue
		}
		l := sp.Links().AppendEmpty()
		l.SetTraceID(lt)
		l.SetSpanID(ls)
		l.Attributes().PutStr(telemetry.AttrRegion, e.Region)
		l.Attributes().PutStr(telemetry.AttrDetectionKey, e.Check)
	}
	c.o.Spans.Forward(td)
}

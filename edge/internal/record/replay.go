package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// ctxCheckEvery is how many records replay handles between looks at the
// context: often enough to stop within milliseconds, rarely enough to cost
// nothing.
const ctxCheckEvery = 1024

// Result is what a replay found.
type Result struct {
	Header Header
	// Events are the detections the replay engine raised, in order.
	Events []detection.Event
	// Packets and Probes count the records fed to the engine.
	Packets, Probes int
	// RecordedFlags counts the flags the live engine raised while
	// recording. A faithful replay raises as many events.
	RecordedFlags int
	// MissedProbes counts probe markers where the replay engine had no
	// probe due: the replay diverged from the live session there.
	MissedProbes int
	// Duration is the time from the first record to the last.
	Duration time.Duration
	// End is why the recording stopped; Complete is false when the file
	// was cut short (no end record), in which case End is meaningless.
	End      EndReason
	Complete bool
}

// Diverged reports whether the replay did not reproduce the live engine.
func (r *Result) Diverged() bool {
	return r.MissedProbes > 0 || r.RecordedFlags != len(r.Events)
}

// collector is the replay engine's sink.
type collector struct{ events []detection.Event }

func (c *collector) Detect(e *detection.Event) { c.events = append(c.events, *e) }

// Replay runs a fresh detection engine configured with cfg over a recording
// and returns what it detected. Packets go to Player.Serverbound and
// Player.Clientbound exactly as the live engine received them, and probes
// are issued at the recorded points (Player.Probe with the recorded time),
// so the client's recorded answers to the live probes match the replay's
// probes. The engine's verdicts are not acted on: the live relay already
// did that, and the recording shows what it let through.
//
// A truncated file (the edge died) replays as far as it goes: the result
// has Complete false and the error is nil. A corrupt file returns the
// result so far and an error wrapping ErrCorrupt.
func Replay(ctx context.Context, src io.Reader, cfg detect.Config) (*Result, error) {
	return replay(ctx, src, cfg, nil)
}

// tracer is told about each record after the engine has seen it, with the
// events that record raised.
type tracer func(h *Header, rec *Record, events []detection.Event)

// replay is Replay with an optional tracer.
func replay(ctx context.Context, src io.Reader, cfg detect.Config, trace tracer) (*Result, error) {
	rd, err := NewReader(src)
	if err != nil {
		return nil, err
	}
	h := rd.Header()
	res := &Result{Header: h}
	col := &collector{}
	eng, err := detect.New(cfg, detect.Options{Region: h.Region, Instance: h.Instance, Sinks: []detect.Sink{col},
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("replay: detection config: %w", err)
	}
	info := detect.PlayerInfo{Protocol: h.Protocol, Name: h.Name, UUID: h.UUID, Session: h.Session}
	if ap, err := netip.ParseAddrPort(h.ClientAddr); err == nil {
		info.Addr = ap
	}
	p := eng.NewPlayer(info)
	defer p.Close()

	var probe []byte
	var last time.Time
	for i := 0; ; i++ {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				res.Events = col.events
				return res, fmt.Errorf("replay: %w", err)
			}
		}
		rec, err := rd.Next()
		if err != nil {
			res.Events = col.events
			if !last.IsZero() {
				res.Duration = last.Sub(h.Start)
			}
			switch {
			case errors.Is(err, io.EOF):
				res.End, res.Complete = rd.End()
				return res, nil
			case errors.Is(err, ErrTruncated):
				return res, nil
			}
			return res, err
		}
		last = rec.Time
		before := len(col.events)
		switch rec.Type {
		case RecordPacket:
			res.Packets++
			if rec.Dir == mcproto.Serverbound {
				p.Serverbound(rec.State, rec.Kind, rec.Data, rec.Inflated, rec.Time)
			} else {
				p.Clientbound(rec.State, rec.Kind, rec.Data, rec.Time)
			}
		case RecordProbe:
			res.Probes++
			if probe = p.Probe(rec.Time, probe[:0]); len(probe) == 0 {
				res.MissedProbes++
			}
		case RecordFlag:
			res.RecordedFlags++
		}
		if trace != nil {
			trace(&res.Header, &rec, col.events[before:])
		}
	}
}

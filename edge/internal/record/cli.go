package record

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/config"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// ReplayUsage is the help text of "rustguard-edge replay".
const ReplayUsage = `usage: rustguard-edge replay [--json] [--records] [--config FILE] FILE...

Replays session recordings (.rgrec) through the detection engine and prints
what it detects. Checks run with their defaults, or with the detection
section of the edge configuration FILE (the YAML file RUSTGUARD_CONFIG names).

Text output: one line per detection and a summary per file. With --json:
one JSON object per line, each detection as the edge reports it (the
shared/detection event) and then {"summary": ...} per file. --records also
prints every record, with the detections it raised right after it.
`

// ErrUsage marks a replay command line that does not parse; main prints
// the error to stderr and exits with status 2.
var ErrUsage = errors.New("usage error")

// Summary is the per-file summary RunReplay prints.
type Summary struct {
	File          string         `json:"file"`
	Player        string         `json:"player"`
	UUID          string         `json:"uuid,omitempty"`
	Protocol      int32          `json:"protocol"`
	Version       string         `json:"version,omitempty"`
	Session       string         `json:"session,omitempty"`
	Start         time.Time      `json:"start"`
	Duration      float64        `json:"duration_seconds"`
	Packets       int            `json:"packets"`
	Probes        int            `json:"probes"`
	Detections    map[string]int `json:"detections"` // "check/action" → count
	RecordedFlags int            `json:"recorded_flags"`
	MissedProbes  int            `json:"missed_probes,omitempty"`
	Diverged      bool           `json:"diverged,omitempty"`
	Partial       bool           `json:"partial,omitempty"`
	Complete      bool           `json:"complete"`
	End           string         `json:"end,omitempty"`
	Error         string         `json:"error,omitempty"`
}

// recordLine is a record in --records --json output.
type recordLine struct {
	Offset   float64 `json:"t"` // seconds since the recording's start
	Type     string  `json:"type"`
	Dir      string  `json:"dir,omitempty"`
	State    string  `json:"state,omitempty"`
	Kind     string  `json:"kind,omitempty"`
	Size     int     `json:"size,omitempty"`
	Inflated int     `json:"inflated,omitempty"`
}

// RunReplay is "rustguard-edge replay": args are the command's arguments
// after "replay". Detections and summaries go to stdout, and so does the
// help (-h, --help); it returns an error wrapping ErrUsage for bad
// arguments and another when a file could not be replayed (after trying
// every file).
func RunReplay(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	// The flag package would print parse errors and the usage to this
	// writer; errors are returned to main, which prints them to stderr.
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON lines")
	records := fs.Bool("records", false, "print every record")
	cfgFile := fs.String("config", "", "edge configuration file whose detection section applies")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, err = io.WriteString(stdout, ReplayUsage)
			return err
		}
		return fmt.Errorf("replay: %w: %w", ErrUsage, err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("replay: %w: no recording given (see rustguard-edge replay --help)", ErrUsage)
	}
	cfg := detect.Config{}
	if *cfgFile != "" {
		var err error
		if cfg, err = loadDetectConfig(*cfgFile); err != nil {
			return err
		}
	}
	var errs []error
	for _, path := range fs.Args() {
		pr := &printer{w: bufio.NewWriter(stdout), json: *asJSON, records: *records, file: path}
		err := pr.replay(ctx, path, cfg)
		if ferr := pr.w.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("replay: write: %w", ferr)
		}
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// printer writes one file's replay as it happens.
type printer struct {
	w             *bufio.Writer
	json, records bool
	file          string
	headed        bool
}

func (p *printer) replay(ctx context.Context, path string, cfg detect.Config) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	res, rerr := replay(ctx, f, cfg, p.trace)
	if res == nil {
		return fmt.Errorf("replay %s: %w", path, rerr)
	}
	s := summarize(path, res)
	if rerr != nil {
		s.Error = rerr.Error()
	}
	p.head(&res.Header)
	if p.json {
		p.encode(struct {
			Summary *Summary `json:"summary"`
		}{&s})
	} else {
		p.summary(&s)
	}
	if rerr != nil {
		return fmt.Errorf("replay %s: %w", path, rerr)
	}
	return nil
}

// trace prints a record (with --records) and the events it raised.
func (p *printer) trace(h *Header, rec *Record, events []detection.Event) {
	p.head(h)
	if p.records {
		line := recordLine{Offset: rec.Time.Sub(h.Start).Seconds(), Type: rec.Type.String()}
		if rec.Type == RecordPacket {
			line.Dir, line.State, line.Kind, line.Size, line.Inflated = rec.Dir.String(), rec.State.String(), rec.KindName, len(rec.Data), rec.Inflated
		}
		if p.json {
			p.encode(struct {
				Record *recordLine `json:"record"`
			}{&line})
		} else {
			fmt.Fprintf(p.w, "  +%9.3fs %-6s", line.Offset, line.Type)
			if rec.Type == RecordPacket {
				fmt.Fprintf(p.w, " %-11s %-13s %-26s %6d B", line.Dir, line.State, line.Kind, line.Size)
				if line.Inflated > 0 {
					fmt.Fprintf(p.w, " (inflated %d)", line.Inflated)
				}
			}
			p.w.WriteByte('\n')
		}
	}
	for i := range events {
		if p.json {
			p.encode(&events[i])
			continue
		}
		e := &events[i]
		fmt.Fprintf(p.w, "  +%9.3fs DETECT %-28s %-5s vl=%.2f", e.Time.Sub(h.Start).Seconds(), e.Check, e.Action, e.VL)
		keys := make([]string, 0, len(e.Details))
		for k := range e.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(p.w, " %s=%q", k, e.Details[k])
		}
		p.w.WriteByte('\n')
	}
}

// head prints the file's first line (text output) once.
func (p *printer) head(h *Header) {
	if p.headed || p.json {
		return
	}
	p.headed = true
	fmt.Fprintf(p.w, "%s: %s (protocol %d, %s) session %s from %s, recorded by %s %s at %s\n", p.file, h.Name, h.Protocol,
		packets.VersionName(h.Protocol), h.Session, h.ClientAddr, h.Instance, h.EdgeVersion, h.Start.Format(time.RFC3339))
}

func (p *printer) encode(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Events and summaries hold only marshalable fields; a failure is a bug.
		panic(fmt.Sprintf("record: marshal %T: %v", v, err))
	}
	p.w.Write(b)
	p.w.WriteByte('\n')
}

func (p *printer) summary(s *Summary) {
	keys := make([]string, 0, len(s.Detections))
	n := 0
	for k, c := range s.Detections {
		keys = append(keys, k)
		n += c
	}
	sort.Strings(keys)
	fmt.Fprintf(p.w, "  %d packets, %d probes over %.1fs; %d detection(s)", s.Packets, s.Probes, s.Duration, n)
	for _, k := range keys {
		fmt.Fprintf(p.w, " %s×%d", k, s.Detections[k])
	}
	fmt.Fprintf(p.w, "; the live engine flagged %d", s.RecordedFlags)
	switch {
	case !s.Complete:
		p.w.WriteString("; recording cut short (no end record)")
	case s.End != EndClosed.String():
		fmt.Fprintf(p.w, "; recording stopped early: %s", s.End)
	}
	if s.Partial {
		p.w.WriteString("; starts mid-session (detections may differ)")
	}
	if s.Diverged {
		fmt.Fprintf(p.w, "; DIVERGED from the live session (%d missed probes)", s.MissedProbes)
	}
	if s.Error != "" {
		fmt.Fprintf(p.w, "; error: %s", s.Error)
	}
	p.w.WriteByte('\n')
}

func summarize(path string, res *Result) Summary {
	h := res.Header
	s := Summary{File: path, Player: h.Name, UUID: h.UUID, Protocol: h.Protocol, Version: packets.VersionName(h.Protocol),
		Session: h.Session, Start: h.Start, Duration: res.Duration.Seconds(), Packets: res.Packets, Probes: res.Probes,
		Detections: Tally(res.Events), RecordedFlags: res.RecordedFlags, MissedProbes: res.MissedProbes,
		Diverged: res.Diverged(), Partial: h.Partial, Complete: res.Complete}
	if res.Complete {
		s.End = res.End.String()
	}
	return s
}

// Tally counts events by "check/action".
func Tally(events []detection.Event) map[string]int {
	m := make(map[string]int)
	for _, e := range events {
		m[e.Check+"/"+e.Action.String()]++
	}
	return m
}

// loadDetectConfig reads the detection section of an edge configuration
// file, validated as the edge validates it.
func loadDetectConfig(path string) (detect.Config, error) {
	lookup := func(k string) (string, bool) {
		if k == config.EnvConfigFile {
			return path, true
		}
		return "", false
	}
	cfg, _, err := config.LoadEdge(lookup)
	if err != nil {
		return detect.Config{}, fmt.Errorf("replay --config: %w", err)
	}
	return DetectConfig(cfg.Detection)
}

// DetectConfig maps the configuration's detection section to the engine's.
func DetectConfig(d config.Detection) (detect.Config, error) { return detect.ConfigFrom(d) }

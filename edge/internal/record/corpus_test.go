package record

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// corpusDir holds the replay corpus: NAME.rgrec and NAME.expect.json.
const corpusDir = "testdata/corpus"

// expectation is a corpus file's NAME.expect.json.
type expectation struct {
	Description string `json:"description"`
	Version     string `json:"version"`
	Protocol    int32  `json:"protocol"`
	// Detections is the exact multiset of detections a replay with the
	// default configuration raises, as "check/action" → count. Honest
	// sessions have none.
	Detections map[string]int `json:"detections"`
}

// minCorpusVersions are the releases the corpus must cover with honest
// sessions; minCheats the checks it must cover with cheating ones.
var (
	minCorpusVersions = []string{"1.8.8", "1.12.2", "1.16.5", "1.20.4", "1.21.4"}
	minCheats         = []string{"badpackets.invalid_pitch", "badpackets.slot_range", "crash.move_non_finite",
		"combat.self_interact", "chat.lookup_string", "flood.packets"}
)

// TestReplayCorpus replays every recording in the corpus and requires
// exactly the expected detections, a complete file, every probe
// reproduced, and as many detections as the live engine raised while
// recording (the replay reproduces the live session).
func TestReplayCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*"+fileExt))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no recordings in %s", corpusDir)
	}
	honest := map[string]bool{}
	cheats := map[string]bool{}
	var total int64
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), fileExt)
		t.Run(name, func(t *testing.T) {
			b := readFile(t, f)
			total += int64(len(b))
			var exp expectation
			ej := readFile(t, filepath.Join(corpusDir, name+".expect.json"))
			dec := json.NewDecoder(bytes.NewReader(ej))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&exp); err != nil {
				t.Fatalf("%s.expect.json: %v", name, err)
			}
			if exp.Detections == nil {
				t.Fatalf("%s.expect.json has no detections object (write {} for none)", name)
			}
			res := replayBytes(t, b, detect.Config{})
			if got := Tally(res.Events); !reflect.DeepEqual(got, exp.Detections) {
				t.Errorf("detections %v, want %v", got, exp.Detections)
				for _, e := range res.Events {
					t.Logf("  %s %s vl=%.2f %v", e.Check, e.Action, e.VL, e.Details)
				}
			}
			if !res.Complete || res.End != EndClosed || res.Header.Partial {
				t.Errorf("complete=%v end=%v partial=%v, want a whole session", res.Complete, res.End, res.Header.Partial)
			}
			if res.Diverged() {
				t.Errorf("replay diverged from the live session: %d live flags, %d replayed, %d probes missed of %d",
					res.RecordedFlags, len(res.Events), res.MissedProbes, res.Probes)
			}
			if res.Probes == 0 {
				t.Error("no probes in the recording: the probe path is not covered")
			}
			if res.Header.Protocol != exp.Protocol || packets.VersionName(res.Header.Protocol) == "" {
				t.Errorf("protocol %d, expect file says %d", res.Header.Protocol, exp.Protocol)
			}
			if len(exp.Detections) == 0 {
				honest[exp.Version] = true
			}
			for k := range exp.Detections {
				cheats[strings.SplitN(k, "/", 2)[0]] = true
			}
		})
	}
	for _, v := range minCorpusVersions {
		if !honest[v] {
			t.Errorf("no honest recording for %s", v)
		}
	}
	for _, c := range minCheats {
		if !cheats[c] {
			t.Errorf("no cheating recording for %s", c)
		}
	}
	// The corpus is committed: keep it small.
	const maxCorpusBytes = 4 << 20
	if total > maxCorpusBytes {
		t.Errorf("corpus is %d bytes, keep it under %d", total, maxCorpusBytes)
	}
}

// TestCorpusExpectationsHaveRecordings: no orphan expectation files.
func TestCorpusExpectationsHaveRecordings(t *testing.T) {
	exps, _ := filepath.Glob(filepath.Join(corpusDir, "*.expect.json"))
	for _, e := range exps {
		rec := strings.TrimSuffix(e, ".expect.json") + fileExt
		if _, err := os.Stat(rec); err != nil {
			t.Errorf("%s has no recording: %v", e, err)
		}
	}
}

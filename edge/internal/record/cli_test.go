package record

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/detection"
)

const cliFile = corpusDir + "/cheat_pitch_1.8.8.rgrec"

var cliWant = map[string]int{"badpackets.invalid_pitch/kick": 1}

func runReplay(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := RunReplay(context.Background(), args, &out)
	return out.String(), err
}

func TestRunReplayJSON(t *testing.T) {
	out, err := runReplay(t, "--json", cliFile)
	if err != nil {
		t.Fatal(err)
	}
	var events []detection.Event
	var sum *Summary
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var probe struct {
			Summary *Summary `json:"summary"`
		}
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if probe.Summary != nil {
			sum = probe.Summary
			continue
		}
		var e detection.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if err := e.Validate(); err != nil {
			t.Errorf("event %s does not validate: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	if sum == nil {
		t.Fatalf("no summary line in:\n%s", out)
	}
	if !reflect.DeepEqual(Tally(events), cliWant) || !reflect.DeepEqual(sum.Detections, cliWant) {
		t.Errorf("events %v, summary %v; want %v", Tally(events), sum.Detections, cliWant)
	}
	if sum.Protocol != 47 || sum.Player != "rg_pitch" || !sum.Complete || sum.Diverged || sum.RecordedFlags != 1 || sum.End != "closed" {
		t.Errorf("summary %+v", sum)
	}
}

func TestRunReplayText(t *testing.T) {
	out, err := runReplay(t, cliFile, corpusDir+"/honest_1.20.4.rgrec")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"cheat_pitch_1.8.8.rgrec: rg_pitch (protocol 47, 1.8.9)",
		"DETECT badpackets.invalid_pitch",
		`pitch="120"`,
		"1 detection(s) badpackets.invalid_pitch/kick×1; the live engine flagged 1\n",
		"honest_1.20.4.rgrec: rg_honest (protocol 765, 1.20.4)",
		"0 detection(s); the live engine flagged 0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRunReplayRecords(t *testing.T) {
	out, err := runReplay(t, "--records", cliFile)
	if err != nil {
		t.Fatal(err)
	}
	res := replayBytes(t, readFile(t, cliFile), detect.Config{})
	if got := strings.Count(out, " packet "); got != res.Packets {
		t.Errorf("%d packet lines, want %d", got, res.Packets)
	}
	if got := strings.Count(out, " probe "); got != res.Probes {
		t.Errorf("%d probe lines, want %d", got, res.Probes)
	}
	// Each detection follows the packet that raised it.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "DETECT") && (i == 0 || !strings.Contains(lines[i-1], "PlayerLook") && !strings.Contains(lines[i-1], "DETECT")) {
			t.Errorf("detection %q follows %q, not the look packet", l, lines[i-1])
		}
	}
	out, err = runReplay(t, "--records", "--json", cliFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out, `{"record":{`); got != res.Packets+res.Probes+res.RecordedFlags {
		t.Errorf("%d JSON record lines, want %d", got, res.Packets+res.Probes+res.RecordedFlags)
	}
}

// TestRunReplayConfig applies the detection section of an edge config file.
func TestRunReplayConfig(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
		diverged   bool
	}{
		// Alert mode neither drops nor kicks: the same flag, as an alert
		// (the recording ends at the live kick).
		{"alert", "1 detection(s) badpackets.invalid_pitch/alert×1; the live engine flagged 1\n", false},
		// Off: nothing, where the live engine flagged once.
		{"off", "0 detection(s); the live engine flagged 1; DIVERGED", true},
	} {
		cfg := filepath.Join(t.TempDir(), "edge.yaml")
		yaml := "detection:\n  checks:\n    badpackets.invalid_pitch:\n      mode: " + tc.mode + "\n"
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := runReplay(t, "--config", cfg, cliFile)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, tc.want) || strings.Contains(out, "DIVERGED") != tc.diverged {
			t.Errorf("mode %s: output lacks %q:\n%s", tc.mode, tc.want, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("detection:\n  checks:\n    badpackets.invalid_pitch:\n      mode: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runReplay(t, "--config", bad, cliFile); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Errorf("bad mode: err = %v", err)
	}
}

func TestRunReplayErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.rgrec")
	b := readFile(t, cliFile)
	if err := os.WriteFile(corrupt, corruptTag(t, b), 0o600); err != nil {
		t.Fatal(err)
	}
	notRec := filepath.Join(dir, "note.txt")
	if err := os.WriteFile(notRec, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr error  // errors.Is target, or nil for "any error"
		errText string // substring of the error
		out     string // substring of the output
	}{
		// Usage errors go back to main (stderr); stdout stays clean.
		{"no files", nil, ErrUsage, "no recording", ""},
		{"unknown flag", []string{"--loud", cliFile}, ErrUsage, "flag provided but not defined", ""},
		{"missing file", []string{filepath.Join(dir, "nope.rgrec"), cliFile}, os.ErrNotExist, "nope.rgrec", "badpackets.invalid_pitch/kick×1"},
		{"not a recording", []string{notRec}, ErrNotRecording, "note.txt", ""},
		{"corrupt", []string{corrupt}, ErrCorrupt, "corrupt.rgrec", "error: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runReplay(t, tc.args...)
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("err = %v, want %v containing %q", err, tc.wantErr, tc.errText)
			}
			if !strings.Contains(out, tc.out) || tc.out == "" && out != "" {
				t.Errorf("output %q, want it to contain %q (and nothing when that is empty)", out, tc.out)
			}
		})
	}
	for _, h := range []string{"--help", "-h"} {
		if out, err := runReplay(t, h); err != nil || out != ReplayUsage {
			t.Errorf("%s: %v\n%s", h, err, out)
		}
	}
}

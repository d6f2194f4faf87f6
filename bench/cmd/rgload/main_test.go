package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"-targets", "nginx"},
		{"-workloads", "soak"},
		{"-rtt-packet", "chat"},
		{"-compression", "-5"},
		{"-haproxy-splice", "sometimes"},
		{"-targets", "edge", "-edge-bin", "/nonexistent/rustguard-edge"},
		{"-no-such-flag"},
		{"-players", "0"},
		{"-players-chunks", "-1"},
		{"-players-entity-moves", "100000"},
	}
	for _, args := range tests {
		if code := realMain(args); code != 2 {
			t.Errorf("rgload %s exited %d, want 2", strings.Join(args, " "), code)
		}
	}
}

// TestDirectRunWritesReport runs a tiny direct-only benchmark end to end and
// checks the report file it writes.
func TestDirectRunWritesReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	code := realMain([]string{"-quick", "-targets", "direct", "-workloads", "bulk,rtt,status",
		"-bulk-duration", "200ms", "-rtt-duration", "200ms", "-rtt-conns", "4", "-status-duration", "200ms",
		"-out", out})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"# Benchmarks", "rgload -quick -targets direct", "Mode: **quick**", "| Bulk throughput"} {
		if !strings.Contains(string(doc), s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

func TestCommandLineQuotes(t *testing.T) {
	got := commandLine([]string{"-edge-env", "A=b c", "-out", "docs/BENCHMARKS.md"})
	if want := "rgload -edge-env 'A=b c' -out docs/BENCHMARKS.md"; got != want {
		t.Errorf("commandLine = %q, want %q", got, want)
	}
}

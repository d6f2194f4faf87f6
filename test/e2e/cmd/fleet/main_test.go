package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/test/e2e/fleet"
)

func TestParseRegions(t *testing.T) {
	got, err := parseRegions(defaultRegions)
	want := []fleet.Region{{Name: "eu", Port: 25565, AdminPort: 9565}, {Name: "us", Port: 25575, AdminPort: 9575}, {Name: "ap", Port: 25585, AdminPort: 9585}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseRegions(default) = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"", "eu", "eu:1", ":1:2", "eu:x:2", "eu:1:70000", "eu:-1:2"} {
		if _, err := parseRegions(bad); err == nil {
			t.Errorf("parseRegions(%q) accepted", bad)
		}
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
	}{
		{args: []string{"-h"}, code: 0, stdout: "fleet up"},
		{args: []string{"up", "-h"}, code: 0, stdout: "-regions"},
		{args: []string{"demo", "--help"}, code: 0, stdout: "-honest"},
		{args: nil, code: exitUsage, stderr: "usage", noStdout: true},
		{args: []string{"down"}, code: exitUsage, stderr: `unknown command "down"`, noStdout: true},
		{args: []string{"up", "-regions", "eu"}, code: exitUsage, stderr: "name:port:adminport", noStdout: true},
		{args: []string{"up", "extra"}, code: exitUsage, stderr: "unexpected", noStdout: true},
		{args: []string{"demo", "-root", "/", "-dir", "/nonexistent-fleet"}, code: exitFailed, stderr: "no fleet is running", noStdout: true},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) ||
				(tc.noStdout && stdout.Len() > 0) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

package config

import (
	"errors"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDurationParse(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "30", want: 30 * time.Second},
		{in: "30s", want: 30 * time.Second},
		{in: " 60 ", want: 60 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "0", want: 0},
		{in: "-5", want: -5 * time.Second}, // parses; Validate refuses it
		{in: "", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "30 seconds", wantErr: true},
		{in: "1.5", wantErr: true},
		{in: "0x1E", wantErr: true},
		{in: "-", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
		{in: "9223372037", wantErr: true}, // one second past what int64 nanoseconds hold
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalText([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadDuration) {
					t.Fatalf("UnmarshalText(%q) = %v, %v; want ErrBadDuration", tt.in, d, err)
				}
				return
			}
			if err != nil || d.D() != tt.want {
				t.Fatalf("UnmarshalText(%q) = %v, %v; want %v", tt.in, d.D(), err, tt.want)
			}
		})
	}
}

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		doc     string
		want    time.Duration
		wantErr string
	}{
		{doc: "d: 30", want: 30 * time.Second},
		{doc: `d: "30"`, want: 30 * time.Second},
		{doc: "d: 30s", want: 30 * time.Second},
		{doc: `d: "2m"`, want: 2 * time.Minute},
		{doc: "d: 1.5", wantErr: "line 1:"},
		{doc: "d: [1]", wantErr: "line 1: want a duration"},
		{doc: "d:\n  a: 1", wantErr: "line 2: want a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			var v struct {
				D Duration `yaml:"d"`
			}
			err := yaml.Unmarshal([]byte(tt.doc), &v)
			if tt.wantErr != "" {
				if err == nil || !contains(err.Error(), tt.wantErr) {
					t.Fatalf("Unmarshal(%q) error = %v; want it to contain %q", tt.doc, err, tt.wantErr)
				}
				return
			}
			if err != nil || v.D.D() != tt.want {
				t.Fatalf("Unmarshal(%q) = %v, %v; want %v", tt.doc, v.D.D(), err, tt.want)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{60 * time.Second, "60s"},
		{5 * time.Second, "5s"},
		{0, "0s"},
		{1500 * time.Millisecond, "1.5s"},
		{250 * time.Millisecond, "250ms"},
	}
	for _, tt := range tests {
		got := Duration(tt.d).String()
		if got != tt.want {
			t.Errorf("Duration(%v).String() = %q; want %q", tt.d, got, tt.want)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(got)); err != nil || back.D() != tt.d {
			t.Errorf("round trip of %q = %v, %v; want %v", got, back.D(), err, tt.d)
		}
	}
}

package procstat

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		err  error
	}{
		{"plain", "1234 (haproxy) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 2 0 500 1000 200",
			3800 * time.Millisecond, nil},
		{"comm with spaces and parens", "99 (a) b) (c) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0",
			100 * time.Millisecond, nil},
		{"no comm", "99 a R 1 2", 0, ErrFormat},
		{"too few fields", "99 (x) R 1 2 3", 0, ErrFormat},
		{"not a number", "99 (x) R 1 2 3 4 5 6 7 8 9 10 x 3", 0, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPU([]byte(tt.in))
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseStatusRSS(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		err  error
	}{
		{"present", "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\nThreads:\t3\n", 5120 << 10, nil},
		{"kernel thread without VmRSS", "Name:\tkthreadd\nState:\tS\n", 0, ErrFormat},
		{"odd unit", "VmRSS:\t5 MB\n", 0, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatusRSS([]byte(tt.in))
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("got %d, %v; want %d, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	pid := os.Getpid()
	rss, err := RSS(pid)
	if err != nil || rss <= 0 {
		t.Fatalf("RSS = %d, %v", rss, err)
	}
	// Burn a little CPU so the counters must move.
	before, err := CPUTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after, err := CPUTime(pid)
	if err != nil || after < before {
		t.Fatalf("cpu went from %v to %v (%v)", before, after, err)
	}
	if _, err := RSS(1 << 30); err == nil {
		t.Fatal("RSS of a pid that cannot exist succeeded")
	}
}

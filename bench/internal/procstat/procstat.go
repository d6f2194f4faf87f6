// Package procstat reads a process's CPU time and resident memory from
// Linux /proc, which is how the load tool charges a proxy for the work it
// did without instrumenting it.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// The kernel fixes it at 100 for user space on every Linux architecture
// (`getconf CLK_TCK` prints 100), whatever CONFIG_HZ is.
const ClockTicks = 100

// ErrFormat means a /proc file did not look as documented in proc(5).
var ErrFormat = errors.New("procstat: unexpected /proc format")

// Field positions in /proc/<pid>/stat, counted from 1 as proc(5) does.
const (
	statUtime = 14
	statStime = 15
	// statFirstAfterComm is the first field after "(comm)": state.
	statFirstAfterComm = 3
)

// CPUTime returns the user plus system CPU time pid has used.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	d, err := ParseStatCPU(b)
	if err != nil {
		return 0, fmt.Errorf("cpu time of pid %d: %w", pid, err)
	}
	return d, nil
}

// ParseStatCPU extracts utime+stime from the contents of /proc/<pid>/stat.
// The command name may hold spaces and parentheses, so fields are counted
// from the last ')'.
func ParseStatCPU(b []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, fmt.Errorf("no ')' after comm: %w", ErrFormat)
	}
	fields := bytes.Fields(b[end+1:])
	idx := func(field int) int { return field - statFirstAfterComm }
	if len(fields) <= idx(statStime) {
		return 0, fmt.Errorf("%d fields after comm: %w", len(fields), ErrFormat)
	}
	var ticks uint64
	for _, f := range []int{statUtime, statStime} {
		v, err := strconv.ParseUint(string(fields[idx(f)]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("field %d: %w: %w", f, ErrFormat, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / ClockTicks), nil
}

// RSS returns pid's resident set size in bytes (VmRSS).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	v, err := ParseStatusRSS(b)
	if err != nil {
		return 0, fmt.Errorf("rss of pid %d: %w", pid, err)
	}
	return v, nil
}

// ParseStatusRSS extracts VmRSS, in bytes, from /proc/<pid>/status.
func ParseStatusRSS(b []byte) (int64, error) {
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: %w", line, ErrFormat)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS value: %w: %w", ErrFormat, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS line: %w", ErrFormat)
}

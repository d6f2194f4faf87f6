package report

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a run happened, so numbers are never quoted
// without the hardware that produced them.
type Machine struct {
	CPUs       int    // logical CPUs (nproc)
	CPUModel   string // /proc/cpuinfo "model name"
	Kernel     string // /proc/sys/kernel/osrelease
	GoVersion  string // toolchain that built this tool
	MemTotal   string // /proc/meminfo MemTotal
	HAProxy    string // first line of haproxy -v, or why it is missing
	NoFileSoft uint64
	NoFileHard uint64
	// LoadAtStart is /proc/loadavg's 1, 5 and 15 minute averages when the
	// run began: anything well above zero means other work shared the
	// CPUs with the benchmark.
	LoadAtStart string
	// Busy is set when the 1-minute load average at start was above
	// QuietLoad.
	Busy bool
}

// QuietLoad is the 1-minute load average above which a run is flagged as
// sharing the machine: on a quiet box it sits near zero, and a single
// busy process elsewhere pushes it towards 1.
const QuietLoad = 0.5

// DetectMachine fills what the running system tells about itself; fields it
// cannot read say "unknown".
func DetectMachine() Machine {
	m := Machine{
		CPUs:        runtime.NumCPU(),
		CPUModel:    "unknown",
		Kernel:      "unknown",
		GoVersion:   runtime.Version(),
		MemTotal:    "unknown",
		LoadAtStart: "unknown",
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if v, ok := procField(b, "model name"); ok {
			m.CPUModel = v
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAtStart, m.Busy = parseLoadAvg(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if v, ok := procField(b, "MemTotal"); ok {
			m.MemTotal = humanKB(v)
		}
	}
	return m
}

// procField returns the value of the first "key : value" line of a /proc
// file.
func procField(b []byte, key string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// humanKB turns "24684312 kB" into "23.5 GiB".
func humanKB(v string) string {
	f := strings.Fields(v)
	if len(f) != 2 || f[1] != "kB" {
		return v
	}
	kb, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return v
	}
	return strconv.FormatFloat(kb/(1<<20), 'f', 1, 64) + " GiB"
}

// parseLoadAvg returns the three load averages of /proc/loadavg and
// whether the 1-minute one is above QuietLoad.
func parseLoadAvg(b []byte) (string, bool) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown", false
	}
	one, err := strconv.ParseFloat(f[0], 64)
	return strings.Join(f[:3], " "), err == nil && one > QuietLoad
}

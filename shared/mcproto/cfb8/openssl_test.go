//go:build linux

package cfb8_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rustguard/rustguard/shared/mcproto/cfb8"
)

// speedSeconds is how long each side runs per cell of the comparison, as
// `openssl speed -seconds` takes it.
const speedSeconds = 1

// speedSizes are the buffer sizes of the comparison: the benchmark's sizes.
var speedSizes = []int{16, 1 << 10, 16 << 10}

// TestMatchesOpenSSL holds the package to an implementation that shares no
// code with it: `openssl enc -aes-128-cfb8` over a few KiB, key = IV as
// Minecraft uses them.
func TestMatchesOpenSSL(t *testing.T) {
	openssl := lookOpenSSL(t)
	key := make([]byte, cfb8.KeySize)
	pt := make([]byte, 4099)
	rand.Read(key)
	rand.Read(pt)
	cmd := exec.Command(openssl, "enc", "-aes-128-cfb8", "-nopad",
		"-K", hex.EncodeToString(key), "-iv", hex.EncodeToString(key))
	cmd.Stdin = bytes.NewReader(pt)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl enc: %v", err)
	}
	for _, impl := range cfb8.Impls() {
		enc, err := impl.NewEncrypter(key, key)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(pt))
		enc.XORKeyStream(got, pt)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: ciphertext differs from openssl enc", impl.Name)
		}
		dec, err := impl.NewDecrypter(key, key)
		if err != nil {
			t.Fatal(err)
		}
		dec.XORKeyStream(got, want)
		if !bytes.Equal(got, pt) {
			t.Errorf("%s: openssl's ciphertext does not decrypt back", impl.Name)
		}
	}
}

// TestVsOpenSSL measures this package next to `openssl speed -evp
// aes-128-cfb8` (the cipher Velocity uses natively) in one run and logs the
// table; run it with -v to see it. It asserts nothing about speed: the
// machine is shared, and performance is measured, not asserted.
//
// Both sides divide by CPU time, not wall time: openssl speed divides by the
// process's user time unless given -elapsed, and this side reads its
// thread's CPU clock, so time spent descheduled on a busy machine counts for
// neither.
func TestVsOpenSSL(t *testing.T) {
	openssl := lookOpenSSL(t)
	if testing.Short() {
		t.Skip("takes about 12 seconds; without -short it runs")
	}
	impl := cfb8.Impls()[len(cfb8.Impls())-1] // the one NewEncrypter picks
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "AES-128-CFB8, MB/s per core (CPU time), impl %s, %d s per cell, race detector %v\n", impl.Name, speedSeconds, raceEnabled)
	fmt.Fprintf(&tbl, "%-8s %14s %10s %7s %14s %10s %7s\n", "size", "openssl enc", "ours enc", "ratio", "openssl dec", "ours dec", "ratio")
	for _, size := range speedSizes {
		oe := opensslSpeed(t, openssl, size, false)
		we := ourSpeed(t, impl, size, false)
		od := opensslSpeed(t, openssl, size, true)
		wd := ourSpeed(t, impl, size, true)
		fmt.Fprintf(&tbl, "%-8d %14.1f %10.1f %6.2fx %14.1f %10.1f %6.2fx\n", size, oe, we, we/oe, od, wd, wd/od)
	}
	t.Log("\n" + tbl.String())
}

func lookOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	return path
}

// opensslSpeed runs openssl speed for one buffer size and returns its MB/s.
// With -mr the result is the line "+F:<n>:AES-128-CFB8:<bytes per second>".
func opensslSpeed(t *testing.T, openssl string, size int, decrypt bool) float64 {
	t.Helper()
	args := []string{"speed", "-evp", "aes-128-cfb8", "-mr",
		"-seconds", strconv.Itoa(speedSeconds), "-bytes", strconv.Itoa(size)}
	if decrypt {
		args = append(args, "-decrypt")
	}
	out, err := exec.Command(openssl, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) == 4 && fields[0] == "+F" {
			bps, err := strconv.ParseFloat(fields[3], 64)
			if err != nil {
				t.Fatalf("openssl speed result %q: %v", sc.Text(), err)
			}
			return bps / 1e6
		}
	}
	t.Fatalf("no +F line in openssl speed output:\n%s", out)
	return 0
}

// ourSpeed runs impl over one size-byte buffer for speedSeconds of wall time
// and returns MB per second of this thread's CPU time.
func ourSpeed(t *testing.T, impl cfb8.Impl, size int, decrypt bool) float64 {
	t.Helper()
	key := make([]byte, cfb8.KeySize)
	var s streamer
	var err error
	if decrypt {
		s, err = impl.NewDecrypter(key, key)
	} else {
		s, err = impl.NewEncrypter(key, key)
	}
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	// batch keeps the clock reads rare: about 64 KiB between them.
	batch := max(1, (64<<10)/size)

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	deadline := time.Now().Add(speedSeconds * time.Second)
	start := threadCPU(t)
	var total int
	for time.Now().Before(deadline) {
		for range batch {
			s.XORKeyStream(buf, buf)
		}
		total += batch * size
	}
	return float64(total) / (threadCPU(t) - start).Seconds() / 1e6
}

func threadCPU(t *testing.T) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		t.Fatalf("thread CPU clock: %v", err)
	}
	return time.Duration(ts.Nano())
}

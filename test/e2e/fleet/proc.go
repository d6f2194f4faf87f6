package fleet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// logTailBytes is how much of a process's log an error message quotes:
	// enough for the lines that say why it stopped.
	logTailBytes = 4 << 10

	// maxLine caps one stdout line read from backend.js (its longest, a
	// status line, is a few KiB).
	maxLine = 1 << 20
)

// Process is one child the fleet started. Its stdout and stderr go to its
// log file; it runs in a process group of its own, so a Ctrl-C in the
// terminal reaches only the launcher, which stops the fleet in order, and
// it is killed when the launcher dies (Pdeathsig), so even a launcher that
// is killed leaves nothing behind.
type Process struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	done chan struct{} // closed after Wait returned

	mu      sync.Mutex
	waitErr error
}

// procSpec is what startProcess needs.
type procSpec struct {
	name string
	bin  string
	args []string
	dir  string   // working directory ("" = the launcher's)
	env  []string // the whole environment
	log  string   // log file, truncated
	// onLine, when set, receives every stdout line (without the newline)
	// as well as the log file: how the fleet reads backend.js's events.
	onLine func(line []byte)
}

// startProcess starts a child as described.
func startProcess(s procSpec) (*Process, error) {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", s.name, err)
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stdout io.ReadCloser
	if s.onLine == nil {
		cmd.Stdout = logf
	} else if stdout, err = cmd.StdoutPipe(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("%s: stdout: %w", s.name, err)
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", s.name, s.bin, err)
	}
	p := &Process{Name: s.name, LogPath: s.log, cmd: cmd, done: make(chan struct{})}
	go func() {
		if stdout != nil {
			copyLines(stdout, logf, s.onLine)
		}
		err := cmd.Wait()
		_ = logf.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// copyLines copies r to w line by line, handing each line to onLine too.
// The child writes its stderr to the same file itself; whole lines keep the
// two readable when they interleave.
func copyLines(r io.Reader, w io.Writer, onLine func([]byte)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = w.Write(append(append([]byte(nil), line...), '\n'))
		onLine(line)
	}
	// A line over maxLine ends the copy; the child then blocks on a full
	// pipe, so drain what is left rather than leave it stuck.
	_, _ = io.Copy(w, r)
}

// Pid is the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the child has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the child has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Stop sends SIGTERM, waits up to grace, then SIGKILLs; only this child is
// signalled, by its PID. It returns once the child has exited, and is
// idempotent.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// LogTail is the end of the child's log, for error messages.
func (p *Process) LogTail() string { return fileTail(p.LogPath, logTailBytes) }

// exitError describes a child that exited while it should be starting.
func (p *Process) exitError() error {
	_, err := p.Exited()
	return fmt.Errorf("%s exited while starting (%v); the end of %s:\n%s", p.Name, err, p.LogPath, p.LogTail())
}

// portTaken reports whether the child's log says a port was in use: the one
// start failure worth another try with other ports.
func (p *Process) portTaken() bool {
	return strings.Contains(strings.ToLower(fileTail(p.LogPath, logTailBytes)), "address already in use")
}

func fileTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// logPath is where a child named name logs inside dir.
func logPath(dir, name string) string { return filepath.Join(dir, "logs", name+".log") }

package record

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bounds of the recordings directory as a whole.
const (
	// DefaultTotalMaxBytes caps the directory: sixteen recordings at the
	// per-file default, or thousands of on-detection ones, and a small
	// share of an edge machine's disk.
	DefaultTotalMaxBytes = 1 << 30
	// defaultMaxFiles caps how many recordings the directory holds. A bot flood
	// with on-detection recording writes a small file per bot, so the
	// byte cap alone would allow millions of files: inodes, and the list
	// of finished files the edge keeps to delete the oldest (about 100
	// bytes each, so 1 MiB here).
	defaultMaxFiles = 10_000
	// reserveBlock is how much of the total cap a recording takes at a
	// time: the chunk the writer writes at once, so a recording asks the
	// shared account about once per chunk, never per packet.
	reserveBlock = chunkSize
)

// diskQuota keeps the recordings directory under its total cap. Every
// recording reserves its bytes before encoding them (a block at a time),
// so the files on disk never exceed what was reserved; when a reservation
// does not fit, the oldest finished recordings are deleted first. Files
// being written are never deleted: when they alone fill the cap, new
// recordings are refused and a growing one stops with EndDiskCap.
//
// The directory is read once, in newDiskQuota; after that the account is
// kept in memory. Only *.rgrec files directly in the directory count, and
// a file removed by hand is noticed when its turn to be deleted comes.
type diskQuota struct {
	dir      string
	maxBytes int64
	maxFiles int
	log      *slog.Logger
	// wg is the Recorders' wait group: Close waits for the remover too.
	wg *sync.WaitGroup

	mu        sync.Mutex
	finished  []diskFile // closed recordings, oldest first
	doneBytes int64      // bytes of finished files, and of files that could not be removed
	liveBytes int64      // bytes reserved by recordings being written
	live      int        // recordings being written
	doomed    []diskFile // chosen for deletion, not yet deleted
	removing  bool       // a remover goroutine is running
	removed   int64      // files deleted to stay under the caps
	refused   int64      // recordings refused because the ones being written fill the caps
}

// diskFile is one finished recording: its name in the directory and size.
type diskFile struct {
	name string
	size int64
}

// newDiskQuota counts the recordings already in dir (a previous run's),
// oldest first by modification time, and deletes the oldest of them until
// they fit the caps.
func newDiskQuota(dir string, maxBytes int64, maxFiles int, log *slog.Logger, wg *sync.WaitGroup) (*diskQuota, error) {
	d := &diskQuota{dir: dir, maxBytes: maxBytes, maxFiles: maxFiles, log: log, wg: wg}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("detection.record_dir: count recordings: %w", err)
	}
	type found struct {
		diskFile
		mod time.Time
	}
	var files []found
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), fileExt) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return nil, fmt.Errorf("detection.record_dir: count recordings: %w", err)
		}
		files = append(files, found{diskFile{e.Name(), info.Size()}, info.ModTime()})
	}
	slices.SortFunc(files, func(a, b found) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	for _, f := range files {
		d.finished = append(d.finished, f.diskFile)
		d.doneBytes += f.size
	}
	d.mu.Lock()
	for len(d.finished) > 0 && (d.doneBytes > d.maxBytes || len(d.finished) > d.maxFiles) {
		d.evict()
	}
	doomed := d.doomed
	d.doomed = nil
	d.mu.Unlock()
	d.remove(doomed) // before the edge serves anyone: no need for a goroutine
	return d, nil
}

// begin admits a new recording with a first reservation of n bytes.
func (d *diskQuota) begin(n int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.startRemover()
	for len(d.finished) > 0 && len(d.finished)+d.live >= d.maxFiles {
		d.evict()
	}
	if d.live >= d.maxFiles || !d.fit(n) {
		d.refused++
		return false
	}
	d.live++
	d.liveBytes += n
	return true
}

// grow reserves n more bytes for a recording being written.
func (d *diskQuota) grow(n int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.startRemover()
	if !d.fit(n) {
		return false
	}
	d.liveBytes += n
	return true
}

// fit deletes the oldest finished recordings until n more bytes fit, and
// reports whether they do. Called with mu held.
func (d *diskQuota) fit(n int64) bool {
	for d.doneBytes+d.liveBytes+n > d.maxBytes && len(d.finished) > 0 {
		d.evict()
	}
	return d.doneBytes+d.liveBytes+n <= d.maxBytes
}

// evict moves the oldest finished recording out of the account, to be
// deleted. Called with mu held.
func (d *diskQuota) evict() {
	f := d.finished[0]
	d.finished[0] = diskFile{}
	d.finished = d.finished[1:]
	d.doneBytes -= f.size
	d.doomed = append(d.doomed, f)
}

// startRemover deletes what evict chose on a goroutine of its own:
// deleting is disk I/O, and begin and grow run on relay goroutines.
// Called with mu held.
func (d *diskQuota) startRemover() {
	if len(d.doomed) > 0 && !d.removing {
		d.removing = true
		d.wg.Add(1)
		go d.remover()
	}
}

// end closes a recording's account: the reservation is given back, and the
// bytes that reached the disk (onDisk: the file exists) are counted as a
// finished recording, the newest.
func (d *diskQuota) end(name string, reserved, written int64, onDisk bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.live--
	d.liveBytes -= reserved
	if onDisk {
		d.finished = append(d.finished, diskFile{name, written})
		d.doneBytes += written
	}
}

// remover deletes what evict chose until nothing is left.
func (d *diskQuota) remover() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		doomed := d.doomed
		d.doomed = nil
		if len(doomed) == 0 {
			d.removing = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		d.remove(doomed)
	}
}

// remove deletes files. A file already gone (removed by hand) is fine; one
// that cannot be deleted is counted again, so the account stays true and
// the cap tighter, and is not tried again.
func (d *diskQuota) remove(files []diskFile) {
	for _, f := range files {
		err := os.Remove(filepath.Join(d.dir, f.name))
		d.mu.Lock()
		switch {
		case err == nil:
			d.removed++
		case !errors.Is(err, fs.ErrNotExist):
			d.doneBytes += f.size
		}
		d.mu.Unlock()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("recording over the total cap not deleted; it stays counted", "file", f.name, "err", err)
		}
	}
}

// diskStats is the account as the metrics show it.
type diskStats struct {
	bytes, files, removed, refused int64
}

func (d *diskQuota) stats() diskStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return diskStats{bytes: d.doneBytes + d.liveBytes, files: int64(len(d.finished) + d.live),
		removed: d.removed, refused: d.refused}
}

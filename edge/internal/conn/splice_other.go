//go:build !linux

package conn

import (
	"errors"
	"io"
)

// spliceCopy copies the rest of the leg; splice(2) and its pipe are
// Linux's, so elsewhere this is a plain copy on the pump's goroutine (no
// poller to park in either: poller_other.go).
func (p *pump) spliceCopy(bool) error {
	n, err := io.Copy(p.dst, p.src.c)
	p.s.h.o.Metrics.BytesForwarded[p.dir].Add(float64(n))
	return err
}

var errNoPeek = errors.New("waiting without reading needs splice(2) (Linux)")

// waitBytes and tryBytes serve the spliced copy, which is Linux's alone.
func (l *leg) waitBytes() error { return errNoPeek }

func (l *leg) tryBytes() (bool, error) { return false, errNoPeek }

// spliceFrames: large frames are spliced only where splice(2) is.
const spliceFrames = false

func (p *pump) spliceFrame(int) error { return errNoPeek }

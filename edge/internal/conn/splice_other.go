//go:build !linux

package conn

import "io"

// spliceCopy copies the rest of the leg; splice(2) and its pipe are
// Linux's, so elsewhere this is a plain copy.
func (p *pump) spliceCopy() (int64, error) {
	n, err := io.Copy(p.dst, p.src.c)
	p.s.h.o.Metrics.BytesForwarded[p.dir].Add(float64(n))
	return n, err
}

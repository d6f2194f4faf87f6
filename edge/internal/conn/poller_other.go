//go:build !linux

package conn

import (
	"errors"
	"sync/atomic"
	"time"
)

// Off Linux idle legs wait on goroutines of their own (poller_linux.go).
type poller struct{}

type parking struct{ deadline atomic.Int64 }

func newPoller(time.Duration) (*poller, error) { return nil, errors.New("no poller on this platform") }

func (pl *poller) close() {}

func (p *pump) park(*poller, time.Time) bool { return false }

func (p *pump) unpark() {}

const pollerAvailable = false

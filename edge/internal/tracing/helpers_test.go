package tracing

import (
	"context"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// memExporter keeps what it is asked to export. fail, when set, decides
// each call's error (before anything is kept); gate, when set, makes each
// call wait for a value (or its context) first.
type memExporter struct {
	mu      sync.Mutex
	spans   []sdktrace.ReadOnlySpan
	batches []int
	calls   int
	fail    func(call int) error
	gate    chan struct{}
	changed chan struct{}
	down    bool
}

func newMemExporter() *memExporter { return &memExporter{changed: make(chan struct{})} }

func (m *memExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	defer func() {
		close(m.changed)
		m.changed = make(chan struct{})
	}()
	if m.fail != nil {
		if err := m.fail(m.calls); err != nil {
			return err
		}
	}
	m.spans = append(m.spans, spans...)
	m.batches = append(m.batches, len(spans))
	return nil
}

func (m *memExporter) Shutdown(context.Context) error {
	m.mu.Lock()
	m.down = true
	m.mu.Unlock()
	return nil
}

func (m *memExporter) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(m.spans))
	for i, s := range m.spans {
		out[i] = s.Name()
	}
	return out
}

func (m *memExporter) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.spans)
}

// waitFor blocks until ok (called under the lock) or ctx ends.
func (m *memExporter) waitFor(ctx context.Context, ok func(m *memExporter) bool) bool {
	for {
		m.mu.Lock()
		done := ok(m)
		ch := m.changed
		m.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

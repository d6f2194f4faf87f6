package ingest

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the OTLP trace protocol (opentelemetry-proto,
// collector/trace/v1 and trace/v1) that hold the repeated entries
// countEntries counts.
const (
	fieldResourceSpans = 1 // ExportTraceServiceRequest.resource_spans
	fieldScopeSpans    = 2 // ResourceSpans.scope_spans
	fieldSpans         = 2 // ScopeSpans.spans
)

// errMalformed is wire data that is not a protobuf message.
var errMalformed = errors.New("malformed protobuf")

// countEntries counts the resource, scope and span entries of an encoded
// ExportTraceServiceRequest without decoding it, and stops with an error
// once there are more than limit. It allocates nothing, so an oversized
// request of empty entries is refused before the decoder builds them.
func countEntries(b []byte, limit int) (int, error) {
	n := 0
	err := walkField(b, fieldResourceSpans, func(rs []byte) error {
		n++
		return walkField(rs, fieldScopeSpans, func(ss []byte) error {
			n++
			return walkField(ss, fieldSpans, func([]byte) error {
				n++
				if n > limit {
					return errTooMany
				}
				return nil
			})
		})
	})
	if err == nil && n > limit {
		err = errTooMany
	}
	if errors.Is(err, errTooMany) {
		return n, fmt.Errorf("%w: more than %d resource, scope and span entries", errTooMany, limit)
	}
	return n, err
}

var errTooMany = errors.New("too many entries")

// walkField calls f with the payload of every length-delimited field num
// of message b, skipping all other fields.
func walkField(b []byte, num protowire.Number, f func([]byte) error) error {
	for len(b) > 0 {
		fn, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		if fn == num && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(m))
			}
			b = b[m:]
			if err := f(v); err != nil {
				return err
			}
			continue
		}
		m := protowire.ConsumeFieldValue(fn, typ, b)
		if m < 0 {
			return fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(m))
		}
		b = b[m:]
	}
	return nil
}

package aggregate

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rustguard/rustguard/central/internal/report"
)

// The log entry and the history member of every detection are encoded
// here by hand: encoding/json's reflection was a quarter of central's CPU
// at the benchmark's ingest rate. The output is the JSON encoding/json
// reads back into report.Detection and wireEntry (a test holds both
// encoders to the same result).

// appendRecord appends d as JSON, the fields of report.Detection with
// their tags (Correlate is not stored).
func appendRecord(b []byte, d *report.Detection) []byte {
	e := &d.Event
	b = append(b, `{"schema":`...)
	b = strconv.AppendInt(b, int64(e.Schema), 10)
	b = appendField(b, "check", e.Check)
	b = append(b, `,"layer":`...)
	b = strconv.AppendUint(b, uint64(e.Layer), 10)
	b = appendField(b, "severity", e.Severity.String())
	b = appendField(b, "action", e.Action.String())
	if e.Experimental {
		b = append(b, `,"experimental":true`...)
	}
	b = append(b, `,"vl":`...)
	b = appendFloat(b, e.VL)
	b = appendOptional(b, "player", e.Player)
	b = appendOptional(b, "uuid", e.UUID)
	b = append(b, `,"authenticated":`...)
	b = strconv.AppendBool(b, e.Authenticated)
	b = appendOptional(b, "client_addr", e.ClientAddr)
	b = append(b, `,"protocol":`...)
	b = strconv.AppendInt(b, int64(e.Protocol), 10)
	b = appendOptional(b, "brand", e.Brand)
	b = appendOptional(b, "region", e.Region)
	b = appendOptional(b, "edge", e.Edge)
	b = appendOptional(b, "session", e.Session)
	if len(e.Details) > 0 {
		keys := make([]string, 0, len(e.Details))
		for k := range e.Details {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"details":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, e.Details[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "trace_id", d.TraceID)
	b = appendField(b, "span_id", d.SpanID)
	return append(b, '}')
}

// appendEntry appends a history member (wireEntry's fields and tags).
func appendEntry(b []byte, e Entry) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, e.Time.UnixMilli(), 10)
	b = appendField(b, "r", e.Region)
	b = appendField(b, "c", e.Check)
	b = appendField(b, "a", e.Action)
	b = appendField(b, "tr", e.TraceID)
	b = appendField(b, "sp", e.SpanID)
	b = appendOptional(b, "e", e.Edge)
	if e.Authenticated {
		b = append(b, `,"au":true`...)
	}
	b = appendOptional(b, "n", e.Player)
	b = appendOptional(b, "u", e.UUID)
	b = appendOptional(b, "ad", e.Address)
	b = appendOptional(b, "p", e.Prefix)
	return append(b, '}')
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendOptional is appendField for an omitempty field.
func appendOptional(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, name, v)
}

// appendFloat writes a float as encoding/json would read it back; the
// values here are finite (DecodeDetection refuses the rest), and a
// non-finite one is written as 0 rather than as invalid JSON.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD (as encoding/json
// does).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package telemetry

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// MaxNameShapeLen is the longest name shape in characters: shapes are cut
// to the 16 characters of a vanilla player name.
const MaxNameShapeLen = 16

// AttackReport is an edge's attack-mode report, decoded from a SpanAttack
// span: sent every 10 s while attack mode is on and once when it turns
// off, with what the edge saw in that interval.
type AttackReport struct {
	Region string    // cloud.region of the reporting edge
	Edge   string    // service.instance.id of the reporting edge
	Time   time.Time // the span's start
	// Active: attack mode is on (false: this is the report that it ended).
	Active              bool
	JoinsPerSecond      float64
	VerificationsFailed int64
	// NameShape is the most common shape of the interval's login names
	// (A upper-case, a lower-case, 0 digit, other characters kept) and
	// NameShapeCount how many logins had it; "" and 0 when none.
	NameShape      string
	NameShapeCount int64
}

// DecodeAttack rebuilds an attack report from a SpanAttack span. Like
// DecodeDetection it trusts nothing: numbers must be finite and not
// negative, strings are cut, and a report without its region or its
// attack.active flag is refused.
func DecodeAttack(name string, resource, span Attributes, start time.Time) (AttackReport, error) {
	if name != SpanAttack {
		return AttackReport{}, ErrNotAttack
	}
	var errs []error
	r := AttackReport{Time: start.UTC(), Region: str(resource, AttrRegion), Edge: str(resource, AttrServiceInstance)}
	if r.Region == "" {
		errs = append(errs, fmt.Errorf("%s: missing on the resource", AttrRegion))
	}
	if start.IsZero() {
		errs = append(errs, errors.New("time is zero"))
	}
	if v, ok := span.Get(AttrAttackActive); !ok {
		errs = append(errs, fmt.Errorf("%s: missing", AttrAttackActive))
	} else if b, ok := v.(bool); !ok {
		errs = append(errs, fmt.Errorf("%s: %v is not a boolean", AttrAttackActive, v))
	} else {
		r.Active = b
	}
	if _, ok := span.Get(AttrAttackJoinsPerSec); ok {
		r.JoinsPerSecond = double(span, AttrAttackJoinsPerSec, &errs)
	}
	if _, ok := span.Get(AttrAttackFailedVerify); ok {
		r.VerificationsFailed = integer(span, AttrAttackFailedVerify, &errs)
	}
	if _, ok := span.Get(AttrAttackNameShapeHits); ok {
		r.NameShapeCount = integer(span, AttrAttackNameShapeHits, &errs)
	}
	r.NameShape = str(span, AttrAttackNameShape)
	if utf8.RuneCountInString(r.NameShape) > MaxNameShapeLen {
		r.NameShape = string([]rune(r.NameShape)[:MaxNameShapeLen])
	}
	if math.IsNaN(r.JoinsPerSecond) || math.IsInf(r.JoinsPerSecond, 0) || r.JoinsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("%s: %v is not a rate", AttrAttackJoinsPerSec, r.JoinsPerSecond))
	}
	if r.VerificationsFailed < 0 || r.NameShapeCount < 0 {
		errs = append(errs, errors.New("attack counts must not be negative"))
	}
	if len(errs) > 0 {
		return AttackReport{}, fmt.Errorf("decode attack span: %w", errors.Join(errs...))
	}
	return r, nil
}

// ErrNotAttack is returned for a span that is not a SpanAttack span.
var ErrNotAttack = errors.New("not an attack report span")

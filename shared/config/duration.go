package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrBadDuration is a duration that is neither whole seconds nor a Go
// duration string.
var ErrBadDuration = errors.New("invalid duration")

// maxWholeSeconds is the largest number of seconds a time.Duration holds;
// a larger count would overflow int64 nanoseconds.
const maxWholeSeconds = math.MaxInt64 / int64(time.Second)

// Duration is a time.Duration that reads two spellings: a bare integer is
// seconds (the original design, docs/DESIGN.md, writes "timeout: 30"), anything else is parsed by
// time.ParseDuration ("30s", "1m30s", "250ms"). The same rule applies to the
// YAML file and to environment variables.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String renders whole seconds as "60s" where time.Duration would say
// "1m0s", so docs and logs show what an operator would type; anything finer
// falls back to time.Duration's form. Both spellings parse back.
func (d Duration) String() string {
	td := time.Duration(d)
	if td%time.Second == 0 {
		return strconv.FormatInt(int64(td/time.Second), 10) + "s"
	}
	return td.String()
}

// MarshalText implements encoding.TextMarshaler (YAML and JSON output).
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; caarlos0/env uses it
// for environment variables.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := parseDuration(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler. It accepts YAML integers and
// strings alike and reports a yaml.TypeError so the decoder adds the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{
			fmt.Sprintf("line %d: want a duration (30 or \"30s\"), got a %s", n.Line, kindName(n.Kind)),
		}}
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrBadDuration)
	}
	if isInteger(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > maxWholeSeconds || n < -maxWholeSeconds {
			return 0, fmt.Errorf("%w %q: too many seconds", ErrBadDuration, s)
		}
		return Duration(time.Duration(n) * time.Second), nil
	}
	td, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%w %q: want whole seconds (30) or a duration such as 30s, 1m30s, 250ms", ErrBadDuration, s)
	}
	return Duration(td), nil
}

// isInteger reports whether s is an optionally signed run of decimal digits.
func isInteger(s string) bool {
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	default:
		return "scalar"
	}
}

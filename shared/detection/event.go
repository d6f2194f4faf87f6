// Package detection defines the detection event: what an edge reports when a
// check flags a player. The schema is shared by the edge (which emits events
// to metrics, logs, traces and the ban list) and the central service (which
// aggregates them across regions), so it is versioned: a change to a field's
// meaning bumps SchemaVersion, and check keys never change meaning (a changed
// rule gets a new key).
package detection

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// SchemaVersion is the version of Event's layout and semantics.
//
//   - 2: uuid is the offline UUID of the player name unless authenticated
//     is true (in version 1 it was whatever UUID the client claimed in
//     Login Start), and authenticated says whether the edge verified the
//     player's identity.
const SchemaVersion = 2

// Action is what the edge did about a flag.
type Action uint8

// Actions are ordered by strength: each does at least what the weaker
// ones do to the offending packet. Events carry them by name, so the
// numbering is not part of the schema.
const (
	ActionAlert   Action = iota // report only
	ActionRewrite               // the packet was relayed corrected (a value clamped)
	ActionDrop                  // the offending packet was not relayed
	ActionSetback               // the movement was not relayed and the edge moved the client back to where the backend last saw it
	ActionKick                  // the player was disconnected with a reason
	ActionBan                   // the player was disconnected and banned fleet-wide for a while
	numActions
)

var actionNames = [numActions]string{"alert", "rewrite", "drop", "setback", "kick", "ban"}

func (a Action) String() string {
	if a < numActions {
		return actionNames[a]
	}
	return "unknown"
}

// ParseAction reads an action name as used in configuration.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return 0, fmt.Errorf("unknown action %q (want alert, rewrite, drop, setback, kick or ban)", s)
}

// Actions lists every action, for pre-registering metric labels.
func Actions() []Action {
	return []Action{ActionAlert, ActionRewrite, ActionDrop, ActionSetback, ActionKick, ActionBan}
}

// MarshalText implements encoding.TextMarshaler.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Severity ranks how sure and how harmful a flag is.
type Severity uint8

const (
	SeverityInfo     Severity = iota // heuristics, experimental checks
	SeverityLow                      // odd but possible for honest clients
	SeverityMedium                   // unlikely for honest clients
	SeverityHigh                     // impossible for a vanilla client
	SeverityCritical                 // crash or exploit payloads
	numSeverities
)

var severityNames = [numSeverities]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < numSeverities {
		return severityNames[s]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	for i, n := range severityNames {
		if n == string(b) {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", b)
}

// Layer is the detection layer of a check (docs/DETECTIONS.md): 0 framing
// hygiene, 1 connection gate, 2 impossible values, 3 clocks, 4 combat and
// entities, 5 spam and exploit payloads.
type Layer uint8

// Event is one flag raised by one check against one player.
type Event struct {
	Schema       int      `json:"schema"`
	Check        string   `json:"check"` // stable key, e.g. badpackets.invalid_pitch
	Layer        Layer    `json:"layer"`
	Severity     Severity `json:"severity"`
	Action       Action   `json:"action"`
	Experimental bool     `json:"experimental,omitempty"`
	VL           float64  `json:"vl"` // violation level after this flag
	Player       string   `json:"player,omitempty"`
	// UUID is the player's UUID as the edge knows it: the account's UUID
	// when Authenticated, otherwise the offline UUID of Player (what an
	// offline backend calls the player), never the UUID the client claimed.
	UUID string `json:"uuid,omitempty"`
	// Authenticated reports whether the edge verified that the player owns
	// Player and UUID (online mode). False: both are the client's claim,
	// evidence about a connection, not about an account.
	Authenticated bool              `json:"authenticated"`
	ClientAddr    string            `json:"client_addr,omitempty"`
	Protocol      int32             `json:"protocol"`
	Brand         string            `json:"brand,omitempty"`
	Region        string            `json:"region,omitempty"`
	Edge          string            `json:"edge,omitempty"` // edge instance id
	Session       string            `json:"session,omitempty"`
	Details       map[string]string `json:"details,omitempty"` // check-specific evidence
	Time          time.Time         `json:"time"`
}

// keyPattern is the shape of a stable check key: lower-case dotted words.
var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// ValidKey reports whether k has the shape of a check key.
func ValidKey(k string) bool { return keyPattern.MatchString(k) }

// Validate checks an event received from elsewhere (the central service
// reads events from every edge and trusts none of them blindly).
func (e Event) Validate() error {
	var errs []error
	if e.Schema < 1 || e.Schema > SchemaVersion {
		errs = append(errs, fmt.Errorf("schema %d not in 1..%d", e.Schema, SchemaVersion))
	}
	if !ValidKey(e.Check) {
		errs = append(errs, fmt.Errorf("check key %q is not a dotted lower-case key", e.Check))
	}
	if e.Layer > 5 {
		errs = append(errs, fmt.Errorf("layer %d not in 0..5", e.Layer))
	}
	if e.Action >= numActions {
		errs = append(errs, fmt.Errorf("action %d unknown", e.Action))
	}
	if e.Severity >= numSeverities {
		errs = append(errs, fmt.Errorf("severity %d unknown", e.Severity))
	}
	if e.Time.IsZero() {
		errs = append(errs, errors.New("time is zero"))
	}
	return errors.Join(errs...)
}

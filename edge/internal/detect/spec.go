package detect

import (
	"github.com/rustguard/rustguard/shared/detection"
)

// CheckID indexes a check in the registry. Each check family owns a range
// so families can grow in their own files without renumbering others. The
// ids are internal: the stable key is what configuration, events and
// metrics use.
type CheckID uint16

// ID ranges by check family.
const (
	floodBase       CheckID = 0   // floods.go
	movementBase    CheckID = 30  // movement.go
	timerBase       CheckID = 70  // timer.go
	combatBase      CheckID = 100 // combat.go
	interactionBase CheckID = 130 // interaction.go
	inventoryBase   CheckID = 160 // inventory.go
	chatBase        CheckID = 190 // chat.go
	payloadBase     CheckID = 220 // payloads.go
	maxChecks       CheckID = 250
)

// Spec describes one check: its stable key and its defaults. Defaults are
// conservative (docs/DETECTIONS.md, "Severity and action policy"): checks that an
// honest client cannot trigger drop and kick; heuristics alert until their
// violation level says otherwise; experimental checks are off unless enabled.
type Spec struct {
	ID           CheckID
	Key          string // stable key, never reused with another meaning
	Layer        detection.Layer
	Severity     detection.Severity
	Action       detection.Action // what a flag does in enforce mode
	KickVL       float64          // kick once the violation level reaches this (0: never by VL)
	Decay        float64          // violation level lost per second without a flag
	Experimental bool             // off unless enabled in the configuration
	// Rewrites: the check can correct the packet (clamp a value) rather
	// than drop it, so the rewrite action is allowed for it.
	Rewrites bool
	// Setbacks: the check judges the player's position, so the setback
	// action (the edge moves the client back to where the backend last
	// saw it; setback.go) is allowed for it.
	Setbacks    bool
	Description string // one line for docs and operators
	// Params are the check's tunables with their defaults; configuration
	// may override them by name.
	Params map[string]float64
}

// allSpecs lists every check. Each family contributes its own slice.
func allSpecs() []Spec {
	var out []Spec
	for _, f := range []func() []Spec{floodSpecs, movementSpecs, movementBoundSpecs, movementPredictSpecs, worldMovementSpecs, timerSpecs, combatSpecs, interactionSpecs, interactionBoundSpecs, breakSpecs, inventorySpecs, chatSpecs, payloadSpecs} {
		out = append(out, f()...)
	}
	return out
}

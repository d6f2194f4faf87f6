package detect

import (
	"github.com/rustguard/rustguard/shared/detection"
)

// CheckID indexes a check in the registry. Each layer owns a range so check
// families can be added in their own files without renumbering others.
type CheckID uint16

// ID ranges by layer.
const (
	layer0Base CheckID = 0   // framing hygiene, floods, crash payloads
	layer1Base CheckID = 50  // connection gate (checks raised from edge/internal/gate)
	layer2Base CheckID = 100 // impossible values
	layer3Base CheckID = 150 // clocks and latency
	layer4Base CheckID = 200 // entities and combat
	layer5Base CheckID = 250 // spam and exploit payloads
	maxChecks  CheckID = 300
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
	Rewrites    bool
	Description string // one line for docs and operators
	// Params are the check's tunables with their defaults; configuration
	// may override them by name.
	Params map[string]float64
}

// allSpecs lists every check. Each family contributes its own slice.
func allSpecs() []Spec {
	var out []Spec
	for _, f := range []func() []Spec{layer0Specs, layer2Specs, layer3Specs, layer4Specs, layer5Specs} {
		out = append(out, f()...)
	}
	return out
}

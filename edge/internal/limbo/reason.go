package limbo

// Reason is the outcome of a verification: why it failed, or why it ended
// without a verdict. Its String is the stable check key (docs/DETECTIONS.md,
// "Verification limbo"), used alike as log field, metric label and detection
// key.
type Reason uint8

const (
	None        Reason = iota // passed
	KeepAlive                 // keep-alive not echoed, or echoed with another id
	Teleport                  // teleport not confirmed, confirmed with another id, or moved before confirming
	Gravity                   // positions that do not fall like vanilla, miss the platform or leave it
	Brand                     // no client brand, a malformed one, or two
	Settings                  // no client settings, or malformed ones
	Timeout                   // the verification did not finish in time
	Budget                    // more packets than a verification needs
	Protocol                  // a malformed frame or packet, or one out of place
	Unsupported               // no world for the client's protocol: not verified, not a failure
	Closed                    // the client went away or the edge stopped: not a failure
	numReasons
)

var reasonKeys = [numReasons]string{
	None:        "verify.passed",
	KeepAlive:   "verify.keepalive",
	Teleport:    "verify.teleport",
	Gravity:     "verify.gravity",
	Brand:       "verify.brand",
	Settings:    "verify.settings",
	Timeout:     "verify.timeout",
	Budget:      "verify.budget",
	Protocol:    "verify.protocol",
	Unsupported: "verify.unsupported",
	Closed:      "verify.closed",
}

// String returns the stable key, e.g. "verify.gravity".
func (r Reason) String() string {
	if r < numReasons {
		return reasonKeys[r]
	}
	return "verify.unknown"
}

// Failure reports whether the reason is the client's failure, one the gate
// should count (Failed). Unsupported and Closed are not: a player who quits
// mid-verification or an edge that shuts down proves nothing.
func (r Reason) Failure() bool {
	return r != None && r != Unsupported && r != Closed && r < numReasons
}

// Reasons lists every reason, for pre-registering metric labels.
func Reasons() []Reason {
	out := make([]Reason, 0, numReasons)
	for r := None; r < numReasons; r++ {
		out = append(out, r)
	}
	return out
}

// Result is the outcome of one verification.
type Result struct {
	// Passed is set when the client passed every check: the gate may
	// remember it (Verified) and let its next login through.
	Passed bool
	// Reason is None when Passed, and otherwise says why not.
	Reason Reason
	// Detail is a short, attacker-influenced description of what failed,
	// for debug logs only.
	Detail string
}

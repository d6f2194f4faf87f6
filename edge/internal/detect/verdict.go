package detect

// Outcome is what the relay does with a packet.
type Outcome uint8

const (
	Pass    Outcome = iota // relay it
	Rewrite                // relay Verdict.Packet in its place
	Drop                   // do not relay it; keep the player
	Setback                // do not relay it; send Verdict.Packet to the client (the edge's own teleport back)
	Kick                   // disconnect the player with Verdict.Reason
)

// Verdict is the engine's decision about one packet.
type Verdict struct {
	Outcome Outcome
	// Reason is the text the player sees on a kick.
	Reason string
	// Packet replaces the offending one on Rewrite, and is what goes to
	// the client on Setback (id + data, not framed). It aliases the
	// Player's buffer: valid until its next packet.
	Packet []byte
}

var (
	pass = Verdict{}
	drop = Verdict{Outcome: Drop}
)

// worse keeps the stronger of two verdicts.
func worse(a, b Verdict) Verdict {
	if b.Outcome > a.Outcome {
		return b
	}
	return a
}

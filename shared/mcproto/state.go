package mcproto

// State is a protocol state of one connection leg.
type State uint8

const (
	StateHandshake State = iota
	StateStatus
	StateLogin
	StateConfiguration // 1.20.2+ (protocol 764)
	StatePlay
	NumStates
)

var stateNames = [NumStates]string{"handshake", "status", "login", "configuration", "play"}

func (s State) String() string {
	if s < NumStates {
		return stateNames[s]
	}
	return "unknown"
}

// Direction says who sent a packet.
type Direction uint8

const (
	Serverbound Direction = iota // client → server
	Clientbound                  // server → client
	NumDirections
)

func (d Direction) String() string {
	switch d {
	case Serverbound:
		return "serverbound"
	case Clientbound:
		return "clientbound"
	}
	return "unknown"
}

// Handshake intents (docs/PROTOCOL.md, Handshake).
const (
	IntentStatus   = 1
	IntentLogin    = 2
	IntentTransfer = 3 // 1.20.5+: login on the wire, initiated by a server transfer
)

// Protocol numbers the edge branches on (docs/PROTOCOL.md, Protocol numbers).
const (
	Protocol1_8     = 47
	Protocol1_9     = 107
	Protocol1_12_2  = 340
	Protocol1_13    = 393
	Protocol1_16_5  = 754
	Protocol1_19    = 759
	Protocol1_19_1  = 760
	Protocol1_19_3  = 761
	Protocol1_20_2  = 764 // configuration state
	Protocol1_20_3  = 765 // NBT text components in play/configuration
	Protocol1_20_5  = 766 // transfer, cookies, should-authenticate
	Protocol1_21_2  = 768 // client tick end
	Protocol1_21_11 = 774
)

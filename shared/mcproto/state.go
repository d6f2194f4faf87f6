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
	Protocol1_11    = 315 // placement cursors become floats
	Protocol1_11_1  = 316
	Protocol1_12    = 335
	Protocol1_12_2  = 340
	Protocol1_13    = 393
	Protocol1_13_2  = 404 // item slots start with a present flag
	Protocol1_14    = 477 // poses: sneaking eyes at 1.27, swimming and crawling
	Protocol1_16_5  = 754
	Protocol1_17    = 755 // ping/pong replace window confirmations
	Protocol1_17_1  = 756
	Protocol1_18_2  = 758 // movement threshold 0.0002
	Protocol1_19    = 759
	Protocol1_19_1  = 760
	Protocol1_19_3  = 761
	Protocol1_20_2  = 764 // configuration state
	Protocol1_20_3  = 765 // NBT text components in play/configuration
	Protocol1_20_5  = 766 // transfer, cookies, should-authenticate
	Protocol1_21    = 767
	Protocol1_21_2  = 768 // client tick end
	Protocol1_21_4  = 769
	Protocol1_21_5  = 770
	Protocol1_21_6  = 771
	Protocol1_21_9  = 773
	Protocol1_21_11 = 774
	Protocol26_1    = 775
)

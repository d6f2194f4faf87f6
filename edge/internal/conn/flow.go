package conn

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rustguard/rustguard/edge/internal/forwarding"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// flow is the protocol state of one relayed connection, per direction, as
// the edge itself established it.
//
// The backend decides when a connection changes state, and the edge learns
// it from the clientbound frames it relays. The client can only follow what
// it has received, so every serverbound transition is legal only after the
// edge relayed its cause:
//
//   - Encryption Response after an Encryption Request;
//   - Login Plugin Response after a Login Plugin Request with its message id;
//   - Cookie Response (login) after a Cookie Request;
//   - Login Acknowledged (1.20.2+), or before 1.20.2 the first play packet,
//     after Login Success;
//   - the acknowledgement of Finish Configuration after Finish Configuration;
//   - Configuration Acknowledged after Start Configuration.
//
// What the client sends never moves its own leg on its own say-so: a client
// that pipelines play packets behind Login Start does not get them read as
// login packets (SHARP_EDGES.md, "Protocol state"). A serverbound login frame
// that arrives before the edge knows the backend's answer is held (sbHold)
// and classified again once the clientbound leg has learned more; one that
// cannot be classified at all is malformed.
//
// flow does no I/O and takes no locks: the relay's two pumps share it under
// sharedFlow's mutex, and its unit tests drive it directly.
type flow struct {
	protocol    int32
	inspectPlay bool
	// online: the edge authenticated the client and owns the client leg's
	// encryption. Its own Encryption Request and Response came before the
	// relay and are nothing the flow relayed; the backend must run in
	// offline mode. velocity: the edge answers the backend's
	// velocity:player_info request itself (never relayed, so no client
	// answer to it is legal), and a backend that never asks is not
	// configured for the forwarding the edge was told to use.
	online, velocity bool
	velocityAnswered bool

	state     [mcproto.NumDirections]mcproto.State
	threshold [mcproto.NumDirections]int

	// What the edge relayed to the client during login that the client has
	// not answered yet.
	encryptionAsked bool
	plugins         []pluginAsk
	cookies         int

	compressionRelayed bool // Set Compression went to the client
	// pendingCompress: the serverbound leg has yet to switch to compress,
	// which happens once the answers the client sent before it processed
	// Set Compression have arrived.
	pendingCompress bool
	compress        int

	loginDone bool // Login Success went to the client
	// clientboundOpaque: the edge parses no more clientbound frames (the
	// leg is encrypted end to end, spliced, or over), so a held serverbound
	// frame will learn nothing more by waiting.
	clientboundOpaque bool
	configAsked       bool // play: Start Configuration relayed, not yet acknowledged
	finishAsked       bool // configuration: Finish Configuration relayed, not yet acknowledged
}

// pluginAsk is a Login Plugin Request the client has not answered.
type pluginAsk struct {
	id int32
	// uncompressed: relayed before Set Compression. The client answers
	// requests as it processes them, in order, so this answer is sent
	// before the client turns compression on.
	uncompressed bool
}

// Bounds on what a backend may leave unanswered in login. Vanilla asks
// nothing; Velocity asks once; a large Forge modpack's login handshake asks
// a few hundred times. Beyond these the backend is broken or hostile.
const (
	maxPluginAsks = 4096
	maxCookieAsks = 256
)

// loginAnswerCap bounds a serverbound frame in login while the backend has
// asked for nothing large: an Encryption Response (two RSA-1024 blocks, or
// the 1.19 salt-and-signature form) or a Cookie Response (a key and at most
// 5 KiB of payload) fit. Anything else from the client before Login Success
// is held (flow.serverbound), and this is what a hold may cost per
// connection: a Login Plugin Response may be large (mod handshakes), and the
// cap rises to the full frame size only while one is outstanding.
const loginAnswerCap = 8 << 10

// errIllegalTransition marks a serverbound packet that the client had no
// cause to send in its state: a protocol violation, closed as malformed.
var errIllegalTransition = errors.New("packet the server never asked for")

// errBackendSetup marks a backend whose configuration does not fit the
// route (an online-mode backend behind an online-mode edge, a backend that
// does not ask for the configured forwarding). The player is told the
// server is unavailable; the operator finds the cause in the log.
var errBackendSetup = errors.New("backend not set up for this route")

// cbVerdict is what clientbound decides for one backend frame.
type cbVerdict uint8

const (
	cbForward cbVerdict = iota // relay it
	cbOpaque                   // relay it; the rest of the leg is copied without parsing
	cbAnswer                   // the edge answers it (velocity:player_info): not relayed
)

func newFlow(protocol int32, inspectPlay bool) flow {
	f := flow{protocol: protocol, inspectPlay: inspectPlay}
	f.state[mcproto.Serverbound], f.state[mcproto.Clientbound] = mcproto.StateLogin, mcproto.StateLogin
	f.threshold[mcproto.Serverbound], f.threshold[mcproto.Clientbound] = mcproto.CompressionOff, mcproto.CompressionOff
	return f
}

// clientboundMatters reports whether a clientbound packet of kind, in state,
// can change the flow. Everything else is relayed without taking the lock.
func clientboundMatters(state mcproto.State, kind packets.Kind) bool {
	switch state {
	case mcproto.StateLogin:
		return true
	case mcproto.StateConfiguration:
		return kind == packets.KindFinishConfiguration
	case mcproto.StatePlay:
		return kind == packets.KindStartConfiguration || kind == packets.KindSetCompression
	}
	return false
}

// clientbound follows one backend packet (data: after its id) that the edge
// is about to relay to the client, in the clientbound leg's state, and says
// whether to relay it, relay it and copy the rest of the leg unparsed, or
// answer it instead of relaying it.
func (f *flow) clientbound(kind packets.Kind, data []byte) (cbVerdict, error) {
	const cb = mcproto.Clientbound
	switch f.state[cb] {
	case mcproto.StateLogin:
		switch kind {
		case packets.KindEncryptionRequest:
			if f.online {
				// The edge already encrypts the client leg with a secret
				// of its own; a second key exchange cannot be relayed.
				return cbForward, fmt.Errorf("the backend asks for encryption (online mode); behind an online-mode route it must run in offline mode: %w", errBackendSetup)
			}
			// An online-mode backend: after the client's answer the stream
			// is encrypted end to end and there is nothing left to parse.
			f.encryptionAsked = true
			f.clientboundOpaque = true
			return cbOpaque, nil
		case packets.KindLoginPluginRequest:
			id, n, err := mcproto.ReadVarInt(data)
			if err != nil {
				return cbForward, fmt.Errorf("login plugin request: %w", err)
			}
			if f.velocity && isVelocityChannel(data[n:]) {
				f.velocityAnswered = true
				return cbAnswer, nil
			}
			if len(f.plugins) >= maxPluginAsks {
				return cbForward, fmt.Errorf("backend left more than %d login plugin requests unanswered", maxPluginAsks)
			}
			f.plugins = append(f.plugins, pluginAsk{id: id, uncompressed: !f.compressionRelayed})
		case packets.KindCookieRequest:
			if f.cookies >= maxCookieAsks {
				return cbForward, fmt.Errorf("backend left more than %d cookie requests unanswered", maxCookieAsks)
			}
			f.cookies++
		case packets.KindSetCompression:
			r := mcproto.NewReader(data)
			t := r.VarInt()
			if err := r.Finish(); err != nil {
				return cbForward, fmt.Errorf("set compression: %w", err)
			}
			if t < 0 {
				t = mcproto.CompressionOff
			}
			f.threshold[cb] = int(t)
			f.compressionRelayed = true
			f.pendingCompress, f.compress = true, int(t)
		case packets.KindLoginSuccess:
			if f.velocity && !f.velocityAnswered {
				// Velocity itself refuses such a backend: it would take
				// the player by the name in Login Start, unverified.
				return cbForward, fmt.Errorf("the backend finished the login without asking for Velocity forwarding (is modern forwarding on, with the edge's secret?): %w", errBackendSetup)
			}
			f.loginDone = true
			if f.protocol >= mcproto.Protocol1_20_2 {
				f.state[cb] = mcproto.StateConfiguration
				return cbForward, nil
			}
			return f.enterPlay(cb), nil
		}
	case mcproto.StateConfiguration:
		if kind == packets.KindFinishConfiguration {
			f.finishAsked = true
			return f.enterPlay(cb), nil
		}
	case mcproto.StatePlay:
		switch kind {
		case packets.KindStartConfiguration:
			f.state[cb] = mcproto.StateConfiguration
			f.configAsked = true
		case packets.KindSetCompression:
			// 1.8 only. The client switches when it processes the packet,
			// and in play nothing it sends marks that moment, so the
			// serverbound leg could not be framed any more.
			return cbForward, errors.New("backend changed compression in play, which the edge cannot follow")
		}
	}
	return cbForward, nil
}

// isVelocityChannel reports whether a Login Plugin Request's channel (b:
// the String after the message id) is velocity:player_info.
func isVelocityChannel(b []byte) bool {
	n, w, err := mcproto.ReadVarInt(b)
	return err == nil && int(n) == len(forwarding.VelocityChannel) && len(b)-w >= int(n) &&
		string(b[w:w+int(n)]) == forwarding.VelocityChannel
}

// clientboundEnded records that no more clientbound frames will be parsed.
func (f *flow) clientboundEnded() { f.clientboundOpaque = true }

// enterPlay moves a direction to play; without play inspection the rest of
// that leg is copied without parsing (spliced, or through the cipher).
func (f *flow) enterPlay(d mcproto.Direction) cbVerdict {
	f.state[d] = mcproto.StatePlay
	if d == mcproto.Clientbound && !f.inspectPlay {
		f.clientboundOpaque = true
	}
	if f.inspectPlay {
		return cbForward
	}
	return cbOpaque
}

// serverboundView returns the state and compression threshold the next
// client frame is in, applying what the client has had to process by now.
func (f *flow) serverboundView() (mcproto.State, int) {
	const sb = mcproto.Serverbound
	if f.state[sb] == mcproto.StateLogin {
		if f.pendingCompress && !f.uncompressedAnswersDue() {
			f.threshold[sb], f.pendingCompress = f.compress, false
		}
		if f.loginDone && f.protocol < mcproto.Protocol1_20_2 && len(f.plugins) == 0 && f.cookies == 0 {
			// Before 1.20.2 Login Success puts the client in play at once.
			f.state[sb] = mcproto.StatePlay
		}
	}
	return f.state[sb], f.threshold[sb]
}

// serverboundCap is the largest serverbound frame body the client may send
// next: small in login until the backend asks for something large.
func (f *flow) serverboundCap() int {
	if f.state[mcproto.Serverbound] == mcproto.StateLogin && !f.loginDone && len(f.plugins) == 0 && f.cookies == 0 {
		return loginAnswerCap
	}
	return mcproto.MaxFrameLength
}

func (f *flow) uncompressedAnswersDue() bool {
	for _, a := range f.plugins {
		if a.uncompressed {
			return true
		}
	}
	return false
}

// sbVerdict is what serverbound decides for one client frame.
type sbVerdict uint8

const (
	sbForward sbVerdict = iota // relay it
	sbOpaque                   // relay it; the rest of the leg is copied without parsing
	sbHold                     // keep it until the clientbound leg learns more, then classify again
	sbReparse                  // the leg changed state: classify this frame again
)

// serverboundMatters reports whether a serverbound packet of kind, in state,
// needs the flow. Everything else is relayed without taking the lock.
func serverboundMatters(state mcproto.State, kind packets.Kind) bool {
	switch state {
	case mcproto.StateLogin:
		return true
	case mcproto.StateConfiguration:
		return kind == packets.KindFinishConfiguration
	case mcproto.StatePlay:
		return kind == packets.KindConfigurationAcknowledged
	}
	return false
}

// serverbound classifies one client packet (data: after its id), decoded in
// the state and threshold serverboundView returned.
func (f *flow) serverbound(kind packets.Kind, data []byte) (sbVerdict, error) {
	const sb = mcproto.Serverbound
	switch f.state[sb] {
	case mcproto.StateLogin:
		return f.serverboundLogin(kind, data)
	case mcproto.StateConfiguration:
		if kind == packets.KindFinishConfiguration {
			if !f.finishAsked {
				return sbForward, fmt.Errorf("configuration finished without Finish Configuration: %w", errIllegalTransition)
			}
			f.finishAsked = false
			if f.enterPlay(sb) == cbOpaque {
				return sbOpaque, nil
			}
		}
	case mcproto.StatePlay:
		if kind == packets.KindConfigurationAcknowledged {
			if !f.configAsked {
				return sbForward, fmt.Errorf("configuration acknowledged without Start Configuration: %w", errIllegalTransition)
			}
			f.configAsked = false
			f.state[sb] = mcproto.StateConfiguration
		}
	}
	return sbForward, nil
}

func (f *flow) serverboundLogin(kind packets.Kind, data []byte) (sbVerdict, error) {
	const sb = mcproto.Serverbound
	switch kind {
	case packets.KindEncryptionResponse:
		if f.encryptionAsked {
			f.encryptionAsked = false
			return sbOpaque, nil
		}
	case packets.KindLoginPluginResponse:
		if id, _, err := mcproto.ReadVarInt(data); err == nil && f.answerPlugin(id) {
			return sbForward, nil
		}
	case packets.KindCookieResponse:
		if f.cookies > 0 {
			f.cookies--
			return sbForward, nil
		}
	case packets.KindLoginAcknowledged:
		if f.loginDone && f.protocol >= mcproto.Protocol1_20_2 {
			// Answers still due will not come: the client has moved on.
			f.plugins, f.cookies = f.plugins[:0], 0
			f.state[sb] = mcproto.StateConfiguration
			return sbForward, nil
		}
	}
	switch {
	case !f.loginDone && !f.clientboundOpaque:
		// Nothing the edge relayed explains this packet yet. An honest
		// client never gets here (it waits for the server); a client
		// that pipelines waits until the backend's answer tells what
		// its bytes are.
		return sbHold, nil
	case f.loginDone && f.protocol < mcproto.Protocol1_20_2:
		// The client is in play and left answers unsent: its bytes are
		// play packets from here on, sent with whatever compression the
		// backend announced.
		f.plugins, f.cookies = f.plugins[:0], 0
		f.state[sb] = mcproto.StatePlay
		if f.pendingCompress {
			f.threshold[sb], f.pendingCompress = f.compress, false
		}
		return sbReparse, nil
	}
	return sbForward, fmt.Errorf("%s in login: %w", kind, errIllegalTransition)
}

// answerPlugin removes the outstanding request with message id id.
func (f *flow) answerPlugin(id int32) bool {
	for i, a := range f.plugins {
		if a.id == id {
			f.plugins = append(f.plugins[:i], f.plugins[i+1:]...)
			return true
		}
	}
	return false
}

// sharedFlow is the flow both pumps of a relay use, with a way for the
// serverbound pump to wait until the clientbound pump learns more.
type sharedFlow struct {
	mu sync.Mutex
	f  flow
	// learned is closed (and replaced) whenever the clientbound leg learned
	// something during login that a held serverbound frame may wait for.
	learned chan struct{}
	// stop is closed when the relay ends.
	stop     chan struct{}
	stopOnce sync.Once
}

func newSharedFlow(f flow) *sharedFlow {
	return &sharedFlow{f: f, learned: make(chan struct{}), stop: make(chan struct{})}
}

// wakeLocked tells a held serverbound frame to look again. Called with mu held.
func (s *sharedFlow) wakeLocked() {
	close(s.learned)
	s.learned = make(chan struct{})
}

// end records that the clientbound leg is over and wakes a waiter.
func (s *sharedFlow) clientboundEnded() {
	s.mu.Lock()
	if !s.f.clientboundOpaque {
		s.f.clientboundEnded()
		s.wakeLocked()
	}
	s.mu.Unlock()
}

// close ends every wait.
func (s *sharedFlow) close() { s.stopOnce.Do(func() { close(s.stop) }) }

package conn

import (
	"errors"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// step is one event in a flow scenario: a clientbound packet the edge
// relays (cb), or a serverbound packet the client sends (sb) with what the
// flow must decide.
type step struct {
	cb, sb packets.Kind
	data   []byte

	want     sbVerdict // for sb
	illegal  bool      // sb: a protocol violation
	opaque   bool      // cb: the clientbound leg goes raw
	answer   bool      // cb: the edge answers this frame instead of relaying it
	cbErr    bool      // cb: the backend broke the protocol
	setupErr bool      // cb: the backend is not set up for the route
	sbState  mcproto.State
	sbThresh int
	// cbThresh, when set, is the clientbound threshold the next backend
	// frame is read with, checked after a cb step.
	cbThresh *int
}

// thr is a cbThresh.
func thr(n int) *int { return &n }

func varint(v int32) []byte { return mcproto.AppendVarInt(nil, v) }

// pluginReq and pluginResp carry a message id (and nothing else the flow reads).
func pluginReq(id int32) []byte  { return mcproto.AppendString(varint(id), "velocity:player_info") }
func pluginResp(id int32) []byte { return append(varint(id), 0) }

// otherReq is a plugin request on a channel other than Velocity's.
func otherReq(id int32) []byte { return mcproto.AppendString(varint(id), "fml:loginwrapper") }

const off = mcproto.CompressionOff

func TestFlow(t *testing.T) {
	const (
		login  = mcproto.StateLogin
		config = mcproto.StateConfiguration
		play   = mcproto.StatePlay
	)
	k := func(kind packets.Kind) packets.Kind { return kind }
	cases := []struct {
		name        string
		protocol    int32
		inspectPlay bool
		online      bool // the edge authenticated the client (online mode)
		velocity    bool // and answers velocity:player_info itself
		steps       []step
	}{
		{
			// The audit's bypass: a 1.8 client pipelines a chat message
			// (id 0x01, Encryption Response in login) behind Login Start.
			// It waits for Login Success and is then read as play.
			name: "pipelined packet before Login Success is held, then read as play", protocol: 47, inspectPlay: true,
			steps: []step{
				{sb: k(packets.KindEncryptionResponse), want: sbHold, sbState: login, sbThresh: off},
				{cb: k(packets.KindLoginSuccess)},
				{sb: packets.KindUnknown, want: sbForward, sbState: play, sbThresh: off},
			},
		},
		{
			name: "pipelined packet after Set Compression is read compressed", protocol: 340, inspectPlay: true,
			steps: []step{
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(1), want: sbHold, sbState: login, sbThresh: off},
				{cb: k(packets.KindSetCompression), data: varint(256)},
				{cb: k(packets.KindLoginSuccess)},
				{sb: packets.KindUnknown, want: sbForward, sbState: play, sbThresh: 256},
			},
		},
		{
			name: "encryption response only after encryption request", protocol: 47, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindEncryptionRequest), opaque: true},
				{sb: k(packets.KindEncryptionResponse), want: sbOpaque, sbState: login, sbThresh: off},
			},
		},
		{
			name: "after an encryption request nothing else can be classified", protocol: 47, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindEncryptionRequest), opaque: true},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(0), illegal: true, sbState: login, sbThresh: off},
			},
		},
		{
			name: "plugin response must answer a relayed request", protocol: 763, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: pluginReq(7)},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(8), want: sbHold, sbState: login, sbThresh: off},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(7), want: sbForward, sbState: login, sbThresh: off},
				// The same answer twice is not an answer any more.
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(7), want: sbHold, sbState: login, sbThresh: off},
			},
		},
		{
			// SHARP_EDGES.md: the answer to a request relayed before Set
			// Compression comes uncompressed; the client compresses after.
			name: "compression switches after the answers sent before it", protocol: 763, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: pluginReq(1)},
				{cb: k(packets.KindSetCompression), data: varint(64)},
				{cb: k(packets.KindLoginPluginRequest), data: pluginReq(2)},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(1), want: sbForward, sbState: login, sbThresh: off},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(2), want: sbForward, sbState: login, sbThresh: 64},
				{cb: k(packets.KindLoginSuccess)},
				{sb: packets.KindUnknown, want: sbForward, sbState: play, sbThresh: 64},
			},
		},
		{
			name: "negative threshold means off", protocol: 47, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindSetCompression), data: varint(-5)},
				{cb: k(packets.KindLoginSuccess)},
				{sb: packets.KindUnknown, want: sbForward, sbState: play, sbThresh: off},
			},
		},
		{
			// A pre-1.20.2 backend may send Login Success before the
			// answers arrive; the client answers first, then plays.
			name: "answers due after Login Success come first (pre-1.20.2)", protocol: 763, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: pluginReq(3)},
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(3), want: sbForward, sbState: login, sbThresh: off},
				{sb: packets.KindUnknown, want: sbForward, sbState: play, sbThresh: off},
			},
		},
		{
			name: "a client that skips its answers is in play (pre-1.20.2)", protocol: 763, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: pluginReq(3)},
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindChat), want: sbReparse, sbState: login, sbThresh: off},
				{sb: k(packets.KindChat), want: sbForward, sbState: play, sbThresh: off},
			},
		},
		{
			name: "login acknowledged only after Login Success (1.20.2+)", protocol: 765, inspectPlay: true,
			steps: []step{
				{sb: k(packets.KindLoginAcknowledged), want: sbHold, sbState: login, sbThresh: off},
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindLoginAcknowledged), want: sbForward, sbState: login, sbThresh: off},
				{sb: packets.KindUnknown, want: sbForward, sbState: config, sbThresh: off},
			},
		},
		{
			name: "anything but an answer or the acknowledgement after Login Success is malformed (1.20.2+)", protocol: 769, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindEncryptionResponse), illegal: true, sbState: login, sbThresh: off},
			},
		},
		{
			name: "cookie response only after a cookie request", protocol: 769, inspectPlay: true,
			steps: []step{
				{sb: k(packets.KindCookieResponse), want: sbHold, sbState: login, sbThresh: off},
				{cb: k(packets.KindCookieRequest)},
				{sb: k(packets.KindCookieResponse), want: sbForward, sbState: login, sbThresh: off},
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindCookieResponse), illegal: true, sbState: login, sbThresh: off},
			},
		},
		{
			name: "configuration ↔ play, each direction at its own marker", protocol: 769, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindLoginAcknowledged), want: sbForward, sbState: login, sbThresh: off},
				// Finishing configuration before the server did is a lie.
				{sb: k(packets.KindFinishConfiguration), illegal: true, sbState: config, sbThresh: off},
				{cb: k(packets.KindFinishConfiguration)},
				{sb: k(packets.KindFinishConfiguration), want: sbForward, sbState: config, sbThresh: off},
				{sb: packets.KindUnknown, want: sbForward, sbState: play, sbThresh: off},
				// So is going back to configuration unasked.
				{sb: k(packets.KindConfigurationAcknowledged), illegal: true, sbState: play, sbThresh: off},
				{cb: k(packets.KindStartConfiguration)},
				// Play packets in flight stay play until the acknowledgement.
				{sb: packets.KindUnknown, want: sbForward, sbState: play, sbThresh: off},
				{sb: k(packets.KindConfigurationAcknowledged), want: sbForward, sbState: play, sbThresh: off},
				{sb: packets.KindUnknown, want: sbForward, sbState: config, sbThresh: off},
				{sb: k(packets.KindFinishConfiguration), illegal: true, sbState: config, sbThresh: off},
				{cb: k(packets.KindFinishConfiguration)},
				{sb: k(packets.KindFinishConfiguration), want: sbForward, sbState: config, sbThresh: off},
				// One acknowledgement per request.
				{sb: k(packets.KindConfigurationAcknowledged), illegal: true, sbState: play, sbThresh: off},
			},
		},
		{
			name: "without play inspection both legs go opaque at play", protocol: 47, inspectPlay: false,
			steps: []step{
				{cb: k(packets.KindLoginSuccess), opaque: true},
				{sb: packets.KindUnknown, want: sbForward, sbState: play, sbThresh: off},
			},
		},
		{
			name: "without play inspection 1.20.2+ goes opaque after configuration", protocol: 769, inspectPlay: false,
			steps: []step{
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindLoginAcknowledged), want: sbForward, sbState: login, sbThresh: off},
				{cb: k(packets.KindFinishConfiguration), opaque: true},
				{sb: k(packets.KindFinishConfiguration), want: sbOpaque, sbState: config, sbThresh: off},
			},
		},
		{
			// Online mode: the edge's Encryption Request and the client's
			// answer came before the relay. A client that sends another
			// response (a replay) has nothing to answer: it waits, and is
			// malformed once the backend's Login Success tells what it is.
			name: "online: an Encryption Response in the relay answers nothing", protocol: 769, inspectPlay: true, online: true,
			steps: []step{
				{sb: k(packets.KindEncryptionResponse), want: sbHold, sbState: login, sbThresh: off},
				{cb: k(packets.KindSetCompression), data: varint(256)},
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindEncryptionResponse), illegal: true, sbState: login, sbThresh: 256},
			},
		},
		{
			name: "online: a backend that asks for encryption is set up wrong", protocol: 769, inspectPlay: true, online: true,
			steps: []step{
				{cb: k(packets.KindEncryptionRequest), setupErr: true},
			},
		},
		{
			// The edge answers velocity:player_info itself: the request is
			// not relayed, so a client "answer" with its id is a lie, while
			// other plugin requests are relayed and answered as ever.
			name: "online velocity: the edge's own answer, never the client's", protocol: 769, inspectPlay: true, online: true, velocity: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: pluginReq(1), answer: true},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(1), want: sbHold, sbState: login, sbThresh: off},
				{cb: k(packets.KindLoginPluginRequest), data: otherReq(2)},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(2), want: sbForward, sbState: login, sbThresh: off},
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(1), illegal: true, sbState: login, sbThresh: off},
			},
		},
		{
			name: "online velocity: a backend that never asks is set up wrong", protocol: 769, inspectPlay: true, online: true, velocity: true,
			steps: []step{
				{cb: k(packets.KindSetCompression), data: varint(256)},
				{cb: k(packets.KindLoginSuccess), setupErr: true},
			},
		},
		{
			// Without velocity forwarding on the route, the request is the
			// backend's business with the client, as in passthrough.
			name: "online without velocity: the request is relayed", protocol: 769, inspectPlay: true, online: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: pluginReq(1)},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(1), want: sbForward, sbState: login, sbThresh: off},
			},
		},
		{
			// SHARP_EDGES.md, "Compression switches per direction": the
			// backend compresses from the frame after Set Compression on;
			// Set Compression itself and what came before are not.
			name: "clientbound compresses from the frame after Set Compression", protocol: 340, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: otherReq(1), cbThresh: thr(off)},
				{cb: k(packets.KindSetCompression), data: varint(256), cbThresh: thr(256)},
				// The answer to the earlier request is still uncompressed;
				// the clientbound leg does not wait for it.
				{sb: packets.KindUnknown, sbState: login, sbThresh: off},
				{cb: k(packets.KindLoginSuccess), cbThresh: thr(256)},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(1), want: sbForward, sbState: login, sbThresh: off},
				{sb: packets.KindUnknown, sbState: play, sbThresh: 256},
			},
		},
		{
			name: "a threshold of zero compresses everything, in both directions", protocol: 340, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindSetCompression), data: varint(0), cbThresh: thr(0)},
				{cb: k(packets.KindLoginSuccess), cbThresh: thr(0)},
				{sb: packets.KindUnknown, sbState: play, sbThresh: 0},
			},
		},
		{
			// 1.20.2+: the threshold set in login holds through
			// configuration into play, both directions.
			name: "compression carries through configuration into play (1.20.2+)", protocol: 769, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindSetCompression), data: varint(256), cbThresh: thr(256)},
				{cb: k(packets.KindLoginSuccess), cbThresh: thr(256)},
				{sb: k(packets.KindLoginAcknowledged), want: sbForward, sbState: login, sbThresh: 256},
				{cb: k(packets.KindFinishConfiguration), cbThresh: thr(256)},
				{sb: k(packets.KindFinishConfiguration), want: sbForward, sbState: config, sbThresh: 256},
				{sb: packets.KindUnknown, sbState: play, sbThresh: 256},
			},
		},
		{
			// A pre-1.20.2 client that skips an answer due from before
			// Set Compression is in play, and it processed Set Compression
			// on the way: its play packets are compressed.
			name: "a client that skips an uncompressed answer plays compressed (pre-1.20.2)", protocol: 763, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: otherReq(1)},
				{cb: k(packets.KindSetCompression), data: varint(64), cbThresh: thr(64)},
				{cb: k(packets.KindLoginSuccess)},
				{sb: k(packets.KindChat), want: sbReparse, sbState: login, sbThresh: off},
				{sb: k(packets.KindChat), want: sbForward, sbState: play, sbThresh: 64},
			},
		},
		{
			// Once every request from before Set Compression is answered,
			// the client's next frame is compressed even while answers to
			// later requests are still due.
			name: "serverbound switches when the last uncompressed answer is in", protocol: 763, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginPluginRequest), data: otherReq(1)},
				{cb: k(packets.KindLoginPluginRequest), data: otherReq(2)},
				{cb: k(packets.KindSetCompression), data: varint(128), cbThresh: thr(128)},
				{cb: k(packets.KindLoginPluginRequest), data: otherReq(3)},
				// Answered out of order: 2 first, 1 is still uncompressed.
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(2), want: sbForward, sbState: login, sbThresh: off},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(1), want: sbForward, sbState: login, sbThresh: off},
				{sb: k(packets.KindLoginPluginResponse), data: pluginResp(3), want: sbForward, sbState: login, sbThresh: 128},
			},
		},
		{
			name: "a 1.8 backend changing compression in play is refused", protocol: 47, inspectPlay: true,
			steps: []step{
				{cb: k(packets.KindLoginSuccess)},
				{cb: k(packets.KindSetCompression), data: varint(256), cbErr: true},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlow(tc.protocol, tc.inspectPlay)
			f.online, f.velocity = tc.online, tc.velocity
			for i, st := range tc.steps {
				if st.sb == packets.KindUnknown && st.cb != packets.KindUnknown {
					v, err := f.clientbound(st.cb, st.data)
					if (err != nil) != (st.cbErr || st.setupErr) || st.setupErr && !errors.Is(err, errBackendSetup) {
						t.Fatalf("step %d: clientbound %s: err %v, want error %v (setup %v)", i, st.cb, err, st.cbErr, st.setupErr)
					}
					want := cbForward
					switch {
					case st.opaque:
						want = cbOpaque
					case st.answer:
						want = cbAnswer
					}
					if v != want {
						t.Fatalf("step %d: clientbound %s: %v, want %v", i, st.cb, v, want)
					}
					if st.cbThresh != nil && f.threshold[mcproto.Clientbound] != *st.cbThresh {
						t.Fatalf("step %d: clientbound threshold after %s: %d, want %d", i, st.cb, f.threshold[mcproto.Clientbound], *st.cbThresh)
					}
					continue
				}
				state, thr := f.serverboundView()
				if state != st.sbState || thr != st.sbThresh {
					t.Fatalf("step %d: serverbound view %s/%d, want %s/%d", i, state, thr, st.sbState, st.sbThresh)
				}
				if st.sb == packets.KindUnknown {
					continue // only the view was checked
				}
				v, err := f.serverbound(st.sb, st.data)
				if st.illegal {
					if !errors.Is(err, errIllegalTransition) {
						t.Fatalf("step %d: serverbound %s: err %v, want an illegal transition", i, st.sb, err)
					}
					continue
				}
				if err != nil || v != st.want {
					t.Fatalf("step %d: serverbound %s: %v, %v; want %v", i, st.sb, v, err, st.want)
				}
			}
		})
	}
}

// TestFlowLoginCap: before the backend asks for anything large, a client
// in login can make the edge hold only a few KiB.
func TestFlowLoginCap(t *testing.T) {
	f := newFlow(763, true)
	if got := f.serverboundCap(); got != loginAnswerCap {
		t.Fatalf("cap before any request: %d, want %d", got, loginAnswerCap)
	}
	if _, err := f.clientbound(packets.KindLoginPluginRequest, pluginReq(1)); err != nil {
		t.Fatal(err)
	}
	if got := f.serverboundCap(); got != mcproto.MaxFrameLength {
		t.Fatalf("cap with a plugin request outstanding: %d, want %d", got, mcproto.MaxFrameLength)
	}
	if v, err := f.serverbound(packets.KindLoginPluginResponse, pluginResp(1)); err != nil || v != sbForward {
		t.Fatalf("answer: %v, %v", v, err)
	}
	if got := f.serverboundCap(); got != loginAnswerCap {
		t.Fatalf("cap once answered: %d, want %d", got, loginAnswerCap)
	}
}

// TestFlowBoundsWhatABackendLeavesOpen: a backend cannot make the edge keep
// an unbounded list of unanswered requests.
func TestFlowBoundsWhatABackendLeavesOpen(t *testing.T) {
	f := newFlow(763, true)
	for i := range maxPluginAsks {
		if _, err := f.clientbound(packets.KindLoginPluginRequest, pluginReq(int32(i))); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, err := f.clientbound(packets.KindLoginPluginRequest, pluginReq(-1)); err == nil {
		t.Fatal("request beyond the bound accepted")
	}
}

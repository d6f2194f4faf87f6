// Package conn runs one player's connection through the edge: the state
// machine of the Minecraft protocol (handshake → status | login →
// configuration ↔ play) on both legs, and the relay between them.
//
// Data enters from the listener as an accepted net.Conn (with the real client
// address when a trusted load balancer sent a PROXY header) and leaves as
// frames written to the backend chosen through Backends. Frames are relayed
// byte for byte: the edge decodes what it needs to follow the protocol state
// and compression, and never re-encodes what it did not change. Where nothing
// is left to inspect (the leg became end-to-end encrypted, or play inspection
// is off) a leg switches to a plain socket copy, which Linux turns into
// splice(2).
//
// One goroutine (the listener's) runs a connection from accept through the
// login; when the relay starts, each direction gets a goroutine of its own
// and the first one returns. The pump that ends last finishes the
// connection (session.finish), running what the login's steps registered
// with session.later. A direction with nothing to read for a moment parks
// its leg in the handler's poller and gives its goroutine back
// (poller_linux.go): an idle player costs no goroutine at all, and a new
// one starts when bytes arrive (SHARP_EDGES.md, "Frames and memory").
package conn

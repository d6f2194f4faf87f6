package proxyproto

import "errors"

// Sentinel errors. Callers branch on them with errors.Is; the wrapped
// context says which field was wrong.
var (
	// ErrShort means b may be the beginning of a valid header but ends
	// before the header does: read more and try again. It is returned bare,
	// never wrapped, because a fragmented header is normal.
	ErrShort = errors.New("proxyproto: need more data")
	// ErrNotProxy means the bytes cannot start a PROXY header (neither the
	// v1 "PROXY" word nor the v2 signature). From a trusted peer this is a
	// misconfiguration or a direct connection that bypassed the balancer.
	ErrNotProxy = errors.New("proxyproto: not a PROXY protocol header")
	// ErrUnsupported is a version, command, address family or transport
	// the spec does not define, which the spec tells receivers to reject.
	ErrUnsupported = errors.New("proxyproto: unsupported version, command or family")
	// ErrTooLong is a v1 line without CRLF in its first 107 bytes, a v2
	// length over our cap, or more TLVs than we accept.
	ErrTooLong = errors.New("proxyproto: header too long")
	// ErrMalformed is a header that matches the signature but breaks the
	// format: a bad v1 field, an address block shorter than its family
	// needs, a truncated TLV or a failed CRC32C check.
	ErrMalformed = errors.New("proxyproto: malformed header")

	// ErrLocal is returned together with a valid header length: the header
	// is well formed and must be consumed, but it uses the v2 LOCAL
	// command, meaning the balancer opened the connection itself (health
	// checks). The socket's own addresses apply.
	ErrLocal = errors.New("proxyproto: LOCAL command, no relayed client")
	// ErrNoAddress is returned together with a valid header length: the
	// header is well formed and must be consumed, but it relays a client
	// without an address we can use (v1 UNKNOWN, v2 UNSPEC, UDP or UNIX
	// families). The spec lets the receiver fall back to the socket's
	// addresses or refuse the connection; that policy is the caller's.
	ErrNoAddress = errors.New("proxyproto: header carries no client address")
)

package proxyproto

import "net/netip"

// Wire constants from proxy-protocol.txt.
const (
	// v1Word identifies a v1 line (spec §2.1); exactly one space follows it.
	v1Word = "PROXY"
	// v1MaxLen is the longest v1 line a receiver must accept, CRLF
	// included: "PROXY UNKNOWN" followed by two full-length IPv6 addresses
	// and two 5-digit ports is 107 characters (spec §2.1).
	v1MaxLen = 107
	// v2Signature opens every v2 header (spec §2.2). Its NUL byte and the
	// "QUIT" word make it an invalid start for most other protocols.
	v2Signature = "\r\n\r\n\x00\r\nQUIT\n"
	// v2HeaderLen is the fixed part: signature, version/command byte,
	// family/transport byte and the 16-bit length of what follows.
	v2HeaderLen = len(v2Signature) + 4

	// maxV2Payload caps the v2 length field (addresses plus TLVs). The
	// spec sizes both formats to fit the 536-byte minimum TCP segment, and
	// the largest address block (two UNIX paths) is 216 bytes. Real
	// balancers add a few TLVs on top: HAProxy's unique id (at most 128
	// bytes), the authority/SNI (at most 255), a CRC32C and cloud endpoint
	// ids of a few dozen bytes. 1008 bytes keeps the whole header within
	// 1 KiB, room for all of those, while a buggy or hostile balancer can
	// make us hold no more than that per pending connection (the field
	// itself would allow 64 KiB).
	maxV2Payload = 1024 - v2HeaderLen
	// MaxHeaderLen is the most bytes a header we accept can span; Read
	// never buffers more than this.
	MaxHeaderLen = v2HeaderLen + maxV2Payload
	// maxTLVs caps how many TLVs one header may carry. The spec registers
	// 7 top-level types plus a 16-value custom range; 32 covers one of
	// each with room to spare, and bounds the []TLV we allocate (a 1008
	// byte payload could otherwise hold 336 empty TLVs).
	maxTLVs = 32

	// Version/command byte: version 2 in the high nibble, command low.
	v2Version  = 0x2
	v2CmdLocal = 0x0
	v2CmdProxy = 0x1

	// Family/transport byte values the spec lists (§2.2). Only TCP over
	// IPv4 and IPv6 carry an address the edge can use.
	famUnspec     = 0x00
	famTCP4       = 0x11
	famUDP4       = 0x12
	famTCP6       = 0x21
	famUDP6       = 0x22
	famUnixStream = 0x31
	famUnixDgram  = 0x32

	// Address block sizes: two addresses then two 16-bit ports.
	addrLenTCP4 = 2*4 + 2*2
	addrLenTCP6 = 2*16 + 2*2
)

// Command says whether the header relays a client or was sent by the
// balancer on its own behalf.
type Command uint8

const (
	// Local: the balancer opened the connection itself (health check);
	// there is no relayed client.
	Local Command = v2CmdLocal
	// Proxy: the connection is relayed on behalf of the client in Source.
	Proxy Command = v2CmdProxy
)

// String names the command for logs.
func (c Command) String() string {
	switch c {
	case Local:
		return "LOCAL"
	case Proxy:
		return "PROXY"
	}
	return "unknown"
}

// TLVType is the type byte of a v2 TLV.
type TLVType uint8

// Registered TLV types (spec §2.2). Other values, such as the cloud
// providers' ids in the custom range 0xE0–0xEF, are passed through as is.
const (
	TLVALPN      TLVType = 0x01
	TLVAuthority TLVType = 0x02
	TLVCRC32C    TLVType = 0x03
	TLVNoop      TLVType = 0x04
	TLVUniqueID  TLVType = 0x05
	TLVSSL       TLVType = 0x20
	TLVNetNS     TLVType = 0x30
)

// TLV is one type-length-value record after the v2 address block.
type TLV struct {
	Type TLVType
	// Value aliases the buffer the header was parsed from.
	Value []byte
}

// Header is one decoded PROXY header.
type Header struct {
	// Version is 1 (text line) or 2 (binary).
	Version int
	Command Command
	// Source is the client as the balancer saw it and Destination the
	// address it connected to. Both are zero when the header carries no
	// address (ErrLocal, ErrNoAddress). IPv4-mapped IPv6 addresses are
	// unmapped, so a player is keyed the same way for bans and quotas
	// whichever family the balancer used.
	Source, Destination netip.AddrPort
	// TLVs are the v2 TLVs after a TCP address block, in wire order,
	// NOOP padding left out. A CRC32C TLV has already been verified.
	TLVs []TLV
}

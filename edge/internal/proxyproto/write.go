package proxyproto

import (
	"encoding/binary"
	"net/netip"
)

// AppendV2 appends a v2 PROXY header saying that source connected to
// destination over TCP, for the edge to write first on a backend
// connection. Both addresses are IPv4 (after unmapping) gives a TCP4 block;
// otherwise both go into a TCP6 block with IPv4 mapped into IPv6, because
// one header has one family. Zones are dropped: they mean nothing on
// another host.
//
// If either address is the zero AddrPort there is nothing to relay, so it
// appends a LOCAL header and the backend uses the socket's addresses.
func AppendV2(b []byte, source, destination netip.AddrPort) []byte {
	b = append(b, v2Signature...)
	if !source.IsValid() || !destination.IsValid() {
		return append(b, v2Version<<4|v2CmdLocal, famUnspec, 0, 0)
	}
	src, dst := source.Addr().Unmap(), destination.Addr().Unmap()
	if src.Is4() && dst.Is4() {
		b = append(b, v2Version<<4|v2CmdProxy, famTCP4)
		b = binary.BigEndian.AppendUint16(b, addrLenTCP4)
		s, d := src.As4(), dst.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		b = append(b, v2Version<<4|v2CmdProxy, famTCP6)
		b = binary.BigEndian.AppendUint16(b, addrLenTCP6)
		s, d := src.As16(), dst.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, source.Port())
	return binary.BigEndian.AppendUint16(b, destination.Port())
}

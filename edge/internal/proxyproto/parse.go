package proxyproto

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"
)

// castagnoli is the read-only CRC32C table for the PP2_TYPE_CRC32C TLV
// (spec §2.2.3: CRC32c as in RFC 4960 Appendix B).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Parse decodes one header from the start of b and returns it with the
// number of bytes it spans; the bytes after that belong to the proxied
// stream.
//
// Errors:
//   - ErrShort: b is a prefix of what may be a valid header; read more.
//   - ErrNotProxy: b cannot start a header.
//   - ErrLocal, ErrNoAddress: the header is valid and n is its length,
//     but it carries no client address; see their docs.
//   - anything else wraps ErrUnsupported, ErrTooLong or ErrMalformed:
//     close the connection.
//
// Parse rejects as soon as the offending byte is visible, so a wrong peer
// is cut without waiting for bytes that would change nothing. It allocates
// only for v1 address text and for the TLV list.
func Parse(b []byte) (Header, int, error) {
	if len(b) == 0 {
		return Header{}, 0, ErrShort
	}
	switch b[0] {
	case v1Word[0]:
		return parseV1(b)
	case v2Signature[0]:
		return parseV2(b)
	}
	return Header{}, 0, ErrNotProxy
}

// agrees reports whether b and p are equal over their common length, so a
// partial signature is recognised before the rest arrives.
func agrees(b []byte, p string) bool {
	n := min(len(b), len(p))
	return string(b[:n]) == p[:n]
}

// parseV1 decodes "PROXY <proto> <src> <dst> <sport> <dport>\r\n" (spec §2.1).
func parseV1(b []byte) (Header, int, error) {
	if !agrees(b, v1Word) {
		return Header{}, 0, ErrNotProxy
	}
	if len(b) > len(v1Word) && b[len(v1Word)] != ' ' {
		return Header{}, 0, fmt.Errorf("v1: no space after %q: %w", v1Word, ErrMalformed)
	}
	window := b[:min(len(b), v1MaxLen)]
	lf := bytes.IndexByte(window, '\n')
	if lf < 0 {
		if len(window) == v1MaxLen {
			return Header{}, 0, fmt.Errorf("v1: no CRLF in the first %d bytes: %w", v1MaxLen, ErrTooLong)
		}
		return Header{}, 0, ErrShort
	}
	// The spec forbids accepting a bare LF as the line end.
	if b[lf-1] != '\r' {
		return Header{}, 0, fmt.Errorf("v1: line ends in LF without CR: %w", ErrMalformed)
	}
	n := lf + 1
	// lf-1 > len(v1Word) here: b[len(v1Word)] is a space, not the CR.
	line := b[len(v1Word)+1 : lf-1]
	proto, rest, _ := bytes.Cut(line, []byte{' '})
	h := Header{Version: 1, Command: Proxy}
	var want4 bool
	switch string(proto) {
	case "UNKNOWN":
		// The spec tells receivers to ignore whatever follows UNKNOWN.
		return h, n, ErrNoAddress
	case "TCP4":
		want4 = true
	case "TCP6":
		want4 = false
	default:
		return Header{}, 0, fmt.Errorf("v1: protocol %.8q: %w", proto, ErrUnsupported)
	}
	// Exactly one space between exactly four fields; an empty field from
	// a doubled or trailing space fails its own parse below.
	const v1Fields = 4
	if bytes.Count(rest, []byte{' '}) != v1Fields-1 {
		return Header{}, 0, fmt.Errorf("v1: want %d fields after the protocol: %w", v1Fields, ErrMalformed)
	}
	srcText, rest, _ := bytes.Cut(rest, []byte{' '})
	dstText, rest, _ := bytes.Cut(rest, []byte{' '})
	sportText, dportText, _ := bytes.Cut(rest, []byte{' '})
	src, err := parseV1Addr(srcText, want4)
	if err != nil {
		return Header{}, 0, fmt.Errorf("v1 source address: %w", err)
	}
	dst, err := parseV1Addr(dstText, want4)
	if err != nil {
		return Header{}, 0, fmt.Errorf("v1 destination address: %w", err)
	}
	sport, err := parseV1Port(sportText)
	if err != nil {
		return Header{}, 0, fmt.Errorf("v1 source port: %w", err)
	}
	dport, err := parseV1Port(dportText)
	if err != nil {
		return Header{}, 0, fmt.Errorf("v1 destination port: %w", err)
	}
	h.Source = netip.AddrPortFrom(src, sport)
	h.Destination = netip.AddrPortFrom(dst, dport)
	return h, n, nil
}

// maxV1AddrLen is the longest address text the spec allows: eight groups
// of four hex digits and seven colons (spec §2.1, 39 characters).
const maxV1AddrLen = 39

// parseV1Addr parses one v1 address of the family the protocol word named.
// netip refuses IPv4 octets with leading zeros, as the spec requires.
func parseV1Addr(text []byte, want4 bool) (netip.Addr, error) {
	if len(text) == 0 || len(text) > maxV1AddrLen {
		return netip.Addr{}, fmt.Errorf("length %d: %w", len(text), ErrMalformed)
	}
	// Zones ("fe80::1%eth0") are local to a host and not part of the format.
	if bytes.IndexByte(text, '%') >= 0 {
		return netip.Addr{}, fmt.Errorf("zone in address: %w", ErrMalformed)
	}
	a, err := netip.ParseAddr(string(text))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if a.Is4() != want4 {
		return netip.Addr{}, fmt.Errorf("%s does not match the protocol family: %w", a, ErrMalformed)
	}
	return a.Unmap(), nil
}

// maxPortDigits is len("65535").
const maxPortDigits = 5

// parseV1Port parses a decimal port in [0, 65535] without leading zeros
// (spec §2.1: they could be mistaken for octal).
func parseV1Port(text []byte) (uint16, error) {
	if len(text) == 0 || len(text) > maxPortDigits || (len(text) > 1 && text[0] == '0') {
		return 0, fmt.Errorf("%.8q: %w", text, ErrMalformed)
	}
	v := 0
	for _, c := range text {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%.8q: %w", text, ErrMalformed)
		}
		v = v*10 + int(c-'0')
	}
	if v > 0xFFFF {
		return 0, fmt.Errorf("%d out of range: %w", v, ErrMalformed)
	}
	return uint16(v), nil
}

// parseV2 decodes the binary header (spec §2.2).
func parseV2(b []byte) (Header, int, error) {
	if !agrees(b, v2Signature) {
		return Header{}, 0, ErrNotProxy
	}
	const verCmdAt, famAt, lenAt = len(v2Signature), len(v2Signature) + 1, len(v2Signature) + 2
	if len(b) <= verCmdAt {
		return Header{}, 0, ErrShort
	}
	verCmd := b[verCmdAt]
	if verCmd>>4 != v2Version {
		return Header{}, 0, fmt.Errorf("v2: version %d: %w", verCmd>>4, ErrUnsupported)
	}
	cmd := verCmd & 0x0F
	if cmd != v2CmdLocal && cmd != v2CmdProxy {
		return Header{}, 0, fmt.Errorf("v2: command %d: %w", cmd, ErrUnsupported)
	}
	if len(b) <= famAt {
		return Header{}, 0, ErrShort
	}
	fam := b[famAt]
	// LOCAL discards the protocol block "including the family", so only
	// PROXY headers are held to the list of defined family bytes.
	if cmd == v2CmdProxy && !knownFamily(fam) {
		return Header{}, 0, fmt.Errorf("v2: family/transport 0x%02x: %w", fam, ErrUnsupported)
	}
	if len(b) < v2HeaderLen {
		return Header{}, 0, ErrShort
	}
	length := int(binary.BigEndian.Uint16(b[lenAt:]))
	if length > maxV2Payload {
		return Header{}, 0, fmt.Errorf("v2: length %d over %d: %w", length, maxV2Payload, ErrTooLong)
	}
	n := v2HeaderLen + length
	if len(b) < n {
		return Header{}, 0, ErrShort
	}
	h := Header{Version: 2, Command: Command(cmd)}
	if cmd == v2CmdLocal {
		return h, n, ErrLocal
	}
	hdr := b[:n]
	body := hdr[v2HeaderLen:]
	var addrLen int
	switch fam {
	case famTCP4:
		addrLen = addrLenTCP4
	case famTCP6:
		addrLen = addrLenTCP6
	default:
		// The spec lets a receiver treat defined families it does not
		// implement as UNSPEC: skip the block, no address.
		return h, n, ErrNoAddress
	}
	if length < addrLen {
		return Header{}, 0, fmt.Errorf("v2: family 0x%02x needs %d address bytes, length is %d: %w", fam, addrLen, length, ErrMalformed)
	}
	var src, dst netip.Addr
	if fam == famTCP4 {
		src = netip.AddrFrom4([4]byte(body[0:4]))
		dst = netip.AddrFrom4([4]byte(body[4:8]))
	} else {
		src = netip.AddrFrom16([16]byte(body[0:16])).Unmap()
		dst = netip.AddrFrom16([16]byte(body[16:32])).Unmap()
	}
	ports := body[addrLen-4 : addrLen]
	h.Source = netip.AddrPortFrom(src, binary.BigEndian.Uint16(ports[0:2]))
	h.Destination = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(ports[2:4]))
	tlvs, err := parseTLVs(hdr, v2HeaderLen+addrLen)
	if err != nil {
		return Header{}, 0, err
	}
	h.TLVs = tlvs
	return h, n, nil
}

// knownFamily reports whether fam is one of the family/transport bytes the
// spec defines; any other value must be rejected.
func knownFamily(fam byte) bool {
	switch fam {
	case famUnspec, famTCP4, famUDP4, famTCP6, famUDP6, famUnixStream, famUnixDgram:
		return true
	}
	return false
}

// tlvHeaderLen is a TLV's type byte and 16-bit length.
const tlvHeaderLen = 3

// crc32cLen is the size of the PP2_TYPE_CRC32C value.
const crc32cLen = 4

// parseTLVs walks the TLVs in hdr[off:] twice: once to validate them and
// count what to keep, so nothing is allocated for a header that fails or
// has no TLVs, and once to fill a slice of exactly the right size.
func parseTLVs(hdr []byte, off int) ([]TLV, error) {
	count, keep := 0, 0
	for p := off; p < len(hdr); {
		if len(hdr)-p < tlvHeaderLen {
			return nil, fmt.Errorf("v2: TLV header cut at offset %d: %w", p, ErrMalformed)
		}
		typ := TLVType(hdr[p])
		vlen := int(binary.BigEndian.Uint16(hdr[p+1:]))
		val := p + tlvHeaderLen
		if len(hdr)-val < vlen {
			return nil, fmt.Errorf("v2: TLV 0x%02x length %d overruns the header: %w", typ, vlen, ErrMalformed)
		}
		if count++; count > maxTLVs {
			return nil, fmt.Errorf("v2: more than %d TLVs: %w", maxTLVs, ErrTooLong)
		}
		if typ == TLVCRC32C {
			// Spec §2.2.3: a receiver that supports the checksum must
			// drop the connection when it does not match.
			if vlen != crc32cLen {
				return nil, fmt.Errorf("v2: CRC32C TLV of %d bytes: %w", vlen, ErrMalformed)
			}
			if !crc32cValid(hdr, val) {
				return nil, fmt.Errorf("v2: CRC32C mismatch: %w", ErrMalformed)
			}
		}
		if typ != TLVNoop {
			keep++
		}
		p = val + vlen
	}
	if keep == 0 {
		return nil, nil
	}
	tlvs := make([]TLV, 0, keep)
	for p := off; p < len(hdr); {
		typ := TLVType(hdr[p])
		vlen := int(binary.BigEndian.Uint16(hdr[p+1:]))
		val := p + tlvHeaderLen
		if typ != TLVNoop {
			tlvs = append(tlvs, TLV{Type: typ, Value: hdr[val : val+vlen : val+vlen]})
		}
		p = val + vlen
	}
	return tlvs, nil
}

// crc32cValid checks the CRC32C value at hdr[at:at+4] against the whole
// header computed with those four bytes as zeros (spec §2.2.3), without
// copying or modifying hdr.
func crc32cValid(hdr []byte, at int) bool {
	want := binary.BigEndian.Uint32(hdr[at:])
	var zero [crc32cLen]byte
	sum := crc32.Update(0, castagnoli, hdr[:at])
	sum = crc32.Update(sum, castagnoli, zero[:])
	sum = crc32.Update(sum, castagnoli, hdr[at+crc32cLen:])
	return sum == want
}

package proxyproto

import (
	"encoding/binary"
	"hash/crc32"
)

// Test helpers build headers byte by byte from the spec's layout, not with
// AppendV2, so the parser is checked against an independent encoder.

// sigV2 is the v2 signature written out as the spec lists it.
var sigV2 = []byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}

// v2Raw builds a v2 header with the given version/command and
// family/transport bytes; the length field is the size of body.
func v2Raw(verCmd, fam byte, body ...[]byte) []byte {
	var payload []byte
	for _, p := range body {
		payload = append(payload, p...)
	}
	out := append([]byte{}, sigV2...)
	out = append(out, verCmd, fam)
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)))
	return append(out, payload...)
}

// v2WithLen is v2Raw with a length field that lies about the body.
func v2WithLen(verCmd, fam byte, length uint16, body []byte) []byte {
	out := append([]byte{}, sigV2...)
	out = append(out, verCmd, fam)
	out = binary.BigEndian.AppendUint16(out, length)
	return append(out, body...)
}

func tlvBytes(typ byte, val []byte) []byte {
	out := []byte{typ}
	out = binary.BigEndian.AppendUint16(out, uint16(len(val)))
	return append(out, val...)
}

// addr4Block is the TCP4 address block: src, dst, sport, dport.
func addr4Block(src, dst [4]byte, sport, dport uint16) []byte {
	out := append(append([]byte{}, src[:]...), dst[:]...)
	out = binary.BigEndian.AppendUint16(out, sport)
	return binary.BigEndian.AppendUint16(out, dport)
}

func addr6Block(src, dst [16]byte, sport, dport uint16) []byte {
	out := append(append([]byte{}, src[:]...), dst[:]...)
	out = binary.BigEndian.AppendUint16(out, sport)
	return binary.BigEndian.AppendUint16(out, dport)
}

// withCRC32C appends a CRC32C TLV to a complete v2 header, fixes the
// length field and fills in the checksum as spec §2.2.3 describes; flip
// corrupts the stored value.
func withCRC32C(hdr []byte, flip bool) []byte {
	out := append(append([]byte{}, hdr...), tlvBytes(0x03, make([]byte, 4))...)
	binary.BigEndian.PutUint16(out[14:], uint16(len(out)-16))
	sum := crc32.Checksum(out, crc32.MakeTable(crc32.Castagnoli))
	if flip {
		sum ^= 1
	}
	binary.BigEndian.PutUint32(out[len(out)-4:], sum)
	return out
}

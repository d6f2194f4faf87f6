package detect

import "unicode/utf8"

// isBrandChannel reports the brand channel's name across versions.
func isBrandChannel(ch []byte) bool {
	return string(ch) == "minecraft:brand" || string(ch) == "MC|Brand"
}

// maxBrandLen bounds the brand kept for events (Sonar: < 64 bytes).
const maxBrandLen = 64

// brandString decodes the brand payload: a VarInt-prefixed string since 1.8.
func brandString(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	n := int(data[0]) // brands are short: a one-byte VarInt
	if n >= 0x80 || n > len(data)-1 {
		return ""
	}
	b := data[1 : 1+n]
	if len(b) > maxBrandLen || !utf8.Valid(b) {
		return ""
	}
	return string(b)
}

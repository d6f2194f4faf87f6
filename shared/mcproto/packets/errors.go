package packets

import "errors"

// Sentinel errors of this package. Decoders also return the mcproto
// sentinels (ErrShort, ErrTrailingBytes, ErrStringTooLong, ErrArrayTooLong,
// ...) wrapped with the packet name; callers branch with errors.Is.
var (
	// ErrBadIntent is a handshake intent other than status, login or
	// transfer. Vanilla closes the connection (docs/PROTOCOL.md, Handshake).
	ErrBadIntent = errors.New("packets: bad handshake intent")
	// ErrNotLegacyPing means the first byte is not 0xFE.
	ErrNotLegacyPing = errors.New("packets: not a legacy ping")
	// ErrBadLegacyPing is a 0xFE ping that breaks the 1.4–1.6 layout.
	ErrBadLegacyPing = errors.New("packets: malformed legacy ping")
	// ErrBadUUID is a textual UUID (Login Success before 1.16) that is not
	// 32 hex digits, with or without the four dashes.
	ErrBadUUID = errors.New("packets: malformed uuid string")
	// ErrBadJSON is a status response that is not the JSON object vanilla
	// sends.
	ErrBadJSON = errors.New("packets: malformed status json")
	// ErrBadBrand is a client brand no known client sends: empty, longer
	// than MaxBrandBytes, or with a character outside the brand alphabet
	// (DecodeBrand).
	ErrBadBrand = errors.New("packets: implausible client brand")
)

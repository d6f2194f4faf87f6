package mcproto

import "errors"

// Sentinel errors. Callers branch on them with errors.Is to choose a
// rejection reason; the wrapped context says where it happened.
var (
	// ErrShort means the buffer ended before the value did. On a stream it
	// means "read more"; inside a complete frame it means a malformed packet.
	ErrShort = errors.New("mcproto: unexpected end of data")
	// ErrVarIntTooBig is a VarInt with more than 5 bytes (VarLong: 10).
	ErrVarIntTooBig = errors.New("mcproto: varint too big")
	// ErrLengthTooWide is a frame length field whose third byte still has
	// the continuation bit: vanilla refuses lengths wider than 21 bits.
	ErrLengthTooWide = errors.New("mcproto: frame length wider than 21 bits")
	// ErrFrameTooLarge is a frame longer than the cap of the current state.
	ErrFrameTooLarge = errors.New("mcproto: frame too large")
	// ErrEmptyFrames is a run of zero-length frames: they carry nothing, so
	// a long run is only a way to make us spin.
	ErrEmptyFrames = errors.New("mcproto: too many empty frames")
	// ErrTrailingBytes means bytes were left after a packet was decoded.
	ErrTrailingBytes = errors.New("mcproto: trailing bytes after packet")
	// ErrStringTooLong is a string over its character or byte limit.
	ErrStringTooLong = errors.New("mcproto: string too long")
	// ErrNegativeLength is a negative length prefix.
	ErrNegativeLength = errors.New("mcproto: negative length")
	// ErrBadUTF8 is a string that is not valid UTF-8.
	ErrBadUTF8 = errors.New("mcproto: invalid utf-8 string")
	// ErrBadNBT is NBT vanilla refuses: a tag type that does not exist,
	// or nesting deeper than MaxNBTDepth.
	ErrBadNBT = errors.New("mcproto: bad NBT")
	// ErrArrayTooLong is a byte array or list over its cap.
	ErrArrayTooLong = errors.New("mcproto: array too long")
	// ErrBadCompression covers Data Length values that break the threshold
	// rules and zlib streams that do not decode.
	ErrBadCompression = errors.New("mcproto: bad compressed frame")
	// ErrInflateTooLarge is a Data Length above the direction's inflate cap.
	ErrInflateTooLarge = errors.New("mcproto: decompressed size over cap")
	// ErrSizeMismatch is an inflated body whose size differs from Data Length.
	ErrSizeMismatch = errors.New("mcproto: decompressed size does not match data length")
)

package telemetry

import (
	"unicode"
	"unicode/utf8"
)

// MaxNameShape is how many characters of a name NameShape keeps: vanilla
// names are at most 16 characters (Login Start's String(16)), so a longer
// name is a non-vanilla client and its tail says nothing more.
const MaxNameShape = 16

// NameShape reduces a login name to its shape, the pattern bot waves share
// even when every bot has a fresh random name: an upper-case letter becomes
// "A", a lower-case letter "a", a digit "0", anything else stays as it is,
// and the result is cut to MaxNameShape characters. "Steve_1999" and
// "Alice_2024" share the shape "Aaaaa_0000"; a wave named "bot1234" …
// "bot9876" has the single shape "aaa0000". Letters are classified by
// Unicode, so a wave of random Cyrillic names groups as well as a Latin one.
// Bytes that are not UTF-8 count as U+FFFD.
func NameShape(name string) string { return string(AppendNameShape(nil, name)) }

// AppendNameShape appends NameShape(name) to dst: a caller that counts
// shapes can look them up without allocating a string for each name.
func AppendNameShape(dst []byte, name string) []byte {
	n := 0
	for _, r := range name {
		if n == MaxNameShape {
			break
		}
		n++
		switch {
		case unicode.IsUpper(r):
			dst = append(dst, 'A')
		case unicode.IsLower(r):
			dst = append(dst, 'a')
		case unicode.IsDigit(r):
			dst = append(dst, '0')
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

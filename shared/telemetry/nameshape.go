package telemetry

import (
	"strings"
	"unicode"
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
func NameShape(name string) string {
	var b strings.Builder
	b.Grow(min(len(name), MaxNameShape*2))
	n := 0
	for _, r := range name {
		if n == MaxNameShape {
			break
		}
		n++
		switch {
		case unicode.IsUpper(r):
			b.WriteByte('A')
		case unicode.IsLower(r):
			b.WriteByte('a')
		case unicode.IsDigit(r):
			b.WriteByte('0')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

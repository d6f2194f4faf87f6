package telemetry

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNameShape(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"", ""},
		{"Steve_1999", "Aaaaa_0000"},
		{"Alice_2024", "Aaaaa_0000"},
		{"bot1234", "aaa0000"},
		{"xX_Sniper_Xx", "aA_Aaaaaa_Aa"},
		{"Пётр42", "Aaaa00"},           // Cyrillic letters are letters
		{"名前", "名前"},                   // neither upper nor lower: kept
		{"a.b-c d", "a.a-a a"},         // punctuation and spaces kept
		{"١٢٣", "000"},                 // Arabic-Indic digits are digits
		{"\xff\xfeA", "\uFFFD\uFFFDA"}, // not UTF-8
		{strings.Repeat("a", 40), strings.Repeat("a", MaxNameShape)},
		{strings.Repeat("é", 40), strings.Repeat("a", MaxNameShape)},
		{strings.Repeat("名", 20), strings.Repeat("名", MaxNameShape)},
	} {
		if got := NameShape(tc.name); got != tc.want {
			t.Errorf("NameShape(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestNameShapeBounded: whatever a client sends, a shape is at most
// MaxNameShape characters, so a table of shapes is bounded by its entry
// count alone.
func TestNameShapeBounded(t *testing.T) {
	for _, name := range []string{strings.Repeat("\U0001F600", 1000), strings.Repeat("\xff", 1000), strings.Repeat("Z9", 500)} {
		if n := utf8.RuneCountInString(NameShape(name)); n > MaxNameShape {
			t.Errorf("shape of a %d-byte name has %d characters", len(name), n)
		}
	}
}

func FuzzNameShape(f *testing.F) {
	for _, s := range []string{"Steve", "bot_123", "Пётр", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s := NameShape(name)
		if utf8.RuneCountInString(s) > MaxNameShape || !utf8.ValidString(s) {
			t.Fatalf("NameShape(%q) = %q", name, s)
		}
		if NameShape(s) != s {
			t.Fatalf("shape of a shape changed: %q → %q", s, NameShape(s))
		}
	})
}

func TestAppendNameShapeAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, MaxNameShape*utf8.UTFMax)
	if n := testing.AllocsPerRun(100, func() { buf = AppendNameShape(buf[:0], "Steve_1999") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	if string(buf) != "Aaaaa_0000" {
		t.Errorf("got %q", buf)
	}
}

package proxyproto

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes. Seeds live in
// testdata/fuzz/FuzzParse; run with
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 20s ./internal/proxyproto/
//
// and commit any new failing input the fuzzer writes there.
func FuzzParse(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.10 198.51.100.7 50000 25565\r\n\x10\x00"))
	f.Add(v2Raw(0x21, 0x11, addr4Block(ip4a, ip4b, 1, 2), tlvBytes(0x02, []byte("a"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		consumed := err == nil || errors.Is(err, ErrLocal) || errors.Is(err, ErrNoAddress)
		switch {
		case consumed:
			if n <= 0 || n > len(b) || n > MaxHeaderLen {
				t.Fatalf("n = %d for %d input bytes (cap %d)", n, len(b), MaxHeaderLen)
			}
		case n != 0:
			t.Fatalf("error %v with n = %d, want 0", err, n)
		case err == ErrShort && len(b) >= MaxHeaderLen:
			// Read would spin on a full buffer if this could happen.
			t.Fatalf("ErrShort for %d bytes, at or above the %d-byte cap", len(b), MaxHeaderLen)
		}
		if !consumed {
			return
		}
		if h.Version != 1 && h.Version != 2 {
			t.Fatalf("version %d", h.Version)
		}
		if len(h.TLVs) > maxTLVs {
			t.Fatalf("%d TLVs over the cap of %d", len(h.TLVs), maxTLVs)
		}
		if (err == nil) != h.Source.IsValid() || h.Source.IsValid() != h.Destination.IsValid() {
			t.Fatalf("error %v with source %v, destination %v", err, h.Source, h.Destination)
		}
		if h.Source.Addr().Is4In6() || h.Destination.Addr().Is4In6() {
			t.Fatalf("mapped address left in %+v", h)
		}
		// The header delimits itself: what follows cannot change it, and
		// no shorter prefix is complete.
		h2, n2, err2 := Parse(b[:n])
		if n2 != n || err2 != err && !errors.Is(err2, err) || !reflect.DeepEqual(h, h2) {
			t.Fatalf("reparse of the header alone: %+v, %d, %v; first %+v, %d, %v", h2, n2, err2, h, n, err)
		}
		for k := range n {
			if _, _, err := Parse(b[:k]); err != ErrShort {
				t.Fatalf("prefix of %d of a %d-byte header: %v, want ErrShort", k, n, err)
			}
		}
		// A v2 address survives a round trip through our own writer.
		if h.Version == 2 && err == nil {
			h3, _, err3 := Parse(AppendV2(nil, h.Source, h.Destination))
			if err3 != nil || h3.Source != h.Source || h3.Destination != h.Destination {
				t.Fatalf("AppendV2 round trip: %+v, %v; want %s -> %s", h3, err3, h.Source, h.Destination)
			}
		}
	})
}

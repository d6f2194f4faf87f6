package packets

import (
	"bytes"
	"strings"
	"testing"
)

// playLossy reports decoders whose re-encoding is not byte-stable: the
// LpVec3 vectors of 26.1 interact and 1.21.9+ spawn are re-quantized.
func playLossy(name string, p int32) bool {
	switch {
	case strings.HasPrefix(name, "use entity"):
		return p >= playProto26_1
	case strings.HasPrefix(name, "spawn entity"):
		return p >= playProto1_21_9
	}
	return false
}

// FuzzDecodePlay feeds hostile bodies to every play decoder (serverbound
// and clientbound), chosen by sel, under a protocol chosen by proto. A
// decoder must never panic, and whatever it accepts must re-encode to
// bytes it accepts again, identically (except the LpVec3 decoders, which
// must still accept their own output). Seeds live in
// testdata/fuzz/FuzzDecodePlay.
func FuzzDecodePlay(f *testing.F) {
	cases := playRoundTripCases()
	f.Add(uint8(0), uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, sel, proto uint8, body []byte) {
		c := cases[int(sel)%len(cases)]
		p := playTestProtocols[int(proto)%len(playTestProtocols)]
		v, err := c.decode(body, p)
		if err != nil {
			return
		}
		first := v.AppendData(nil, p)
		v2, err := c.decode(first, p)
		if err != nil {
			t.Fatalf("%s @%d: own encoding % x of %+v rejected: %v", c.name, p, first, v, err)
		}
		if playLossy(c.name, p) {
			return
		}
		if second := v2.AppendData(nil, p); !bytes.Equal(first, second) {
			t.Fatalf("%s @%d: unstable encoding\n first % x\nsecond % x", c.name, p, first, second)
		}
	})
}

package chunk

import (
	"math/rand/v2"
	"testing"
)

// sectionCases are state layouts that exercise every form: uniform, flat
// at each width, cubes, and direct 16-bit entries.
func sectionCases() map[string]*[SectionBlocks]uint16 {
	rng := rand.New(rand.NewPCG(5, 5))
	cases := map[string]*[SectionBlocks]uint16{}
	uniform := new([SectionBlocks]uint16)
	for i := range uniform {
		uniform[i] = 42
	}
	cases["uniform"] = uniform
	for _, n := range []int{2, 3, 9, 40, 256, 257, 4000} {
		cases["noise-"+itoa(n)] = randomSection(rng, n, 1<<15)
	}
	// Terrain-like: stone with a few small veins and a cave.
	veins := new([SectionBlocks]uint16)
	for i := range veins {
		veins[i] = 1
	}
	for k := range 6 {
		start := rng.IntN(SectionBlocks - 40)
		for j := range 3 {
			veins[start+j] = uint16(100 + k)
		}
	}
	for y := 4; y < 8; y++ {
		for z := range 16 {
			for x := 3; x < 9; x++ {
				veins[y<<8|z<<4|x] = 0
			}
		}
	}
	cases["terrain"] = veins
	cases["max-state"] = func() *[SectionBlocks]uint16 {
		s := randomSection(rng, 3, 10)
		s[17] = StateOutOfRange
		return s
	}()
	return cases
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestSectionForms(t *testing.T) {
	var pk Packer
	forms := map[uint8]bool{}
	for name, states := range sectionCases() {
		s := pk.Pack(states)
		forms[s.bits] = true
		for i, want := range states {
			if got := s.At(i); got != want {
				t.Fatalf("%s (bits %d): block %d = %d, want %d", name, s.bits, i, got, want)
			}
		}
		var back [SectionBlocks]uint16
		s.Unpack(&back)
		if back != *states {
			t.Fatalf("%s: Unpack differs", name)
		}
		if flat := SectionBlocks * int(min(s.bits, directBits)) / 8; s.bits != cubeMode && s.bits != 0 && 8*len(s.data) != flat {
			t.Fatalf("%s: %d data bytes, want %d", name, 8*len(s.data), flat)
		}
	}
	for _, b := range []uint8{0, cubeMode, 8, directBits} {
		if !forms[b] {
			t.Errorf("no case packed to bits %d", b)
		}
	}
}

// The cube form is chosen only when smaller than flat.
func TestCubeFormIsSmaller(t *testing.T) {
	var pk Packer
	c := sectionCases()
	terrain := pk.Pack(c["terrain"])
	if terrain.bits != cubeMode || terrain.Bytes() > 600 {
		t.Fatalf("terrain: bits %d, %d bytes", terrain.bits, terrain.Bytes())
	}
	noise := pk.Pack(c["noise-9"])
	if noise.bits != 4 {
		t.Fatalf("noise of 9 states: bits %d, want flat 4", noise.bits)
	}
}

func BenchmarkSectionAt(b *testing.B) {
	var pk Packer
	for _, name := range []string{"terrain", "noise-9", "noise-4000"} {
		s := pk.Pack(sectionCases()[name])
		b.Run(name, func(b *testing.B) {
			var sum uint16
			i := 0
			for b.Loop() {
				sum += s.At(i & (SectionBlocks - 1))
				i += 7
			}
			_ = sum
		})
	}
}

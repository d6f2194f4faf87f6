package world

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rustguard/rustguard/edge/internal/fixtures"
	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/edge/internal/world/chunk"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// recorded returns the map_chunk bodies (packet id stripped) of a
// flying-squid recording in package chunk's testdata.
func recorded(t testing.TB, version string) [][]byte {
	t.Helper()
	var fx struct {
		Packets []struct{ Name, Data string }
	}
	fixtures.GzipJSON(t, filepath.Join("chunk", "testdata", "squid-"+version+".json.gz"), &fx)
	var out [][]byte
	for _, p := range fx.Packets {
		if p.Name != "map_chunk" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		_, n, err := mcproto.ReadVarInt(raw)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw[n:])
	}
	if len(out) == 0 {
		t.Fatal("no chunks")
	}
	return out
}

// at returns a copy of a chunk body moved to column x, z.
func at(body []byte, x, z int32) []byte {
	b := append([]byte(nil), body...)
	binary.BigEndian.PutUint32(b[0:], uint32(x))
	binary.BigEndian.PutUint32(b[4:], uint32(z))
	return b
}

var dim1204 = chunk.Dimension{MinY: -64, Height: 384, SkyLight: true}

func decoder(t testing.TB, protocol int32) *chunk.Decoder {
	t.Helper()
	table, err := blocks.ForProtocol(protocol)
	if err != nil {
		t.Fatal(err)
	}
	return chunk.NewDecoder(table)
}

var overworld = Dim{Backend: "b1", Name: "minecraft:overworld"}

func mustJoin(t testing.TB, s *Store, d Dim) *View {
	t.Helper()
	v, err := s.Join(d)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// firstSolid finds a position in column cx, cz whose state is not air.
func firstSolid(t *testing.T, v *View, cx, cz int32) (x, y, z int32, state uint16) {
	t.Helper()
	for y := int32(-64); y < 320; y++ {
		if st, ok := v.Block(cx*16+3, y, cz*16+5); ok && st != 0 {
			return cx*16 + 3, y, cz*16 + 5, st
		}
	}
	t.Fatal("no solid block")
	return
}

// Two players receiving the same column share one copy; references keep
// it alive until the last player unloads it, and then every byte is back.
func TestColumnsAreSharedAndReferenceCounted(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(t, 765)
	a, b := mustJoin(t, s, overworld), mustJoin(t, s, overworld)
	empty := s.Stats().Bytes
	for _, v := range []*View{a, b} {
		if err := v.LoadColumn(dec, at(bodies[0], 2, 3), dim1204); err != nil {
			t.Fatal(err)
		}
	}
	one := s.Stats()
	if one.Columns != 1 {
		t.Fatalf("%d columns after two players loaded one", one.Columns)
	}
	if err := a.LoadColumn(dec, at(bodies[0], 2, 3), dim1204); err != nil { // a repeat changes nothing
		t.Fatal(err)
	}
	if s.Stats() != one {
		t.Fatalf("repeat load changed the store: %+v → %+v", one, s.Stats())
	}
	x, y, z, st := firstSolid(t, a, 2, 3)
	if got, ok := b.Block(x, y, z); !ok || got != st {
		t.Fatalf("b sees %d (%v), a sees %d", got, ok, st)
	}
	a.Unload(2, 3)
	if _, ok := a.Block(x, y, z); ok {
		t.Fatal("a still sees an unloaded column")
	}
	if got, ok := b.Block(x, y, z); !ok || got != st || s.Stats().Columns != 1 {
		t.Fatal("b lost the column when a unloaded it")
	}
	b.Unload(2, 3)
	// What remains is the two views and their (empty) held lists' capacity.
	if st := s.Stats(); st.Columns != 0 || st.Bytes > empty+2*8 {
		t.Fatalf("after both unloaded: %+v, want about %d bytes", st, empty)
	}
	a.Close()
	b.Close()
	if st := s.Stats(); st.Bytes != 0 {
		t.Fatalf("closed store holds %d bytes", st.Bytes)
	}
}

func TestDimensionsAndBackendsAreSeparate(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(t, 765)
	a := mustJoin(t, s, overworld)
	b := mustJoin(t, s, Dim{Backend: "b2", Name: "minecraft:overworld"})
	c := mustJoin(t, s, Dim{Backend: "b1", Name: "minecraft:the_nether"})
	for _, v := range []*View{a, b, c} {
		if err := v.LoadColumn(dec, at(bodies[1], 0, 0), dim1204); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().Columns; n != 3 {
		t.Fatalf("%d columns, want one per world", n)
	}
	border := mcproto.AppendFloat64(mcproto.AppendFloat64(nil, 100), -100)
	if err := a.WorldBorder(dec, chunk.BorderCenter, border); err != nil || a.Border().X != 100 {
		t.Fatalf("border %+v %v", a.Border(), err)
	}
	a.SetDimension(Dim{Backend: "b1", Name: "minecraft:the_nether"})
	if a.Border() != chunk.DefaultBorder() {
		t.Fatalf("a new world kept the old border: %+v", a.Border())
	}
	if n := s.Stats().Columns; n != 2 || a.Columns() != 0 {
		t.Fatalf("after a dimension change: %d columns, a holds %d", n, a.Columns())
	}
}

// A block change reaches every player of the world once; repeating it
// (each player's connection delivers it) changes nothing.
func TestBlockChangesAppliedOnce(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(t, 765)
	a, b := mustJoin(t, s, overworld), mustJoin(t, s, overworld)
	for _, v := range []*View{a, b} {
		if err := v.LoadColumn(dec, at(bodies[0], 0, 0), dim1204); err != nil {
			t.Fatal(err)
		}
	}
	x, y, z, st := firstSolid(t, a, 0, 0)
	changes := []chunk.Change{{X: x, Y: y, Z: z, State: 0}, {X: x, Y: y + 1, Z: z, State: st}, {X: 100, Y: 0, Z: 100, State: 1}}
	a.Apply(changes, false)
	after := s.Stats()
	b.Apply(changes, false)
	if s.Stats() != after {
		t.Fatal("the repeated change altered the store")
	}
	for _, v := range []*View{a, b} {
		if got, _ := v.Block(x, y, z); got != 0 {
			t.Errorf("broken block reads %d", got)
		}
		if got, _ := v.Block(x, y+1, z); got != st {
			t.Errorf("placed block reads %d, want %d", got, st)
		}
	}
	// A player who loads the column later gets the server's packet, which
	// no longer matches: decoded again, replacing the shared copy.
	c := mustJoin(t, s, overworld)
	if err := c.LoadColumn(dec, at(bodies[0], 0, 0), dim1204); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Block(x, y, z); got != st {
		t.Errorf("after a fresh chunk, the block reads %d, want %d", got, st)
	}
}

func TestOverlay(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(t, 765)
	a, b := mustJoin(t, s, overworld), mustJoin(t, s, overworld)
	for _, v := range []*View{a, b} {
		if err := v.LoadColumn(dec, at(bodies[0], 0, 0), dim1204); err != nil {
			t.Fatal(err)
		}
	}
	x, y, z, st := firstSolid(t, a, 0, 0)
	a.Predict(x, y, z, 0, 7)   // a breaks it (1.19+ sequence 7)
	a.Predict(x, y+1, z, 1, 8) // and places stone above
	if got, _ := a.Block(x, y, z); got != 0 {
		t.Fatalf("a's own break not seen: %d", got)
	}
	if got, _ := b.Block(x, y, z); got != st {
		t.Fatalf("b sees a's unconfirmed break: %d", got)
	}
	a.Acknowledge(7)
	if got, _ := a.Block(x, y, z); got != st {
		t.Fatalf("after the ack the server's state (%d) should show, got %d", st, got)
	}
	if got, _ := a.Block(x, y+1, z); got != 1 {
		t.Fatal("the ack settled a later sequence")
	}
	// Before 1.19: the server's block change at that position settles it.
	a.Predict(x, y+2, z, 5, -1)
	a.Apply([]chunk.Change{{X: x, Y: y + 2, Z: z, State: 0}}, true)
	if got, _ := a.Block(x, y+2, z); got != 0 {
		t.Fatalf("the server's correction did not replace the edit: %d", got)
	}
	// The overlay never grows past its bound.
	for i := range 3 * maxOverlay {
		a.Predict(int32(i), 300, 0, 1, int32(100+i))
	}
	if len(a.overlay) != maxOverlay || cap(a.overlay) != maxOverlay {
		t.Fatalf("overlay %d/%d", len(a.overlay), cap(a.overlay))
	}
}

// Past its budget the store admits no new player and keeps no new column.
func TestBudget(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	dec := decoder(t, 765)
	probe := NewStore(0, nil)
	v := mustJoin(t, probe, overworld)
	if err := v.LoadColumn(dec, at(bodies[0], 0, 0), dim1204); err != nil {
		t.Fatal(err)
	}
	perColumn := probe.Stats().Bytes
	s := NewStore(perColumn*4, nil)
	a := mustJoin(t, s, overworld)
	loaded := 0
	for i := range 8 {
		if err := a.LoadColumn(dec, at(bodies[i], int32(i), 0), dim1204); err != nil {
			t.Fatal(err)
		}
		if _, ok := a.Block(int32(i)*16, 0, 0); ok {
			loaded++
		}
	}
	if st := s.Stats(); st.Bytes > st.Budget {
		t.Fatalf("store over budget: %+v", st)
	}
	if loaded == 0 || loaded == 8 {
		t.Fatalf("%d of 8 columns kept with room for about 4", loaded)
	}
	if _, err := s.Join(overworld); !errors.Is(err, ErrNoWorld) {
		t.Fatalf("join over budget: %v", err)
	}
	a.Close()
	if _, err := s.Join(overworld); err != nil {
		t.Fatalf("join after the store emptied: %v", err)
	}
}

// 1.8–1.16 chunks without ground-up replace only the sections they carry.
func TestPartialColumn(t *testing.T) {
	s := NewStore(0, nil)
	v := mustJoin(t, s, overworld)
	var pk chunk.Packer
	var st [chunk.SectionBlocks]uint16
	full := chunk.Column{X: 1, Z: 1, Full: true, Sections: make([]chunk.Section, 16)}
	for i := range full.Sections {
		full.Sections[i] = chunk.Uniform(1)
	}
	v.storeColumn(full, 0)
	for i := range st {
		st[i] = 7
	}
	part := chunk.Column{X: 1, Z: 1, Mask: 1 << 2, Sections: make([]chunk.Section, 16)}
	part.Sections[2] = pk.Pack(&st)
	v.storeColumn(part, 0)
	if got, _ := v.Block(16, 2*16+3, 16); got != 7 {
		t.Fatalf("patched section reads %d", got)
	}
	if got, _ := v.Block(16, 3, 16); got != 1 {
		t.Fatalf("untouched section reads %d", got)
	}
	// A partial column for a column nobody holds is ignored, as vanilla does.
	part.X = 9
	v.storeColumn(part, 0)
	if s.Stats().Columns != 1 {
		t.Fatal("a partial update created a column")
	}
}

// Many players loading, changing and unloading the same columns at once
// leave a consistent store (run with -race).
func TestConcurrentViews(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	s := NewStore(0, nil)
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec := decoder(t, 765)
			v, err := s.Join(overworld)
			if err != nil {
				t.Error(err)
				return
			}
			defer v.Close()
			for i := range 24 {
				x := int32(i % 6)
				if err := v.LoadColumn(dec, at(bodies[i%len(bodies)], x, 0), dim1204); err != nil {
					t.Error(err)
					return
				}
				v.Apply([]chunk.Change{{X: x * 16, Y: 70, Z: int32(p), State: uint16(i)}}, false)
				v.Block(x*16, 70, 0)
				if i%5 == 0 {
					v.Unload(x, 0)
				}
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.Bytes != 0 || st.Columns != 0 {
		t.Fatalf("after every player left: %+v", st)
	}
}

// A caller that hashes the compressed frame references the stored column
// without inflating or decoding; a different frame is not mistaken for it.
func TestTryReferenceByFrameHash(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(t, 765)
	a, b := mustJoin(t, s, overworld), mustJoin(t, s, overworld)
	frame := []byte("the compressed frame of column 4,4")
	h := s.Hash(frame)
	if a.TryReference(4, 4, h) {
		t.Fatal("referenced a column nobody stored")
	}
	if err := a.LoadColumnHashed(dec, at(bodies[0], 4, 4), dim1204, h); err != nil {
		t.Fatal(err)
	}
	if !b.TryReference(4, 4, h) || b.Columns() != 1 {
		t.Fatal("b could not reference a's column by the frame hash")
	}
	if b.TryReference(4, 4, s.Hash([]byte("another frame"))) {
		t.Fatal("a different frame referenced the column")
	}
	a.Unload(4, 4)
	if _, ok := b.Block(64, 0, 64); !ok {
		t.Fatal("b lost the column")
	}
}

// A change shows in the shared state at once, but each client has it only
// after processing it: ChangedAfter tells prediction where to accept both
// states. The same change relayed later to another player marks the
// section again, for that player's sake.
func TestChangedAfter(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	clock := time.Unix(1000, 0)
	s := NewStore(0, func() time.Time { return clock })
	dec := decoder(t, 765)
	a, b := mustJoin(t, s, overworld), mustJoin(t, s, overworld)
	for _, v := range []*View{a, b} {
		if err := v.LoadColumn(dec, at(bodies[0], 0, 0), dim1204); err != nil {
			t.Fatal(err)
		}
	}
	x, y, z, _ := firstSolid(t, a, 0, 0)
	if a.ChangedAfter(x, y, z, clock.Add(-time.Hour)) {
		t.Fatal("a fresh column reports a change")
	}
	change := []chunk.Change{{X: x, Y: y, Z: z, State: 0}}
	clock = clock.Add(100 * time.Millisecond) // t = 100 ms: a's connection relays it
	a.Apply(change, false)
	t100 := clock
	if !b.ChangedAfter(x, y, z, t100.Add(-time.Millisecond)) || b.ChangedAfter(x, y, z, t100) {
		t.Fatal("the change is not dated when a relayed it")
	}
	if b.ChangedAfter(x, y+16, z, t100.Add(-time.Millisecond)) {
		t.Fatal("another section reports the change")
	}
	clock = clock.Add(50 * time.Millisecond) // t = 150 ms: b's connection relays the same change
	b.Apply(change, false)
	if !b.ChangedAfter(x, y, z, t100.Add(20*time.Millisecond)) {
		t.Fatal("b's later relay of the change does not count")
	}
	// A column replaced under its holders changed everywhere.
	clock = clock.Add(time.Second)
	c := mustJoin(t, s, overworld)
	if err := c.LoadColumn(dec, at(bodies[1], 0, 0), dim1204); err != nil {
		t.Fatal(err)
	}
	if !a.ChangedAfter(x, -60, z, clock.Add(-time.Millisecond)) {
		t.Fatal("a replaced column is not marked changed")
	}
}

// BenchmarkViewBlock reads the blocks around a player the way a movement
// prediction step would (a 3×4×3 box): the cost per lookup.
func BenchmarkViewBlock(b *testing.B) {
	bodies := recorded(b, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(b, 765)
	v := mustJoin(b, s, overworld)
	for x := int32(-1); x <= 1; x++ {
		for z := int32(-1); z <= 1; z++ {
			if err := v.LoadColumn(dec, at(bodies[0], x, z), dim1204); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	var sum uint16
	for b.Loop() {
		for dx := int32(-1); dx <= 1; dx++ {
			for dy := int32(-1); dy <= 2; dy++ {
				for dz := int32(-1); dz <= 1; dz++ {
					st, _ := v.Block(15+dx, 70+dy, 15+dz)
					sum += st
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/36, "ns/lookup")
	_ = sum
}

// BenchmarkViewBox reads the same 3×4×3 box in one call.
func BenchmarkViewBox(b *testing.B) {
	bodies := recorded(b, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(b, 765)
	v := mustJoin(b, s, overworld)
	for x := int32(-1); x <= 1; x++ {
		for z := int32(-1); z <= 1; z++ {
			if err := v.LoadColumn(dec, at(bodies[0], x, z), dim1204); err != nil {
				b.Fatal(err)
			}
		}
	}
	var dst [36]uint16
	b.ReportAllocs()
	for b.Loop() {
		if !v.Box(14, 69, 14, 16, 72, 16, dst[:]) {
			b.Fatal("box not loaded")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/36, "ns/lookup")
}

// Box answers what Block answers, block by block, with the overlay.
func TestBoxMatchesBlock(t *testing.T) {
	bodies := recorded(t, "1.20.4")
	s := NewStore(0, nil)
	dec := decoder(t, 765)
	v := mustJoin(t, s, overworld)
	for x := int32(0); x <= 1; x++ {
		if err := v.LoadColumn(dec, at(bodies[x], x, 0), dim1204); err != nil {
			t.Fatal(err)
		}
	}
	v.Predict(16, 70, 3, 9, 1)
	var dst [4 * 5 * 3]uint16
	if !v.Box(14, 68, 2, 17, 72, 4, dst[:]) {
		t.Fatal("box over loaded columns refused")
	}
	i := 0
	for y := int32(68); y <= 72; y++ {
		for z := int32(2); z <= 4; z++ {
			for x := int32(14); x <= 17; x++ {
				if want, _ := v.Block(x, y, z); dst[i] != want {
					t.Fatalf("%d,%d,%d: box %d, block %d", x, y, z, dst[i], want)
				}
				i++
			}
		}
	}
	if v.Box(14, 68, 2, 17, 72, 20, dst[:]) {
		t.Fatal("a box larger than dst was filled")
	}
	if v.Box(30, 68, 2, 33, 72, 4, dst[:]) {
		t.Fatal("a box over an unloaded column was filled")
	}
}

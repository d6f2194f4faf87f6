package predict

import (
	"fmt"
	"testing"
)

// BenchmarkStep is the cost of one movement packet: honest traces replayed
// round and round, on 1.20.4 (sprint-jumping has the most candidates: on
// the ground every few ticks, sprinting, jumping; 1.20.4 water stands down
// early) and on 1.8.8 (water, judged there: misses replay more passes).
func BenchmarkStep(b *testing.B) {
	for _, c := range []struct {
		name     string
		protocol int32
	}{{"sprint_jump", 765}, {"walk", 765}, {"water", 765}, {"water", 47}, {"ladder", 47}} {
		name := c.name
		b.Run(fmt.Sprintf("%s/%d", name, c.protocol), func(b *testing.B) {
			var tr *trace
			for _, t := range loadTraces(b) {
				if t.Protocol == c.protocol && t.Name == name {
					tr = &t
					break
				}
			}
			tables, err := LoadTables(tr.Protocol)
			if err != nil {
				b.Fatal(err)
			}
			p := New(testRederive)
			w := tr.world()
			reps := make([]Report, len(tr.Ticks))
			envs := make([]Env, len(tr.Ticks))
			for i, tk := range tr.Ticks {
				reps[i] = Report{X: tk.X, Y: tk.Y, Z: tk.Z, HasPos: true, OnGround: tk.Ground}
				envs[i] = DefaultEnv(tr.Protocol)
				if tk.Sprint {
					envs[i].Sprinting = On
				}
			}
			var s State
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % len(reps)
				if k == 0 {
					s.Reset()
				}
				p.Step(w, tables, &s, &envs[k], &reps[k])
			}
		})
	}
}

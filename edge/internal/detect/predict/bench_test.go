package predict

import "testing"

// BenchmarkStep is the cost of one movement packet: a sprint-jumping
// player on 1.20.4 (the most candidates: on the ground every few ticks,
// sprinting, jumping), replayed round and round.
func BenchmarkStep(b *testing.B) {
	for _, name := range []string{"sprint_jump", "walk", "water"} {
		b.Run(name, func(b *testing.B) {
			var tr *trace
			for _, t := range loadTraces(b) {
				if t.Protocol == 765 && t.Name == name {
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

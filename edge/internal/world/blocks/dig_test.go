package blocks

import (
	"errors"
	"testing"
)

// TestDigTables reads, on every tested version, the dig data the
// break-time check relies on (ids from that version's minecraft-data).
func TestDigTables(t *testing.T) {
	cases := []struct {
		protocol                      int32
		stone, dirt, obsidian, torch  int32
		woodPick, diamondPick, shovel int32
		pickMaterialKnown             bool
	}{
		{47, 16, 48, 784, 800, 270, 278, 277, true},
		{340, 16, 48, 784, 800, 270, 278, 277, true},
		{754, 1, 10, 1434, 1435, 585, 605, 604, true},
		{765, 1, 10, 2354, 2355, 816, 836, 835, true},
		{769, 1, 10, 2397, 2398, 851, 871, 870, false}, // obsidian: a tier tag, not a material, in the data
	}
	for _, c := range cases {
		tb, err := DigForProtocol(c.protocol)
		if err != nil {
			t.Fatalf("%d: %v", c.protocol, err)
		}
		stone := tb.Lookup(c.stone)
		if !stone.Known() || stone.Hardness() != 1.5 || !stone.NeedsTool() {
			t.Errorf("%d: stone %v hardness %v needs tool %v", c.protocol, stone.Known(), stone.Hardness(), stone.NeedsTool())
		}
		if s, ok := tb.ToolSpeed(stone, c.woodPick); !ok || s != 2 {
			t.Errorf("%d: wooden pickaxe on stone %v %v, want 2", c.protocol, s, ok)
		}
		if s, ok := tb.ToolSpeed(stone, c.diamondPick); !ok || s != 8 {
			t.Errorf("%d: diamond pickaxe on stone %v %v, want 8", c.protocol, s, ok)
		}
		if s, _ := tb.ToolSpeed(stone, c.shovel); s != 1 {
			t.Errorf("%d: shovel on stone %v, want 1", c.protocol, s)
		}
		if !tb.CanHarvest(stone, c.woodPick) || tb.CanHarvest(stone, c.shovel) {
			t.Errorf("%d: harvest of stone wrong", c.protocol)
		}
		if f := tb.FastestSpeed(stone); f != 12 {
			t.Errorf("%d: fastest on stone %v, want 12 (gold)", c.protocol, f)
		}
		dirt := tb.Lookup(c.dirt)
		if dirt.Hardness() != 0.5 || dirt.NeedsTool() || !tb.CanHarvest(dirt, c.woodPick) {
			t.Errorf("%d: dirt %v %v", c.protocol, dirt.Hardness(), dirt.NeedsTool())
		}
		obs := tb.Lookup(c.obsidian)
		if obs.Hardness() != 50 || tb.CanHarvest(obs, c.woodPick) || !tb.CanHarvest(obs, c.diamondPick) {
			t.Errorf("%d: obsidian %v", c.protocol, obs.Hardness())
		}
		if _, known := tb.ToolSpeed(obs, c.diamondPick); known != c.pickMaterialKnown {
			t.Errorf("%d: obsidian material known %v, want %v", c.protocol, known, c.pickMaterialKnown)
		}
		if torch := tb.Lookup(c.torch); !torch.Known() || torch.Hardness() != 0 {
			t.Errorf("%d: torch %v", c.protocol, torch.Hardness())
		}
		if d := tb.Lookup(1 << 20); d.Known() {
			t.Errorf("%d: a state past the table is known", c.protocol)
		}
	}
	if _, err := DigForProtocol(1); !errors.Is(err, ErrNoTable) {
		t.Errorf("protocol 1: %v, want ErrNoTable", err)
	}
}

package detect

import (
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Inventory: window clicks, creative inventory actions and anvil renames.
// Crash clients aim at these (Grim CrashB, CrashD, CrashF, ExploitA): a
// slot or mode no screen has, a creative action from a survival player, a
// name longer than the anvil's text field.

const (
	chkCreative CheckID = inventoryBase + iota
	chkClickFields
	chkAnvilName
)

// Click modes (ClickType ordinals) and the slots a vanilla click uses
// outside the slot list.
const (
	clickQuickMove = 1
	clickSwap      = 2
	maxClickMode   = 6 // pickup_all
	slotOutside    = -999
	slotNone       = -1
)

// Anvil rename limits: the text field's max length by version (Grim ExploitA).
const (
	anvilNameChars1_8    = 30
	anvilNameChars1_11_1 = 31
	anvilNameChars1_12   = 35
	anvilNameChars1_17   = 50
)

// legacyAnvilChannel carries the anvil rename before 1.13.
const legacyAnvilChannel = "MC|ItemName"

func inventorySpecs() []Spec {
	return []Spec{
		{ID: chkCreative, Key: "crash.creative", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "a creative inventory action while the server has not made the player creative (game mode or instabuild ability); while a game-mode change is in flight the action is dropped without a flag"},
		{ID: chkClickFields, Key: "crash.click_fields", Layer: 2, Severity: detection.SeverityCritical, Action: detection.ActionDrop,
			Description: "a window click with an unknown mode, a negative button in quick-move or swap, a swap from a negative slot, or a slot other than -999, -1 or 0..max_slot (Grim CrashF, Sierra)",
			Params:      map[string]float64{"max_slot": 127}},
		{ID: chkAnvilName, Key: "crash.anvil_name", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop,
			Description: "an anvil rename longer than the client's text field (30, 31 from 1.11.1, 35 from 1.12, 50 from 1.17) or not a well-formed string; the MC|ItemName channel before 1.13, the rename packet from 1.13 (where a malformed one is frame.size)"},
	}
}

// inventoryChecks is the inventory family's bookkeeping (none yet: the
// checks judge each packet on its own against the shared state).
type inventoryChecks struct{}

func (l *inventoryChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	switch pk.kind {
	case packets.KindCreativeSlot:
		return l.creative(p, pk)
	case packets.KindWindowClick:
		return l.click(p, pk)
	case packets.KindPluginMessage:
		if p.info.Protocol < mcproto.Protocol1_13 && string(pk.plugin.Channel) == legacyAnvilChannel {
			return l.legacyAnvil(p, pk)
		}
	case packets.KindNameItem:
		// 1.13+: a packet of its own.
		v := l.anvilName(p, pk, pk.nameItem.Name)
		if hasLookup(pk.nameItem.Name) {
			v = worse(v, p.flag(chkLookupString, 1, pk.now, "field", "item_name"))
		}
		return v
	}
	return pass
}

// creative checks a creative inventory action (Grim CrashB). While a
// change that grants creative is in flight the client may already be
// creative: drop the action (the backend would refuse it if not) without a
// flag.
func (l *inventoryChecks) creative(p *Player, pk *serverPacket) Verdict {
	if !p.on(chkCreative) {
		return pass
	}
	caps := &p.self.caps
	caps.settle(p.clock.acked)
	switch {
	case caps.certain&capCreative != 0:
		return pass
	case caps.possible&capCreative != 0:
		if enforcing(p, chkCreative) {
			return drop
		}
		return pass
	}
	return p.flag(chkCreative, 1, pk.now, "game_mode", itoa(int64(caps.gameMode)), "slot", itoa(int64(pk.creative.Slot)))
}

// click checks the header of a window click (Grim CrashF; Sierra
// checkForInvalidSlot). Vanilla quick-moves and swaps only from a hovered
// slot, with the mouse button or hotbar key as button.
func (l *inventoryChecks) click(p *Player, pk *serverPacket) Verdict {
	c := &pk.click
	bad := c.Mode < 0 || c.Mode > maxClickMode ||
		(c.Mode == clickQuickMove || c.Mode == clickSwap) && c.Button < 0 ||
		c.Mode == clickSwap && c.Slot < 0 ||
		c.Slot != slotOutside && c.Slot != slotNone && (c.Slot < 0 || float64(c.Slot) > p.param(chkClickFields, "max_slot"))
	if bad {
		return p.flag(chkClickFields, 1, pk.now, "mode", itoa(int64(c.Mode)), "button", itoa(int64(c.Button)), "slot", itoa(int64(c.Slot)))
	}
	return pass
}

// legacyAnvil checks the rename that travels as MC|ItemName before 1.13.
func (l *inventoryChecks) legacyAnvil(p *Player, pk *serverPacket) Verdict {
	if len(pk.plugin.Data) == 0 {
		return pass // vanilla 1.8 reads an empty payload as "clear the name"
	}
	r := mcproto.NewReader(pk.plugin.Data)
	name := r.StringBytes(packets.MaxPluginDataServerbound)
	var v Verdict
	if err := r.Finish(); err != nil {
		v = p.flag(chkAnvilName, 1, pk.now, "error", err.Error())
	} else {
		v = l.anvilName(p, pk, name)
	}
	if hasLookup(name) {
		v = worse(v, p.flag(chkLookupString, 1, pk.now, "field", "item_name"))
	}
	return v
}

// anvilName checks a rename against the anvil's text field. Vanilla trims
// what is too long; its own client never sends more than the field holds.
func (l *inventoryChecks) anvilName(p *Player, pk *serverPacket, name []byte) Verdict {
	if n := mcproto.UTF16Units(name); n > anvilNameLimit(p.info.Protocol) {
		return p.flag(chkAnvilName, 1, pk.now, "chars", itoa(int64(n)))
	}
	return pass
}

// anvilNameLimit is the anvil text field's length by version.
func anvilNameLimit(protocol int32) int {
	switch {
	case protocol >= mcproto.Protocol1_17:
		return anvilNameChars1_17
	case protocol >= mcproto.Protocol1_12:
		return anvilNameChars1_12
	case protocol >= mcproto.Protocol1_11_1:
		return anvilNameChars1_11_1
	}
	return anvilNameChars1_8
}

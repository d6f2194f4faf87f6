package detect

import (
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Inventory: window clicks, closes and confirmations, creative inventory
// actions and anvil renames.
// Crash clients aim at these (Grim CrashB, CrashD, CrashF, ExploitA): a
// slot or mode no screen has, a creative action from a survival player, a
// name longer than the anvil's text field.

const (
	chkCreative CheckID = inventoryBase + iota
	chkClickFields
	chkAnvilName
	chkUnknownWindow
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
		{ID: chkUnknownWindow, Key: "inventory.unknown_window", Layer: 2, Severity: detection.SeverityHigh, Action: detection.ActionDrop, Decay: 0.1,
			Description: "a window click, close or confirmation (1.8–1.16.5) for a window id the server did not open, or closed and the client knows it (the player's own inventory, 0, is always open); dropped"},
	}
}

// Window tracking. Vanilla numbers container windows 1..100 (the server's
// containerCounter % 100 + 1); the player's own inventory is 0.
const (
	// playerWindow is the player's inventory, open whenever no other is.
	playerWindow = 0
	// maxTrackedWindow is the largest id tracked one by one (vanilla's
	// and Bukkit's counters stop at 100); a server that opens a window
	// beyond it turns the check off for the session rather than guess.
	maxTrackedWindow = 100
)

// maxClosingWindows bounds the windows remembered as closing: closed by
// the server (or by opening another) while the client may still click
// them, until the next probe is answered. A vanilla server closes one
// window at a time; a flurry beyond this widens instead (closingSpill).
const maxClosingWindows = 4

// closingWindow is a window the client may click until probe seq is
// answered.
type closingWindow struct {
	id  int32
	seq uint32
}

// inventoryChecks is the inventory family's bookkeeping: the windows the
// server opened. A client has at most one container open (opening one
// closes the one before), so the edge keeps that one and the few still
// closing, not a slot per possible id: this state is part of every idle
// player's memory.
type inventoryChecks struct {
	open    int32 // the container the server opened and nobody closed since; 0: none
	closing [maxClosingWindows]closingWindow
	nClose  int
	// closingSpill: a window pushed out of closing was valid until this
	// probe is answered; until then any window passes (uncertainty
	// widens, it never flags).
	closingSpill uint32
	untracked    bool // a window id beyond maxTrackedWindow was opened
}

// closeWindow remembers id as closing until probe seq is answered.
func (l *inventoryChecks) closeWindow(id int32, seq uint32) {
	if l.open == id {
		l.open = 0
	}
	l.forget(id)
	if l.nClose == maxClosingWindows {
		l.closingSpill = max(l.closingSpill, l.closing[0].seq)
		copy(l.closing[:], l.closing[1:])
		l.nClose--
	}
	l.closing[l.nClose] = closingWindow{id: id, seq: seq}
	l.nClose++
}

// forget drops id from the closing windows: the client closed it itself.
func (l *inventoryChecks) forget(id int32) {
	for i := 0; i < l.nClose; i++ {
		if l.closing[i].id == id {
			copy(l.closing[i:], l.closing[i+1:l.nClose])
			l.nClose--
			return
		}
	}
}

// mayClick reports whether the client may still act on window id, given
// the last answered probe.
func (l *inventoryChecks) mayClick(id int32, acked uint32) bool {
	if id == l.open || acked < l.closingSpill {
		return true
	}
	for i := 0; i < l.nClose; i++ {
		if l.closing[i].id == id && acked < l.closing[i].seq {
			return true
		}
	}
	return false
}

func (l *inventoryChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	switch pk.kind {
	case packets.KindCreativeSlot:
		return l.creative(p, pk)
	case packets.KindWindowClick:
		if v := l.click(p, pk); v.Outcome != Pass {
			return v
		}
		return l.window(p, pk, pk.click.WindowID, "click")
	case packets.KindCloseWindow:
		v := l.window(p, pk, pk.closeWin.WindowID, "close")
		if id := pk.closeWin.WindowID; id > playerWindow && id <= maxTrackedWindow {
			// The client clicks it no more.
			if l.open == id {
				l.open = 0
			}
			l.forget(id)
		}
		return v
	case packets.KindTransaction:
		// Our own probes never get here (the clock swallows them).
		t, err := packets.DecodeTransaction(pk.data, p.info.Protocol)
		if err != nil {
			return pass
		}
		return l.window(p, pk, int32(uint8(t.WindowID)), "transaction")
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

// window checks that a packet names a window the client may have open.
func (l *inventoryChecks) window(p *Player, pk *serverPacket, id int32, packet string) Verdict {
	if id == playerWindow || l.untracked || !p.on(chkUnknownWindow) {
		return pass
	}
	if id > playerWindow && id <= maxTrackedWindow && l.mayClick(id, p.clock.acked) {
		return pass
	}
	return p.flag(chkUnknownWindow, 1, pk.now, "packet", packet, "window", itoa(int64(id)))
}

// clientbound follows the windows the server opens and closes.
func (l *inventoryChecks) clientbound(p *Player, pk *clientPacket) {
	var id int32
	switch pk.kind {
	case packets.KindOpenWindow:
		w, err := packets.DecodeOpenWindow(pk.data, p.info.Protocol)
		if err != nil {
			return
		}
		id = w.WindowID
	case packets.KindOpenHorseWindow:
		w, err := packets.DecodeOpenHorseWindow(pk.data, p.info.Protocol)
		if err != nil {
			return
		}
		id = w.WindowID
	case packets.KindCloseWindow:
		c, err := packets.DecodeCloseWindow(pk.data, p.info.Protocol)
		if err == nil && c.WindowID > playerWindow && c.WindowID <= maxTrackedWindow {
			// The client may click until it has read the close.
			l.closeWindow(c.WindowID, p.clock.nextSeq)
		}
		return
	default:
		return
	}
	switch {
	case id > maxTrackedWindow || id < 0:
		l.untracked = true
	case id > playerWindow:
		// Opening a window closes the previous one on the client; a
		// click for it may still be in flight, so it stays valid until
		// this probe is answered.
		if l.open != 0 {
			l.closeWindow(l.open, p.clock.nextSeq)
		}
		l.forget(id)
		l.open = id
	}
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

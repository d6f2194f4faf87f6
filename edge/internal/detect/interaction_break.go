package detect

import (
	"math"

	"github.com/rustguard/rustguard/edge/internal/world/blocks"
	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// FastBreak by the block (docs/DETECTIONS.md, "Break time"): from a dig
// start to the dig finish at the same position, the client must have
// ticked long enough to break the block with the best tool, enchantment
// and effects it may have. The block comes from the player's world replica
// at the start; the held item from the server's slot packets; effects
// and attributes from kinetics. Whatever the edge does not know is assumed
// at its fastest, so uncertainty only ever lets a dig through.

const chkBreakTime CheckID = interactionBase + 20

// Vanilla's break progress (Player.getDestroySpeed,
// BlockBehaviour.getDestroyProgress; 1.8 EntityPlayer.getToolDigEfficiency,
// Block.getPlayerRelativeBlockHardness).
const (
	// harvestDivisor and noHarvestDivisor divide speed/hardness per tick:
	// 30 with an item that harvests the block, 100 without.
	harvestDivisor   = 30
	noHarvestDivisor = 100
	// hastePerLevel is Haste's and Conduit Power's +20 % per level.
	hastePerLevel = 0.2
	// assumedEfficiency is the Efficiency level assumed for an item that
	// may carry enchantments (NBT or components the edge does not read):
	// V, the highest an enchanting table or an anvil gives in vanilla.
	assumedEfficiency = 5
	// assumedHaste is the Haste level assumed while the edge cannot tell
	// the player's own effects (no entity id yet): Haste II, a beacon's
	// best.
	assumedHaste = 2
)

// Tolerances of the judgement.
const (
	// breakAcceptFraction is vanilla's own tolerance: the server accepts a
	// finish once its own count of the progress reaches 70 % of a break
	// (ServerPlayerGameMode.handleBlockBreakAction, 1.8
	// ItemInWorldManager.blockRemoving: f >= 0.7F).
	breakAcceptFraction = 0.7
	// breakTickSlack is tick packets added to the count: the client adds
	// the first tick's progress in the tick it sends the start (runTick
	// starts the dig and then continues it), and one more for a client
	// that orders the finish and the tick packet the other way round.
	breakTickSlack = 2
	// positionReminderTicks is the most ticks a 1.9–1.21.1 client spends
	// without a movement packet: LocalPlayer sends its position at least
	// every 20 ticks (positionReminder). Where ticks are not counted one
	// by one, each gap between two tick packets stands for this many.
	positionReminderTicks = 20
	// maxBreakTicks saturates the tick count: no vanilla block takes
	// longer than obsidian by hand under Mining Fatigue, and the check
	// has long passed by then.
	maxBreakTicks = math.MaxUint16
)

// Slots of the player's inventory window (InventoryMenu): the hotbar is
// 36..44 there, 0..8 as inventory indices (set_player_inventory, and
// set_slot's window −2 from 1.9).
const (
	hotbarWindowFirst = 36
	inventoryWindowID = -2
)

func breakSpecs() []Spec {
	return []Spec{
		{ID: chkBreakTime, Key: "world.fast_break", Layer: 6, Severity: detection.SeverityHigh, Action: detection.ActionDrop, Decay: 0.5, Experimental: true,
			Description: "a dig finish sooner than vanilla breaks the block (the world replica's block at the dig start, its hardness, the held tool and whether it harvests, Efficiency, Haste and Conduit Power) in client ticks, with vanilla's 70 % tolerance; the finish is dropped, so the backend keeps the block. What the edge does not know is assumed fastest: an unknown item is the best tool with Efficiency V; experimental until the false-positive suite proves it"},
	}
}

// heldItem is what the edge knows of one hotbar slot.
type heldItem struct {
	id    uint16
	flags uint8
}

const (
	itemKnown uint8 = 1 << iota // the server told the slot's content since the last thing that may have changed it
	itemEmpty                   // nothing in the slot
	itemPlain                   // no NBT or components: no Efficiency
	itemBigID                   // an id beyond uint16: treated as unknown
)

// breakState is the check's per-player state (136 bytes), made while the
// check is on at the join or the first packet it follows. It keeps the
// nine hotbar slots' item ids, not only the held one: the server does not
// resend a slot when the client selects it, so a held-slot change would
// otherwise make the item unknown, and the fastest tool assumed, after
// every scroll of the wheel.
type breakState struct {
	hotbar [hotbarSlots]heldItem
	// The dig in progress: its position, the most progress per tick the
	// client can have had on that block, and the tick packets since.
	digging bool
	x, y, z int32
	perTick float32
	ticks   uint16
	// slotUnsure: the server moved the held slot and the client has not
	// said it follows; the held item is unknown until it does.
	slotUnsure bool
	// haste is the level (amplifier+1) of Haste and Conduit Power the
	// client may have; effectsKnown says the state has followed the
	// player's effects since its join or respawn (else Haste II is
	// assumed).
	haste        [2]settling
	effectsKnown bool
	// 1.20.5+ dig attributes: attrFast has a bit per attribute whose
	// last value digs faster than the check assumes (digAttrIDs);
	// attrUnknown an update the edge could not read; miningEff the last
	// mining_efficiency (1.21+), which vanilla adds to an effective
	// tool's speed in place of Efficiency's level² + 1.
	attrFast    uint8
	attrUnknown bool
	miningEff   float32
}

// Dig-speed effects (pre-1.20.5 ids; from 1.20.5 the registry ids are one
// less).
const (
	effectHaste        = 3
	effectConduitPower = 29
)

// breakChecks is the check's bookkeeping on interactionChecks. The state
// exists only while the check is on (it is off by default): a player
// whose check is off carries a nil pointer, and a check turned on later
// starts from nothing known.
type breakChecks struct {
	st *breakState
}

func (b *breakChecks) state() *breakState {
	if b.st == nil {
		b.st = &breakState{}
	}
	return b.st
}

// serverbound follows ticks and the packets that may change the hotbar
// without the server saying so, and judges dig finishes.
func (b *breakChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	if !p.on(chkBreakTime) {
		b.st = nil
		return pass
	}
	switch pk.kind {
	case packets.KindBlockDig:
		return b.dig(p, pk)
	case packets.KindHeldItemSlot:
		if b.st != nil {
			b.st.slotUnsure = false
		}
	case packets.KindWindowClick, packets.KindCreativeSlot:
		// The client predicts its own clicks; a server that agrees sends
		// nothing back.
		if b.st != nil {
			b.st.hotbar = [hotbarSlots]heldItem{}
		}
	}
	if pk.timerTick && b.st != nil && b.st.digging && b.st.ticks < maxBreakTicks {
		b.st.ticks++
	}
	return pass
}

func (b *breakChecks) dig(p *Player, pk *serverPacket) Verdict {
	d := &pk.dig
	switch d.Status {
	case digStart:
		if p.world.w == nil || p.world.dig == nil {
			return pass
		}
		st := b.state()
		st.digging = false
		perTick, ok := b.fastestProgress(p, pk)
		if !ok || perTick >= 1 {
			return pass // unknown, or it breaks at once: nothing to finish
		}
		st.digging, st.x, st.y, st.z, st.perTick, st.ticks = true, d.Location.X, d.Location.Y, d.Location.Z, perTick, 0
	case digAbort:
		if b.st != nil {
			b.st.digging = false
		}
	case digFinish:
		st := b.st
		if st == nil || !st.digging {
			return pass
		}
		st.digging = false
		if d.Location.X != st.x || d.Location.Y != st.y || d.Location.Z != st.z || p.riding.may() {
			return pass
		}
		ticks := float64(st.ticks) + breakTickSlack
		if !b.ticksExact(p) {
			ticks = (float64(st.ticks) + 1) * positionReminderTicks
		}
		if progress := float64(st.perTick) * ticks; progress < breakAcceptFraction {
			return p.flag(chkBreakTime, 1, pk.now, "x", itoa(int64(d.Location.X)), "y", itoa(int64(d.Location.Y)), "z", itoa(int64(d.Location.Z)),
				"ticks", itoa(int64(st.ticks)), "need", ftoa(math.Ceil(breakAcceptFraction/float64(st.perTick))), "progress", ftoa(progress))
		}
	case digDropAll, digDropOne, digSwapHands:
		if b.st != nil {
			b.st.hotbar[b.heldIndex(p)] = heldItem{}
		}
	}
	return pass
}

// ticksExact reports whether every client tick shows as a tick packet:
// 1.8 sends a movement packet every tick, 1.21.2+ clients that end ticks
// a tick end. 1.9–1.21.1 send nothing while the player stands still.
func (b *breakChecks) ticksExact(p *Player) bool {
	return p.info.Protocol < mcproto.Protocol1_9 || p.ticks.tickEndSeen
}

func (b *breakChecks) heldIndex(p *Player) int {
	s := int(p.self.heldSlot)
	if s < 0 || s >= hotbarSlots {
		return 0
	}
	return s
}

// fastestProgress is the most break progress per tick the client may have
// on the block at the dig position; ok is false where the edge cannot
// judge (no block, an unknown state, a section changed since the client's
// last answer, creative, dig attributes the edge does not model).
func (b *breakChecks) fastestProgress(p *Player, pk *serverPacket) (float32, bool) {
	if p.self.caps.possible&capCreative != 0 || p.self.gameMode() == packets.GameModeCreative {
		return 0, false // instabuild breaks everything at once
	}
	st := b.state()
	if p.info.Protocol >= mcproto.Protocol1_20_5 && (st.attrFast != 0 || st.attrUnknown || !st.effectsKnown) {
		return 0, false
	}
	loc := pk.dig.Location
	w := &p.world
	state, ok := w.w.Block(loc.X, loc.Y, loc.Z)
	if !ok || w.w.ChangedAfter(loc.X, loc.Y, loc.Z, p.clock.clock) {
		return 0, false
	}
	dig := w.dig.Lookup(int32(state))
	if !dig.Known() {
		return 0, false
	}
	hard := dig.Hardness()
	if hard <= 0 {
		return 1, true // instant
	}
	held := st.hotbar[b.heldIndex(p)]
	if st.slotUnsure {
		held = heldItem{}
	}
	speed, harvest, eff := breakTool(w.dig, dig, held)
	bonus := float32(0)
	if eff > 0 {
		bonus = float32(eff*eff + 1)
	}
	if st.miningEff > 0 {
		// 1.21+: the attribute is what vanilla adds. Up to the
		// assumed Efficiency V it is covered where the item may be
		// enchanted; on a plain item, or beyond, it comes from
		// somewhere the edge does not follow.
		if st.miningEff > bonus {
			return 0, false
		}
	}
	if speed > 1 {
		speed += bonus
	}
	haste := max(st.haste[0].max(p.clock.acked), st.haste[1].max(p.clock.acked))
	if !st.effectsKnown || !p.self.haveEntityID {
		haste = max(haste, assumedHaste)
	}
	speed *= 1 + float32(haste)*hastePerLevel
	div := float32(noHarvestDivisor)
	if harvest {
		div = harvestDivisor
	}
	return speed / hard / div, true
}

// breakTool is the held item's speed on the block, whether it harvests it,
// and its Efficiency level: the fastest plausible where the item is not
// known.
func breakTool(t *blocks.DigTable, d blocks.Dig, held heldItem) (speed float32, harvest bool, eff int) {
	if held.flags&itemKnown == 0 || held.flags&itemBigID != 0 {
		return t.FastestSpeed(d), true, assumedEfficiency
	}
	if held.flags&itemEmpty != 0 {
		return 1, !d.NeedsTool(), 0
	}
	speed, known := t.ToolSpeed(d, int32(held.id))
	if !known {
		speed = blocks.UnknownMaterialSpeed
	}
	eff = assumedEfficiency
	if held.flags&itemPlain != 0 {
		eff = 0
	}
	return speed, t.CanHarvest(d, int32(held.id)), eff
}

// clientbound keeps the hotbar from the server's slot packets.
func (b *breakChecks) clientbound(p *Player, pk *clientPacket) {
	if !p.on(chkBreakTime) {
		b.st = nil
		return
	}
	proto := p.info.Protocol
	switch pk.kind {
	case packets.KindJoinGame, packets.KindRespawn:
		// A new client player: the server sends its effects again, so
		// from here the state follows all of them.
		st := b.state()
		seq, acked := p.clock.nextSeq, p.clock.acked
		st.haste[0].set(0, seq, acked)
		st.haste[1].set(0, seq, acked)
		st.effectsKnown = true
	case packets.KindEntityEffect:
		e, err := packets.DecodeEntityEffect(pk.data, proto)
		if err == nil && p.self.haveEntityID && e.EntityID == p.self.entityID {
			if i, ok := hasteIndex(e.EffectID, proto); ok {
				b.state().haste[i].set(float64(e.Amplifier)+1, p.clock.nextSeq, p.clock.acked)
			}
		}
	case packets.KindRemoveEntityEffect:
		e, err := packets.DecodeRemoveEntityEffect(pk.data, proto)
		if err == nil && p.self.haveEntityID && e.EntityID == p.self.entityID {
			if i, ok := hasteIndex(e.EffectID, proto); ok && b.st != nil {
				b.st.haste[i].set(0, p.clock.nextSeq, p.clock.acked)
			}
		}
	case packets.KindHeldItemSlot:
		h, err := packets.DecodeHeldItemSlot(pk.data, proto)
		if err == nil && h.Slot != p.self.heldSlot {
			b.state().slotUnsure = true
		}
	case packets.KindSetSlot:
		s, err := packets.DecodeSetSlot(pk.data, proto)
		if err != nil {
			return
		}
		switch {
		case s.Window == packets.PlayerWindow && s.Slot >= hotbarWindowFirst && s.Slot < hotbarWindowFirst+hotbarSlots:
			b.state().hotbar[s.Slot-hotbarWindowFirst] = itemOf(s.Item, proto)
		case s.Window == inventoryWindowID && proto >= mcproto.Protocol1_9 && s.Slot >= 0 && s.Slot < hotbarSlots:
			b.state().hotbar[s.Slot] = itemOf(s.Item, proto)
		case s.Window != packets.PlayerWindow && s.Window != inventoryWindowID && s.Window != -1 && b.st != nil:
			// Another window shows the hotbar at other indices.
			b.st.hotbar = [hotbarSlots]heldItem{}
		}
	case packets.KindEntityAttributes:
		b.attributes(p, pk)
	case packets.KindSetPlayerInventory:
		s, err := packets.DecodeSetPlayerInventory(pk.data, proto)
		if err == nil && s.Slot >= 0 && s.Slot < hotbarSlots {
			b.state().hotbar[s.Slot] = itemOf(s.Item, proto)
		}
	case packets.KindWindowItems:
		var fresh [hotbarSlots]heldItem
		window := int32(-1)
		err := packets.WindowItems(pk.data, proto, func(w int32, i int, it packets.ItemStack) {
			window = w
			if w == packets.PlayerWindow && i >= hotbarWindowFirst && i < hotbarWindowFirst+hotbarSlots {
				fresh[i-hotbarWindowFirst] = itemOf(it, proto)
			}
		})
		switch {
		case err == nil && window == packets.PlayerWindow:
			b.state().hotbar = fresh
		case b.st != nil:
			b.st.hotbar = [hotbarSlots]heldItem{} // unreadable, or another window
		}
	}
}

// attributes reads the 1.20.5+ dig attributes of the player's own entity.
func (b *breakChecks) attributes(p *Player, pk *clientPacket) {
	proto := p.info.Protocol
	if proto < mcproto.Protocol1_20_5 {
		return
	}
	r := packets.NewAttributeReader(pk.data, proto)
	if r.Err() != nil || !p.self.haveEntityID || r.EntityID != p.self.entityID {
		return
	}
	st := b.state()
	ids, known := digAttrIDs(proto)
	st.attrUnknown = !known
	if !known {
		return
	}
	for {
		a, ok := r.Next()
		if !ok {
			break
		}
		v := a.Value
		switch {
		case a.ID == ids[0], a.ID == ids[2] && ids[2] >= 0:
			bit := uint8(1)
			if a.ID == ids[2] {
				bit = 4
			}
			if v > 1 || math.IsNaN(v) {
				st.attrFast |= bit
			} else {
				st.attrFast &^= bit
			}
		case a.ID == ids[1] && ids[1] >= 0:
			switch {
			case math.IsNaN(v) || v > maxMiningEfficiency:
				st.miningEff = maxMiningEfficiency
			case v <= 0:
				st.miningEff = 0
			default:
				st.miningEff = float32(v)
			}
		}
	}
	if r.Err() != nil {
		st.attrUnknown = true
	}
}

// maxMiningEfficiency caps the stored mining_efficiency (vanilla's
// attribute maximum is 1024); any value above Efficiency V's 26 makes the
// check stand down anyway.
const maxMiningEfficiency = 1024

// digAttrIDs are the 1.20.5+ registry ids of block_break_speed (a
// multiplier, default 1), mining_efficiency (added to an effective tool's
// speed, default 0, 1.21+) and submerged_mining_speed (the factor in
// water, default 0.2, 1.21+; the check never slows digging in water, so
// only a factor above 1 matters); −1 where the version has none. The
// registry is alphabetical (the same tables as kinetics' attrRegistryIDs);
// known is false for a protocol newer than the table.
func digAttrIDs(protocol int32) (ids [3]int32, known bool) {
	switch {
	case protocol < mcproto.Protocol1_20_5:
		return [3]int32{-1, -1, -1}, false
	case protocol < mcproto.Protocol1_21:
		return [3]int32{5, -1, -1}, true
	case protocol < mcproto.Protocol1_21_6:
		return [3]int32{5, 19, 28}, true
	case protocol <= mcproto.Protocol26_1:
		return [3]int32{5, 20, 29}, true
	}
	return [3]int32{-1, -1, -1}, false
}

// hasteIndex is where an effect goes in breakState.haste.
func hasteIndex(id, protocol int32) (int, bool) {
	if protocol >= mcproto.Protocol1_20_5 {
		id++
	}
	switch id {
	case effectHaste:
		return 0, true
	case effectConduitPower:
		return 1, true
	}
	return 0, false
}

// itemOf is what the check keeps of an item.
func itemOf(it packets.ItemStack, protocol int32) heldItem {
	if !it.Present {
		return heldItem{flags: itemKnown | itemEmpty}
	}
	if it.ID < 0 || it.ID > math.MaxUint16 {
		return heldItem{flags: itemKnown | itemBigID}
	}
	h := heldItem{id: uint16(it.ID), flags: itemKnown}
	if plain, ok := packets.ItemPlain(it, protocol); ok && plain {
		h.flags |= itemPlain
	}
	return h
}

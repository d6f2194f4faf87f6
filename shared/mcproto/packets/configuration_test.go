package packets

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

func TestFinishConfiguration(t *testing.T) {
	if _, err := DecodeFinishConfiguration(nil, 764); err != nil {
		t.Errorf("empty body: %v", err)
	}
	if _, err := DecodeFinishConfiguration([]byte{0}, 764); !errors.Is(err, mcproto.ErrTrailingBytes) {
		t.Errorf("body with data: err = %v", err)
	}
	tests := []struct {
		protocol  int32
		finish    string
		ackFinish string
	}{
		{764, "\x02", "\x02"}, // 1.20.2
		{765, "\x02", "\x02"},
		{766, "\x03", "\x03"}, // 1.20.5 inserted cookie packets before it
		{MaxProtocol, "\x03", "\x03"},
	}
	for _, tt := range tests {
		if got := (FinishConfiguration{}).AppendTo(nil, tt.protocol); string(got) != tt.finish {
			t.Errorf("protocol %d: AppendTo = % x", tt.protocol, got)
		}
		if got := (FinishConfiguration{}).AppendAck(nil, tt.protocol); string(got) != tt.ackFinish {
			t.Errorf("protocol %d: AppendAck = % x", tt.protocol, got)
		}
	}
	mustPanic(t, "finish configuration in 1.20.1", func() { FinishConfiguration{}.AppendTo(nil, 763) })
	mustPanic(t, "finish configuration, unsupported protocol", func() { FinishConfiguration{}.AppendAck(nil, 999) })
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}

func TestAppendDisconnect(t *testing.T) {
	json := func(s string) string { return string(mcproto.AppendString(nil, s)) }
	nbt := func(s string) string { return "\x08" + string([]byte{byte(len(s) >> 8), byte(len(s))}) + s }
	tests := []struct {
		name     string
		s        mcproto.State
		protocol int32
		reason   string
		want     string
	}{
		{"login 1.8", mcproto.StateLogin, 47, "Server full", "\x00" + json(`{"text":"Server full"}`)},
		{"login 1.21", mcproto.StateLogin, 767, "bye", "\x00" + json(`{"text":"bye"}`)},
		{"login, unsupported old client", mcproto.StateLogin, 5, "Outdated client", "\x00" + json(`{"text":"Outdated client"}`)},
		{"login, unsupported new client", mcproto.StateLogin, 9999, "Outdated server", "\x00" + json(`{"text":"Outdated server"}`)},
		{"login escapes", mcproto.StateLogin, 47, "a \"b\"\n<c> & \\", "\x00" + json(`{"text":"a \"b\"\n<c> & \\"}`)},
		{"play 1.8", mcproto.StatePlay, 47, "bye", "\x40" + json(`{"text":"bye"}`)},
		{"play 1.12.2", mcproto.StatePlay, 340, "bye", "\x1a" + json(`{"text":"bye"}`)},
		{"play 1.20.2", mcproto.StatePlay, 764, "bye", "\x1b" + json(`{"text":"bye"}`)},
		{"play 1.20.4", mcproto.StatePlay, 765, "bye", "\x1b" + nbt("bye")},
		{"play 1.20.5", mcproto.StatePlay, 766, "bye", "\x1d" + nbt("bye")},
		{"configuration 1.20.2", mcproto.StateConfiguration, 764, "bye", "\x01" + json(`{"text":"bye"}`)},
		{"configuration 1.20.3", mcproto.StateConfiguration, 765, "bye", "\x01" + nbt("bye")},
		{"configuration 1.20.5", mcproto.StateConfiguration, 766, "bye", "\x02" + nbt("bye")},
		// Modified UTF-8: NUL as C0 80, U+1F600 as two 3-byte surrogates.
		{"nbt modified utf-8", mcproto.StatePlay, 765, "a\x00é€😀",
			"\x1b" + nbt("a\xc0\x80\xc3\xa9\xe2\x82\xac\xed\xa0\xbd\xed\xb8\x80")},
	}
	for _, tt := range tests {
		if got := AppendDisconnect(nil, tt.s, tt.protocol, tt.reason); string(got) != tt.want {
			t.Errorf("%s:\n got % x\nwant % x", tt.name, got, tt.want)
		}
	}
	mustPanic(t, "status disconnect", func() { AppendDisconnect(nil, mcproto.StateStatus, 765, "x") })
	mustPanic(t, "configuration before 1.20.2", func() { AppendDisconnect(nil, mcproto.StateConfiguration, 763, "x") })
	mustPanic(t, "play, unsupported protocol", func() { AppendDisconnect(nil, mcproto.StatePlay, 9999, "x") })
}

func TestAppendDisconnectLongReason(t *testing.T) {
	reason := strings.Repeat("😀", maxReasonRunes+100)
	// NBT: the byte length must fit the u16 and match the data.
	pkt := AppendDisconnect(nil, mcproto.StatePlay, MaxProtocol, reason)
	body := pkt[1:]
	n := int(body[1])<<8 | int(body[2])
	if body[0] != nbtTagString || n != len(body)-3 || n != maxReasonRunes*6 {
		t.Errorf("NBT string: tag %#x, length %d, data %d bytes", body[0], n, len(body)-3)
	}
	// JSON: the reason survives, cut to maxReasonRunes, as valid JSON.
	pkt = AppendDisconnect(nil, mcproto.StateLogin, 47, reason)
	r := mcproto.NewReader(pkt[1:])
	s := r.String(MaxJSONTextLen)
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	var c struct{ Text string }
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.Text != strings.Repeat("😀", maxReasonRunes) {
		t.Errorf("JSON reason: %v, %d runes", err, len([]rune(c.Text)))
	}
}

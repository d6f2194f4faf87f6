package packets

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
)

func TestStatusRequest(t *testing.T) {
	tests := []struct {
		body []byte
		err  error
	}{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte{0}, mcproto.ErrTrailingBytes},
		{[]byte{1, 2, 3}, mcproto.ErrTrailingBytes},
	}
	for _, tt := range tests {
		if _, err := DecodeStatusRequest(tt.body, 765); !errors.Is(err, tt.err) {
			t.Errorf("DecodeStatusRequest(% x) err = %v, want %v", tt.body, err, tt.err)
		}
	}
	if got := (StatusRequest{}).AppendTo(nil, 765); string(got) != "\x00" {
		t.Errorf("AppendTo = % x", got)
	}
}

func TestPing(t *testing.T) {
	tests := []struct {
		body []byte
		want int64
		err  error
	}{
		{[]byte{0, 0, 0, 0, 0, 0, 0, 42}, 42, nil},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, -2, nil},
		{[]byte{0, 0, 0, 0, 0, 0, 0}, 0, mcproto.ErrShort},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 1, 9}, 0, mcproto.ErrTrailingBytes},
		{nil, 0, mcproto.ErrShort},
	}
	for _, tt := range tests {
		req, err := DecodePingRequest(tt.body, 47)
		if !errors.Is(err, tt.err) || req.Payload != tt.want {
			t.Errorf("DecodePingRequest(% x) = %d, %v; want %d, %v", tt.body, req.Payload, err, tt.want, tt.err)
		}
		resp, err := DecodePingResponse(tt.body, 47)
		if !errors.Is(err, tt.err) || resp.Payload != tt.want {
			t.Errorf("DecodePingResponse(% x) = %d, %v; want %d, %v", tt.body, resp.Payload, err, tt.want, tt.err)
		}
	}
	if got := (PingRequest{Payload: 258}).AppendTo(nil, 0); string(got) != "\x01\x00\x00\x00\x00\x00\x00\x01\x02" {
		t.Errorf("PingRequest.AppendTo = % x", got)
	}
	if got := (PingResponse{Payload: -1}).AppendTo(nil, 0); string(got) != "\x01\xff\xff\xff\xff\xff\xff\xff\xff" {
		t.Errorf("PingResponse.AppendTo = % x", got)
	}
}

func TestStatusResponse(t *testing.T) {
	doc := `{"version":{"name":"1.20.4","protocol":765},"description":"hi"}`
	pkt := StatusResponse{JSON: doc}.AppendTo(nil, 765)
	if pkt[0] != idStatusResponse {
		t.Fatalf("id %#x", pkt[0])
	}
	got, err := DecodeStatusResponse(pkt[1:], 765)
	if err != nil || got.JSON != doc {
		t.Fatalf("round trip: %q, %v", got.JSON, err)
	}
	// Mods append data after the JSON; it is tolerated (docs/PROTOCOL.md, Framing).
	if got, err := DecodeStatusResponse(append(pkt[1:], 1, 2, 3), 765); err != nil || got.JSON != doc {
		t.Errorf("trailing data: %q, %v", got.JSON, err)
	}
	long := mcproto.AppendString(nil, strings.Repeat("x", MaxStatusJSONLen+1))
	if _, err := DecodeStatusResponse(long, 765); !errors.Is(err, mcproto.ErrStringTooLong) {
		t.Errorf("over-long JSON: err = %v", err)
	}
	if _, err := DecodeStatusResponse(nil, 765); !errors.Is(err, mcproto.ErrShort) {
		t.Errorf("empty: err = %v", err)
	}
}

func TestStatusJSON(t *testing.T) {
	doc := `{"version":{"name":"Paper 1.20.4","protocol":765},` +
		`"players":{"max":100,"online":2,"sample":[{"name":"Notch","id":"069a79f4-44e9-4726-a5be-fca90e38aaf5"}]},` +
		`"description":{"text":"A ","extra":[{"text":"server","bold":true}]},` +
		`"favicon":"data:image/png;base64,AAAA","enforcesSecureChat":true,"forgeData":{"fmlNetworkVersion":3}}`
	st, err := ParseStatusJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != (StatusVersion{"Paper 1.20.4", 765}) || st.Players == nil || st.Players.Online != 2 ||
		len(st.Players.Sample) != 1 || st.Favicon != "data:image/png;base64,AAAA" {
		t.Fatalf("parsed %+v", st)
	}
	if st.DescriptionText() != "A server" {
		t.Errorf("DescriptionText = %q", st.DescriptionText())
	}
	if len(st.Extra) != 2 || string(st.Extra["enforcesSecureChat"]) != "true" {
		t.Errorf("extra fields %v", st.Extra)
	}
	out, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("marshal lost data:\n in  %s\n out %s", ja, jb)
	}

	minimal, err := ParseStatusJSON(`{"version":{"name":"x","protocol":47}}`)
	if err != nil || minimal.Players != nil || minimal.Extra != nil {
		t.Fatalf("minimal: %+v, %v", minimal, err)
	}
	if out, _ := json.Marshal(minimal); string(out) != `{"version":{"name":"x","protocol":47}}` {
		t.Errorf("minimal marshal: %s", out)
	}

	for _, bad := range []string{``, `[]`, `null`, `{"version":"x"}`, `{"players":{"max":"many"}}`, `{"favicon":1}`, `{`} {
		if _, err := ParseStatusJSON(bad); !errors.Is(err, ErrBadJSON) {
			t.Errorf("ParseStatusJSON(%q) err = %v, want ErrBadJSON", bad, err)
		}
	}
}

func TestDescriptionText(t *testing.T) {
	deep := strings.Repeat(`{"text":"a","extra":[`, maxTextDepth+5) + `"z"` + strings.Repeat(`]}`, maxTextDepth+5)
	tests := []struct {
		desc string
		want string
	}{
		{`"§aHello §rworld"`, "§aHello §rworld"},
		{`{"text":"Hello"}`, "Hello"},
		{`{"text":"A","extra":["B",{"text":"C","extra":[{"text":"D"}]}]}`, "ABCD"},
		{`[{"text":"x"},"y"]`, "xy"},
		{`{"translate":"multiplayer.status"}`, ""},
		{`42`, ""},
		{`null`, ""},
		{`{"text":`, ""},
		{``, ""},
		{deep, strings.Repeat("a", maxTextDepth+1)},
	}
	for _, tt := range tests {
		st := StatusJSON{Description: json.RawMessage(tt.desc)}
		if got := st.DescriptionText(); got != tt.want {
			t.Errorf("DescriptionText(%.40s) = %q, want %q", tt.desc, got, tt.want)
		}
	}
}

func FuzzStatusRequest(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := DecodeStatusRequest(body, 765)
		if (err == nil) != (len(body) == 0) {
			t.Fatalf("body % x: err %v", body, err)
		}
	})
}

func FuzzPingRequest(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodePingRequest(body, 765)
		if (err == nil) != (len(body) == 8) {
			t.Fatalf("body % x: err %v", body, err)
		}
		if err == nil && string(p.AppendTo(nil, 765)[1:]) != string(body) {
			t.Fatalf("body % x does not round-trip", body)
		}
	})
}

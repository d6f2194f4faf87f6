package main

import (
	"encoding/json"
	"fmt"
	"github.com/rustguard/rustguard/shared/mcdata"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The layout test checks the version gating of the hand-written decoders in
// package packets against minecraft-data's field layouts. For every
// supported protocol it encodes sample packets by following the ProtoDef
// description in that protocol's protocol.json (a second, independent
// encoder), decodes them with package packets, and compares with what the
// layout says should be there.

// presence records how the ProtoDef encoder wrote each field path.
type presence map[string]string

const (
	fieldPlain  = "plain"  // written, not optional
	fieldSome   = "some"   // an option written as present
	fieldAbsent = "absent" // an option written as absent
)

// protoEncoder writes values by a ProtoDef type. With someOptions false,
// every option is written as absent.
type protoEncoder struct {
	someOptions bool
	seen        presence
}

func (e *protoEncoder) encode(dst []byte, typ json.RawMessage, v any, path string) ([]byte, error) {
	var name string
	if json.Unmarshal(typ, &name) == nil {
		return e.native(dst, name, v, path)
	}
	var compound []json.RawMessage
	if err := json.Unmarshal(typ, &compound); err != nil || len(compound) != 2 {
		return nil, fmt.Errorf("%s: bad type %s", path, typ)
	}
	if err := json.Unmarshal(compound[0], &name); err != nil {
		return nil, fmt.Errorf("%s: bad type %s", path, typ)
	}
	arg := compound[1]
	switch name {
	case "container":
		var fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		}
		if err := json.Unmarshal(arg, &fields); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		m, _ := v.(map[string]any)
		var err error
		for _, f := range fields {
			fp := strings.TrimPrefix(path+"."+f.Name, ".")
			if _, ok := m[f.Name]; !ok {
				return nil, fmt.Errorf("no sample value for %s", fp)
			}
			if isSwitch(f.Type) {
				dst, err = e.switchField(dst, f.Type, m, fp)
			} else {
				if _, known := e.seen[fp]; !known {
					e.seen[fp] = fieldPlain
				}
				dst, err = e.encode(dst, f.Type, m[f.Name], fp)
			}
			if err != nil {
				return nil, err
			}
		}
		return dst, nil
	case "option":
		if !e.someOptions || v == nil {
			e.seen[path] = fieldAbsent
			return append(dst, 0), nil
		}
		e.seen[path] = fieldSome
		return e.encode(append(dst, 1), arg, v, path)
	case "buffer":
		b := v.([]byte)
		return mcproto.AppendByteArray(dst, b), nil
	case "array":
		var a struct {
			CountType string          `json:"countType"`
			Type      json.RawMessage `json:"type"`
		}
		if err := json.Unmarshal(arg, &a); err != nil || a.CountType != "varint" {
			return nil, fmt.Errorf("%s: unsupported array %s", path, arg)
		}
		items := v.([]any)
		dst = mcproto.AppendVarInt(dst, int32(len(items)))
		var err error
		for _, it := range items {
			if dst, err = e.encode(dst, a.Type, it, path); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%s: unsupported compound type %q", path, name)
}

func isSwitch(typ json.RawMessage) bool {
	var compound []json.RawMessage
	var name string
	return json.Unmarshal(typ, &compound) == nil && len(compound) == 2 &&
		json.Unmarshal(compound[0], &name) == nil && name == "switch"
}

// switchField writes a switch whose compareTo names a boolean sibling.
func (e *protoEncoder) switchField(dst []byte, typ json.RawMessage, m map[string]any, path string) ([]byte, error) {
	var compound []json.RawMessage
	_ = json.Unmarshal(typ, &compound)
	var sw struct {
		CompareTo string                     `json:"compareTo"`
		Fields    map[string]json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(compound[1], &sw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key := fmt.Sprint(m[sw.CompareTo])
	branch, ok := sw.Fields[key]
	if !ok {
		return nil, fmt.Errorf("%s: no branch %q", path, key)
	}
	e.seen[path] = key
	return e.encode(dst, branch, m[lastPart(path)], path)
}

func lastPart(path string) string { return path[strings.LastIndex(path, ".")+1:] }

func (e *protoEncoder) native(dst []byte, name string, v any, path string) ([]byte, error) {
	switch name {
	case "varint":
		return mcproto.AppendVarInt(dst, v.(int32)), nil
	case "string":
		switch s := v.(type) {
		case string:
			return mcproto.AppendString(dst, s), nil
		case mcproto.UUID: // Login Success before 1.16
			return mcproto.AppendString(dst, s.String()), nil
		}
	case "u16":
		return mcproto.AppendUint16(dst, v.(uint16)), nil
	case "i64":
		return mcproto.AppendInt64(dst, v.(int64)), nil
	case "bool":
		return mcproto.AppendBool(dst, v.(bool)), nil
	case "UUID":
		return mcproto.AppendUUID(dst, v.(mcproto.UUID)), nil
	case "restBuffer":
		return append(dst, v.([]byte)...), nil
	}
	return nil, fmt.Errorf("%s: unsupported type %q for %T", path, name, v)
}

// layoutCase is one packet: where its layout lives, a sample value for
// every field name any version uses, and a check of the decoded packet.
type layoutCase struct {
	state, dir, packet string
	sample             func(some bool) map[string]any
	check              func(t *testing.T, protocol int32, body []byte, seen presence, some bool)
}

var sampleUUID = mcproto.UUID{0x06, 0x9a, 0x79, 0xf4, 0x44, 0xe9, 0x40, 0x26, 0xbf, 0xe4, 0x55, 0x20, 0x84, 0xf0, 0xa6, 0x9b}

func layoutCases() []layoutCase {
	return []layoutCase{
		{
			state: "handshaking", dir: "toServer", packet: "set_protocol",
			sample: func(bool) map[string]any {
				return map[string]any{"protocolVersion": int32(765), "serverHost": "play.example.com\x00FML\x00",
					"serverPort": uint16(25565), "nextState": int32(2)}
			},
			check: func(t *testing.T, p int32, body []byte, _ presence, _ bool) {
				got, err := packets.DecodeHandshake(body, p)
				want := packets.Handshake{Protocol: 765, Host: "play.example.com\x00FML\x00", Port: 25565, Intent: 2}
				expect(t, p, "handshake", got, want, err)
			},
		},
		{
			state: "status", dir: "toServer", packet: "ping",
			sample: func(bool) map[string]any { return map[string]any{"time": int64(-42)} },
			check: func(t *testing.T, p int32, body []byte, _ presence, _ bool) {
				got, err := packets.DecodePingRequest(body, p)
				expect(t, p, "ping request", got, packets.PingRequest{Payload: -42}, err)
			},
		},
		{
			state: "status", dir: "toClient", packet: "server_info",
			sample: func(bool) map[string]any { return map[string]any{"response": `{"version":{"name":"x","protocol":1}}`} },
			check: func(t *testing.T, p int32, body []byte, _ presence, _ bool) {
				got, err := packets.DecodeStatusResponse(body, p)
				expect(t, p, "status response", got, packets.StatusResponse{JSON: `{"version":{"name":"x","protocol":1}}`}, err)
			},
		},
		{
			state: "login", dir: "toServer", packet: "login_start",
			sample: func(bool) map[string]any {
				return map[string]any{
					"username": "Notch",
					"signature": map[string]any{"timestamp": int64(1700000000000),
						"publicKey": []byte{0x30, 0x82, 1, 2}, "signature": []byte{9, 8, 7}},
					"playerUUID": sampleUUID,
				}
			},
			check: func(t *testing.T, p int32, body []byte, seen presence, _ bool) {
				got, err := packets.DecodeLoginStart(body, p)
				want := packets.LoginStart{Name: "Notch"}
				if seen["signature"] == fieldSome {
					want.HasKey, want.KeyExpiry = true, 1700000000000
					want.PublicKey, want.KeySignature = []byte{0x30, 0x82, 1, 2}, []byte{9, 8, 7}
				}
				if s := seen["playerUUID"]; s == fieldSome || s == fieldPlain {
					want.HasUUID, want.UUID = true, sampleUUID
				}
				expect(t, p, "login start", got, want, err)
			},
		},
		{
			state: "login", dir: "toServer", packet: "encryption_begin",
			sample: func(some bool) map[string]any {
				return map[string]any{
					"sharedSecret":   []byte{1, 2, 3},
					"verifyToken":    []byte{4, 5},
					"hasVerifyToken": some,
					"crypto": map[string]any{"verifyToken": []byte{4, 5},
						"salt": int64(77), "messageSignature": []byte{6, 6}},
				}
			},
			check: func(t *testing.T, p int32, body []byte, seen presence, _ bool) {
				got, err := packets.DecodeEncryptionResponse(body, p)
				want := packets.EncryptionResponse{SharedSecret: []byte{1, 2, 3}, VerifyToken: []byte{4, 5}}
				if seen["crypto"] == "false" {
					want = packets.EncryptionResponse{SharedSecret: []byte{1, 2, 3}, Signed: true, Salt: 77, MessageSignature: []byte{6, 6}}
				}
				expect(t, p, "encryption response", got, want, err)
			},
		},
		{
			state: "login", dir: "toClient", packet: "encryption_begin",
			sample: func(bool) map[string]any {
				return map[string]any{"serverId": "", "publicKey": []byte{0x30, 1}, "verifyToken": []byte{1, 2, 3, 4},
					"shouldAuthenticate": false}
			},
			check: func(t *testing.T, p int32, body []byte, seen presence, _ bool) {
				got, err := packets.DecodeEncryptionRequest(body, p)
				_, sent := seen["shouldAuthenticate"]
				want := packets.EncryptionRequest{PublicKey: []byte{0x30, 1}, VerifyToken: []byte{1, 2, 3, 4}, ShouldAuthenticate: !sent}
				expect(t, p, "encryption request", got, want, err)
			},
		},
		{
			state: "login", dir: "toClient", packet: "success",
			sample: func(bool) map[string]any {
				return map[string]any{
					"uuid": sampleUUID, "username": "Notch",
					"properties":          []any{map[string]any{"name": "textures", "value": "e30=", "signature": "c2ln"}},
					"strictErrorHandling": true,
				}
			},
			check: func(t *testing.T, p int32, body []byte, seen presence, some bool) {
				got, err := packets.DecodeLoginSuccess(body, p)
				want := packets.LoginSuccess{UUID: sampleUUID, Username: "Notch"}
				if _, ok := seen["properties"]; ok {
					prop := packets.Property{Name: "textures", Value: "e30="}
					if some {
						prop.HasSignature, prop.Signature = true, "c2ln"
					}
					want.Properties = []packets.Property{prop}
				}
				_, want.StrictErrorHandling = seen["strictErrorHandling"]
				expect(t, p, "login success", got, want, err)
			},
		},
		{
			state: "login", dir: "toClient", packet: "compress",
			sample: func(bool) map[string]any { return map[string]any{"threshold": int32(256)} },
			check: func(t *testing.T, p int32, body []byte, _ presence, _ bool) {
				got, err := packets.DecodeSetCompression(body, p)
				expect(t, p, "set compression", got, packets.SetCompression{Threshold: 256}, err)
			},
		},
		{
			state: "login", dir: "toClient", packet: "login_plugin_request",
			sample: func(bool) map[string]any {
				return map[string]any{"messageId": int32(7), "channel": "velocity:player_info", "data": []byte{4}}
			},
			check: func(t *testing.T, p int32, body []byte, _ presence, _ bool) {
				got, err := packets.DecodeLoginPluginRequest(body, p)
				expect(t, p, "login plugin request", got,
					packets.LoginPluginRequest{MessageID: 7, Channel: "velocity:player_info", Data: []byte{4}}, err)
			},
		},
		{
			state: "login", dir: "toServer", packet: "login_plugin_response",
			sample: func(bool) map[string]any { return map[string]any{"messageId": int32(7), "data": []byte{1, 2}} },
			check: func(t *testing.T, p int32, body []byte, seen presence, _ bool) {
				got, err := packets.DecodeLoginPluginResponse(body, p)
				want := packets.LoginPluginResponse{MessageID: 7}
				if seen["data"] == fieldSome {
					want.Success, want.Data = true, []byte{1, 2}
				}
				expect(t, p, "login plugin response", got, want, err)
			},
		},
		{
			state: "login", dir: "toClient", packet: "disconnect",
			sample: func(bool) map[string]any { return map[string]any{"reason": `{"text":"bye"}`} },
			check: func(t *testing.T, p int32, body []byte, _ presence, _ bool) {
				got, err := packets.DecodeLoginDisconnect(body, p)
				expect(t, p, "login disconnect", got, packets.LoginDisconnect{Reason: `{"text":"bye"}`}, err)
			},
		},
	}
}

func expect(t *testing.T, p int32, what string, got, want any, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("protocol %d %s: %v", p, what, err)
		return
	}
	if !reflect.DeepEqual(normalise(got), normalise(want)) {
		t.Errorf("protocol %d %s:\n got  %+v\n want %+v", p, what, got, want)
	}
}

// normalise makes empty and nil byte slices compare equal.
func normalise(v any) any {
	b, _ := json.Marshal(v)
	return string(b)
}

// protocolDoc is a protocol.json: state → direction → named types.
type protocolDoc map[string]map[string]struct {
	Types map[string]json.RawMessage `json:"types"`
}

// readProtocolDoc reads the per-state part of a protocol.json (the
// top-level "types" entry has another shape and is skipped).
func readProtocolDoc(path string) (protocolDoc, error) {
	var raw map[string]json.RawMessage
	if err := mcdata.ReadJSON(path, &raw); err != nil {
		return nil, err
	}
	doc := protocolDoc{}
	for state, v := range raw {
		if state == "types" {
			continue
		}
		var dirs map[string]struct {
			Types map[string]json.RawMessage `json:"types"`
		}
		if err := json.Unmarshal(v, &dirs); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, state, err)
		}
		doc[state] = dirs
	}
	return doc, nil
}

// layout returns the ProtoDef type of packet_<name>, or nil when the
// protocol has no such packet.
func (d protocolDoc) layout(state, dir, name string) json.RawMessage {
	return d[state][dir].Types["packet_"+name]
}

func TestLayoutsMatchData(t *testing.T) {
	needData(t)
	entries, err := resolve(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	cases := layoutCases()
	checked := map[string]int{}
	for _, e := range entries {
		doc, err := readProtocolDoc(filepath.Join(dataDir, filepath.FromSlash(e.folder), "protocol.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			layout := doc.layout(c.state, c.dir, c.packet)
			if layout == nil {
				continue // e.g. plugin messages before 1.13
			}
			for _, some := range []bool{true, false} {
				enc := &protoEncoder{someOptions: some, seen: presence{}}
				body, err := enc.encode(nil, layout, c.sample(some), "")
				if err != nil {
					t.Fatalf("protocol %d %s: encode by layout: %v", e.protocol, c.packet, err)
				}
				c.check(t, e.protocol, body, enc.seen, some)
			}
			checked[c.packet]++
		}
		checkDisconnectForm(t, e.protocol, doc.layout("configuration", "toClient", "disconnect"), mcproto.StateConfiguration)
		checkDisconnectForm(t, e.protocol, doc.layout("play", "toClient", "kick_disconnect"), mcproto.StatePlay)
	}
	for _, c := range cases {
		if checked[c.packet] == 0 {
			t.Errorf("%s %s %s: no protocol has this layout", c.state, c.dir, c.packet)
		}
	}
}

// checkDisconnectForm checks that AppendDisconnect writes the reason type
// the layout declares: a JSON string or an anonymous NBT tag.
func checkDisconnectForm(t *testing.T, p int32, layout json.RawMessage, s mcproto.State) {
	t.Helper()
	if layout == nil {
		return
	}
	var c []json.RawMessage
	var fields []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if json.Unmarshal(layout, &c) != nil || len(c) != 2 || json.Unmarshal(c[1], &fields) != nil || len(fields) != 1 {
		t.Fatalf("protocol %d %s disconnect: unexpected layout %s", p, s, layout)
	}
	pkt := packets.AppendDisconnect(nil, s, p, "bye")
	id, n, err := mcproto.ReadVarInt(pkt)
	if err != nil || packets.Lookup(p).Kind(s, mcproto.Clientbound, id) != packets.KindDisconnect {
		t.Fatalf("protocol %d %s disconnect: id %#x (%v)", p, s, id, err)
	}
	body := pkt[n:]
	switch fields[0].Type {
	case "string":
		r := mcproto.NewReader(body)
		if got := r.String(packets.MaxJSONTextLen); r.Finish() != nil || got != `{"text":"bye"}` {
			t.Errorf("protocol %d %s disconnect: want a JSON string, got % x", p, s, body)
		}
	case "anonymousNbt":
		if want := []byte{0x08, 0, 3, 'b', 'y', 'e'}; string(body) != string(want) {
			t.Errorf("protocol %d %s disconnect: want NBT string % x, got % x", p, s, want, body)
		}
	default:
		t.Errorf("protocol %d %s disconnect: reason type %q", p, s, fields[0].Type)
	}
}

package packets

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// MaxStatusJSONLen is vanilla's String(32767) limit on the status response.
const MaxStatusJSONLen = 32767

// StatusRequest asks for the server list entry (serverbound, status, 0x00).
// It has no fields.
type StatusRequest struct{}

// DecodeStatusRequest checks that a status request body is empty.
func DecodeStatusRequest(body []byte, _ int32) (StatusRequest, error) {
	r := mcproto.NewReader(body)
	if err := r.Finish(); err != nil {
		return StatusRequest{}, fmt.Errorf("decode status request: %w", err)
	}
	return StatusRequest{}, nil
}

// AppendTo appends the status request id.
func (StatusRequest) AppendTo(dst []byte, _ int32) []byte { return append(dst, idStatusRequest) }

// StatusResponse carries the server list JSON (clientbound, status, 0x00).
type StatusResponse struct {
	JSON string
}

// DecodeStatusResponse decodes a status response. Bytes after the JSON are
// tolerated: some modded backends append data there (docs/PROTOCOL.md, Framing).
func DecodeStatusResponse(body []byte, _ int32) (StatusResponse, error) {
	r := mcproto.NewReader(body)
	s := StatusResponse{JSON: r.String(MaxStatusJSONLen)}
	if err := r.Err(); err != nil {
		return StatusResponse{}, fmt.Errorf("decode status response: %w", err)
	}
	return s, nil
}

// AppendTo appends the status response. The caller keeps JSON within
// MaxStatusJSONLen characters; a vanilla client refuses longer ones.
func (s StatusResponse) AppendTo(dst []byte, _ int32) []byte {
	dst = append(dst, idStatusResponse)
	return mcproto.AppendString(dst, s.JSON)
}

// PingRequest is the status ping (serverbound, status, 0x01).
type PingRequest struct {
	Payload int64
}

// DecodePingRequest decodes a ping request: exactly one i64.
func DecodePingRequest(body []byte, _ int32) (PingRequest, error) {
	r := mcproto.NewReader(body)
	p := PingRequest{Payload: r.Int64()}
	if err := r.Finish(); err != nil {
		return PingRequest{}, fmt.Errorf("decode ping request: %w", err)
	}
	return p, nil
}

// AppendTo appends the ping request.
func (p PingRequest) AppendTo(dst []byte, _ int32) []byte {
	return mcproto.AppendInt64(append(dst, idPingRequest), p.Payload)
}

// PingResponse echoes the ping payload (clientbound, status, 0x01).
type PingResponse struct {
	Payload int64
}

// DecodePingResponse decodes a ping response: exactly one i64.
func DecodePingResponse(body []byte, _ int32) (PingResponse, error) {
	r := mcproto.NewReader(body)
	p := PingResponse{Payload: r.Int64()}
	if err := r.Finish(); err != nil {
		return PingResponse{}, fmt.Errorf("decode ping response: %w", err)
	}
	return p, nil
}

// AppendTo appends the ping response.
func (p PingResponse) AppendTo(dst []byte, _ int32) []byte {
	return mcproto.AppendInt64(append(dst, idPingResponse), p.Payload)
}

// StatusJSON is the status response document. Fields we do not model
// (enforcesSecureChat, previewsChat, forgeData, modinfo, ...) are kept in
// Extra and written back unchanged.
type StatusJSON struct {
	Version     StatusVersion
	Players     *StatusPlayers  // nil when absent (vanilla shows "???")
	Description json.RawMessage // a text component: string, object or array
	Favicon     string          // data:image/png;base64,...
	Extra       map[string]json.RawMessage
}

// StatusVersion is the "version" object.
type StatusVersion struct {
	Name     string `json:"name"`
	Protocol int32  `json:"protocol"`
}

// StatusPlayers is the "players" object.
type StatusPlayers struct {
	Max    int            `json:"max"`
	Online int            `json:"online"`
	Sample []StatusSample `json:"sample,omitempty"`
}

// StatusSample is one entry of the hover list.
type StatusSample struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Keys of the fields StatusJSON models itself.
const (
	statusKeyVersion     = "version"
	statusKeyPlayers     = "players"
	statusKeyDescription = "description"
	statusKeyFavicon     = "favicon"
)

// ParseStatusJSON parses a status response document.
func ParseStatusJSON(s string) (StatusJSON, error) {
	var st StatusJSON
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return StatusJSON{}, fmt.Errorf("parse status: %w: %w", ErrBadJSON, err)
	}
	return st, nil
}

// UnmarshalJSON implements json.Unmarshaler, keeping unknown fields.
func (s *StatusJSON) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if fields == nil {
		return fmt.Errorf("status is null: %w", ErrBadJSON)
	}
	*s = StatusJSON{}
	if v, ok := fields[statusKeyVersion]; ok {
		if err := json.Unmarshal(v, &s.Version); err != nil {
			return fmt.Errorf("status version: %w", err)
		}
	}
	if v, ok := fields[statusKeyPlayers]; ok && string(v) != "null" {
		s.Players = new(StatusPlayers)
		if err := json.Unmarshal(v, s.Players); err != nil {
			return fmt.Errorf("status players: %w", err)
		}
	}
	if v, ok := fields[statusKeyDescription]; ok {
		s.Description = v
	}
	if v, ok := fields[statusKeyFavicon]; ok {
		if err := json.Unmarshal(v, &s.Favicon); err != nil {
			return fmt.Errorf("status favicon: %w", err)
		}
	}
	for _, k := range []string{statusKeyVersion, statusKeyPlayers, statusKeyDescription, statusKeyFavicon} {
		delete(fields, k)
	}
	if len(fields) > 0 {
		s.Extra = fields
	}
	return nil
}

// MarshalJSON implements json.Marshaler. Keys come out sorted.
func (s StatusJSON) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(s.Extra)+4)
	for k, v := range s.Extra {
		out[k] = v
	}
	out[statusKeyVersion] = s.Version
	if s.Players != nil {
		out[statusKeyPlayers] = s.Players
	}
	if len(s.Description) > 0 {
		out[statusKeyDescription] = s.Description
	}
	if s.Favicon != "" {
		out[statusKeyFavicon] = s.Favicon
	}
	return json.Marshal(out)
}

// maxTextDepth bounds how deep DescriptionText follows "extra" lists.
// Vanilla MOTDs nest two or three levels; a backend that nests deeper is
// not worth following.
const maxTextDepth = 16

// DescriptionText returns the plain text of the description, for clients
// that cannot show components (the legacy ping). It handles the string
// form, {"text": ..., "extra": [...]} objects and arrays of either.
// Formatting codes (§) inside the text are kept.
func (s StatusJSON) DescriptionText() string {
	if len(s.Description) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(s.Description, &v); err != nil {
		return ""
	}
	var b strings.Builder
	appendPlainText(&b, v, 0)
	return b.String()
}

func appendPlainText(b *strings.Builder, v any, depth int) {
	if depth > maxTextDepth {
		return
	}
	switch c := v.(type) {
	case string:
		b.WriteString(c)
	case []any:
		for _, e := range c {
			appendPlainText(b, e, depth+1)
		}
	case map[string]any:
		if t, ok := c["text"].(string); ok {
			b.WriteString(t)
		}
		if extra, ok := c["extra"].([]any); ok {
			for _, e := range extra {
				appendPlainText(b, e, depth+1)
			}
		}
	}
}

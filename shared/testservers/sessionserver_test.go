package testservers

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

func postJoin(t *testing.T, s *SessionServer, token, profile, serverID string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"accessToken": token, "selectedProfile": profile, "serverId": serverID})
	resp, err := http.Post(s.URL()+"/session/minecraft/join", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func getHasJoined(t *testing.T, s *SessionServer, q url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(s.URL() + "/session/minecraft/hasJoined?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out
}

// TestSessionServerJoinThenHasJoined: the double's state is real: only an
// account that joined with that server id (and from that address, when
// asked) has joined, and its properties carry verifiable signatures.
func TestSessionServerJoinThenHasJoined(t *testing.T) {
	s := StartSessionServer(t)
	a := s.AddAccount(t, "Alice")
	if code := postJoin(t, s, "not-a-token", a.IDHex(), "-1a2b"); code != http.StatusForbidden {
		t.Fatalf("join with a wrong token: %d, want 403", code)
	}
	if code := postJoin(t, s, a.AccessToken, "00000000000000000000000000000001", "-1a2b"); code != http.StatusForbidden {
		t.Fatalf("join with another profile: %d, want 403", code)
	}
	if code, _ := getHasJoined(t, s, url.Values{"username": {"Alice"}, "serverId": {"-1a2b"}}); code != http.StatusNoContent {
		t.Fatalf("hasJoined before any join: %d, want 204", code)
	}
	if code := postJoin(t, s, a.AccessToken, a.IDHex(), "-1a2b"); code != http.StatusNoContent {
		t.Fatalf("join: %d, want 204", code)
	}
	if code, _ := getHasJoined(t, s, url.Values{"username": {"Alice"}, "serverId": {"ffff"}}); code != http.StatusNoContent {
		t.Fatalf("hasJoined with another server id: %d, want 204", code)
	}
	if code, _ := getHasJoined(t, s, url.Values{"username": {"alice"}, "serverId": {"-1a2b"}, "ip": {"192.0.2.7"}}); code != http.StatusNoContent {
		t.Fatalf("hasJoined from another address: %d, want 204", code)
	}
	code, p := getHasJoined(t, s, url.Values{"username": {"alice"}, "serverId": {"-1a2b"}, "ip": {"127.0.0.1"}})
	if code != http.StatusOK || p["id"] != a.IDHex() || p["name"] != "Alice" {
		t.Fatalf("hasJoined: %d %v", code, p)
	}
	props := p["properties"].([]any)
	prop := props[0].(map[string]any)
	sig, err := base64.StdEncoding.DecodeString(prop["signature"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(prop["value"].(string)))
	if err := rsa.VerifyPKCS1v15(s.PublicKey(), crypto.SHA1, sum[:], sig); err != nil {
		t.Fatalf("the textures signature does not verify: %v", err)
	}
	if s.JoinCalls() != 1 || s.HasJoinedCalls() != 4 {
		t.Fatalf("counted %d joins, %d hasJoined", s.JoinCalls(), s.HasJoinedCalls())
	}
	s.Down(true)
	if code, _ := getHasJoined(t, s, url.Values{"username": {"alice"}, "serverId": {"-1a2b"}}); code != http.StatusServiceUnavailable {
		t.Fatalf("hasJoined while down: %d, want 503", code)
	}
}

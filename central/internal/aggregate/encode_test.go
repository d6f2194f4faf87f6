package aggregate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/detection"
)

// FuzzEncode holds the hand-written encoders to encoding/json: what they
// write reads back exactly as encoding/json's own output of the same
// values does (invalid UTF-8 replaced the same way).
func FuzzEncode(f *testing.F) {
	f.Add("Cheater", "eu", "combat.reach", "k", "v", 3.5, true, int64(1765000000123456789))
	f.Add("q\"u\\o\nte\x01", "\xff\xfe", "a.b", "<&>", "\u2028\t", -0.0, false, int64(0))
	f.Add("é日本", "", "", "", "", 1e300, false, int64(-1))
	f.Fuzz(func(t *testing.T, player, region, check, k, v string, vl float64, auth bool, ns int64) {
		d := report.Detection{Event: detection.Event{Schema: 2, Check: check, Layer: 3, Severity: detection.SeverityHigh, Action: detection.ActionRewrite,
			VL: vl, Player: player, UUID: k, Authenticated: auth, ClientAddr: v, Protocol: 769, Brand: v, Region: region, Edge: k, Session: player,
			Details: map[string]string{k: v, "z" + k: player}, Time: time.Unix(0, ns).UTC()}, TraceID: k, SpanID: v}
		want, err := json.Marshal(d)
		if err != nil {
			t.Skip() // a value encoding/json cannot write (NaN)
		}
		var fromStd, fromOurs report.Detection
		if err := json.Unmarshal(want, &fromStd); err != nil {
			t.Fatal(err)
		}
		got := appendRecord(nil, &d)
		if err := json.Unmarshal(got, &fromOurs); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if !reflect.DeepEqual(fromStd, fromOurs) {
			t.Fatalf("record\n ours %s\n json %s", got, want)
		}
		e := Entry{Time: time.UnixMilli(ns / 1e6).UTC(), Region: region, Check: check, Action: "kick", TraceID: k, SpanID: v, Edge: player,
			Authenticated: auth, Player: player, UUID: v, Address: k, Prefix: region}
		wantE, _ := json.Marshal(toWire(e))
		stdE, err1 := fromWire(string(wantE))
		ourE, err2 := fromWire(string(appendEntry(nil, e)))
		if err1 != nil || err2 != nil || stdE != ourE {
			t.Fatalf("entry %v %v\n ours %+v\n json %+v", err1, err2, ourE, stdE)
		}
	})
}

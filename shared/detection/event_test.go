package detection

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEventRoundTripsThroughJSON(t *testing.T) {
	e := Event{Schema: SchemaVersion, Check: "badpackets.invalid_pitch", Layer: 2, Severity: SeverityHigh,
		Action: ActionKick, VL: 3, Player: "Steve", Protocol: 765, Details: map[string]string{"pitch": "91.5"},
		Time: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"action":"kick"`) || !strings.Contains(string(b), `"severity":"high"`) {
		t.Errorf("enums should marshal as names: %s", b)
	}
	// An unauthenticated identity says so explicitly: a reader must not
	// take a missing field for an account.
	if !strings.Contains(string(b), `"authenticated":false`) {
		t.Errorf("authenticated is left out when false: %s", b)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Action != ActionKick || back.Severity != SeverityHigh || back.Details["pitch"] != "91.5" || !back.Time.Equal(e.Time) {
		t.Errorf("round trip changed the event: %+v", back)
	}
}

func TestValidateRefusesBadEvents(t *testing.T) {
	good := Event{Schema: 1, Check: "timer.balance", Time: time.Now()}
	cases := map[string]func(*Event){
		"schema 0":       func(e *Event) { e.Schema = 0 },
		"future schema":  func(e *Event) { e.Schema = SchemaVersion + 1 },
		"key with space": func(e *Event) { e.Check = "timer balance" },
		"upper-case key": func(e *Event) { e.Check = "Timer.Balance" },
		"layer 9":        func(e *Event) { e.Layer = 9 },
		"action 99":      func(e *Event) { e.Action = 99 },
		"zero time":      func(e *Event) { e.Time = time.Time{} },
	}
	for name, mutate := range cases {
		e := good
		mutate(&e)
		if err := e.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := good.Validate(); err != nil {
		t.Errorf("good event refused: %v", err)
	}
	if _, err := ParseAction("explode"); err == nil {
		t.Error("ParseAction accepted an unknown action")
	}
}

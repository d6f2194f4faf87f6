package telemetry

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func attackSpan() MapAttributes {
	return MapAttributes{
		AttrAttackActive: true, AttrAttackJoinsPerSec: 41.5, AttrAttackFailedVerify: int64(17),
		AttrAttackNameShape: "Aaaa0000", AttrAttackNameShapeHits: int64(120),
	}
}

func TestDecodeAttack(t *testing.T) {
	res := MapAttributes{AttrRegion: "eu", AttrServiceInstance: "edge-eu-1"}
	at := time.Date(2026, 12, 7, 1, 2, 3, 0, time.FixedZone("x", 3600))
	got, err := DecodeAttack(SpanAttack, res, attackSpan(), at)
	if err != nil {
		t.Fatal(err)
	}
	want := AttackReport{Region: "eu", Edge: "edge-eu-1", Time: at.UTC(), Active: true, JoinsPerSecond: 41.5,
		VerificationsFailed: 17, NameShape: "Aaaa0000", NameShapeCount: 120}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// The end-of-attack report may carry no counts at all.
	got, err = DecodeAttack(SpanAttack, res, MapAttributes{AttrAttackActive: false}, at)
	if err != nil || got.Active || got.JoinsPerSecond != 0 {
		t.Errorf("off report: %+v, %v", got, err)
	}
	// Integers sent as doubles (JSON) still decode.
	span := attackSpan()
	span[AttrAttackFailedVerify] = 17.0
	if got, err := DecodeAttack(SpanAttack, res, span, at); err != nil || got.VerificationsFailed != 17 {
		t.Errorf("double count: %+v, %v", got, err)
	}
	span[AttrAttackNameShape] = strings.Repeat("Aé", 20)
	if got, _ := DecodeAttack(SpanAttack, res, span, at); got.NameShape != strings.Repeat("Aé", 8) {
		t.Errorf("shape not cut to %d characters: %q", MaxNameShapeLen, got.NameShape)
	}
}

func TestDecodeAttackRefuses(t *testing.T) {
	res := MapAttributes{AttrRegion: "eu"}
	with := func(k string, v any) MapAttributes {
		m := attackSpan()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for name, span := range map[string]MapAttributes{
		"no active flag":    with(AttrAttackActive, nil),
		"active not a bool": with(AttrAttackActive, "yes"),
		"negative rate":     with(AttrAttackJoinsPerSec, -1.0),
		"infinite rate":     with(AttrAttackJoinsPerSec, math.Inf(1)),
		"NaN rate":          with(AttrAttackJoinsPerSec, math.NaN()),
		"rate not a number": with(AttrAttackJoinsPerSec, "fast"),
		"negative count":    with(AttrAttackFailedVerify, int64(-3)),
		"fractional count":  with(AttrAttackNameShapeHits, 1.5),
	} {
		if _, err := DecodeAttack(SpanAttack, res, span, time.Now()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeAttack(SpanAttack, MapAttributes{}, attackSpan(), time.Now()); err == nil {
		t.Error("a report without a region was accepted")
	}
	if _, err := DecodeAttack(SpanAttack, res, attackSpan(), time.Time{}); err == nil {
		t.Error("zero time accepted")
	}
	if _, err := DecodeAttack(SpanDetection, res, attackSpan(), time.Now()); !errors.Is(err, ErrNotAttack) {
		t.Errorf("another span: %v", err)
	}
}

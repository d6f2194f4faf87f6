package config

import (
	"errors"
	"testing"
)

func TestCorrelationValidate(t *testing.T) {
	if err := DefaultCorrelation().Validate("correlation"); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Correlation)
	}{
		{"correlation.window", func(c *Correlation) { c.Window = 0 }},
		{"correlation.ban_min_regions", func(c *Correlation) { c.BanMinRegions = 0 }},
		{"correlation.ban_min_checks", func(c *Correlation) { c.BanMinChecks = 1000 }},
		{"correlation.ban_min_action", func(c *Correlation) { c.BanMinAction = "nuke" }},
		{"correlation.ban_duration", func(c *Correlation) { c.BanDuration = Duration(1) }},
		{"correlation.attack_min_regions", func(c *Correlation) { c.AttackMinRegions = -1 }},
		{"correlation.attack_hold", func(c *Correlation) { c.AttackHold = 0 }},
	} {
		c := DefaultCorrelation()
		tc.edit(&c)
		err := c.Validate("correlation")
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

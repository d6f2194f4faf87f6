package gate

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults().Validate() = %v", err)
	}
}

func TestValidateNamesFieldAndReason(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string
	}{
		{"negative rate", func(c *Config) { c.ConnAddr.PerSecond = -1 }, "conn_addr.rate"},
		{"NaN rate", func(c *Config) { c.LoginPrefix.PerSecond = math.NaN() }, "login_prefix.rate"},
		{"infinite rate", func(c *Config) { c.ConnPrefix.PerSecond = math.Inf(1) }, "conn_prefix.rate"},
		{"zero burst with rate on", func(c *Config) { c.LoginAddr.Burst = 0 }, "login_addr.burst"},
		{"unanchored name pattern", func(c *Config) { c.NamePattern = "[a-z]+" }, "name_pattern"},
		{"broken name pattern", func(c *Config) { c.NamePattern = "^[a-z$" }, "name_pattern"},
		{"empty host", func(c *Config) { c.AllowedHosts = []string{"play.example.com", " "} }, "allowed_hosts[1]"},
		{"host with a path", func(c *Config) { c.AllowedHosts = []string{"example.com/x"} }, "allowed_hosts[0]"},
		{"wildcard in the middle", func(c *Config) { c.AllowedHosts = []string{"a.*.example.com"} }, "allowed_hosts[0]"},
		{"unsupported allowed protocol", func(c *Config) { c.AllowedProtocols = []int32{763, 5} }, "allowed_protocols[1]"},
		{"everything denied", func(c *Config) { c.AllowedProtocols, c.DeniedProtocols = []int32{763}, []int32{763} }, "denied_protocols"},
		{"negative in-flight cap", func(c *Config) { c.MaxLoginsInFlight = -1 }, "max_logins_in_flight"},
		{"negative accounts cap", func(c *Config) { c.MaxAccountsPerAddr = -1 }, "max_accounts_per_addr"},
		{"unknown attack mode", func(c *Config) { c.AttackMode = "sometimes" }, "attack_mode"},
		{"zero attack threshold", func(c *Config) { c.AttackJoinsPerSecond = 0 }, "attack_joins_per_second"},
		{"negative fleet threshold", func(c *Config) { c.AttackFleetJoinsPerSecond = -1 }, "attack_fleet_joins_per_second"},
		{"sub-second quiet period", func(c *Config) { c.AttackQuiet = 500 * time.Millisecond }, "attack_quiet"},
		{"zero verified TTL", func(c *Config) { c.VerifiedTTL = 0 }, "verified_ttl"},
		{"zero failures", func(c *Config) { c.VerifyMaxFailures = 0 }, "verify_max_failures"},
		{"zero block", func(c *Config) { c.VerifyBlock = 0 }, "verify_block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted an invalid config")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("error %v: want field %q", err, tt.field)
			}
			if fe != nil && fe.Reason == "" {
				t.Errorf("field error without a reason: %v", err)
			}
			if _, err := New(c, Deps{}); err == nil {
				t.Error("New accepted the invalid config")
			}
		})
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	c := Defaults()
	c.AttackMode = "x"
	c.VerifyBlock = 0
	err := c.Validate()
	for _, field := range []string{"gate.attack_mode", "gate.verify_block"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v; want it to name %s", err, field)
		}
	}
}

func TestValidAlternatives(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"rates off", func(c *Config) { c.ConnAddr, c.LoginPrefix = Rate{}, Rate{} }},
		{"caps off", func(c *Config) { c.MaxLoginsInFlight, c.MaxAccountsPerAddr = 0, 0 }},
		{"hosts with wildcard and trailing dot", func(c *Config) { c.AllowedHosts = []string{"*.example.com", "Play.Example.org."} }},
		{"deny list with unknown numbers", func(c *Config) { c.DeniedProtocols = []int32{47, 99999} }},
		{"forced modes", func(c *Config) { c.AttackMode = AttackModeOn }},
		{"fleet ignored", func(c *Config) { c.AttackFleetJoinsPerSecond = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

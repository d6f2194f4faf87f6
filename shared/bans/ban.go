package bans

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/netscope"
)

// Kind is what a ban matches on.
type Kind uint8

const (
	KindUUID Kind = iota + 1 // a player's UUID (the account in online mode)
	KindName                 // a player name, case-insensitive for ASCII
	KindIP                   // one IPv4 address (IPv4-mapped IPv6 counts as IPv4); an IPv6 one becomes its /64, a KindCIDR
	KindCIDR                 // an address range
	kindEnd
)

var kindNames = [kindEnd]string{KindUUID: "uuid", KindName: "name", KindIP: "ip", KindCIDR: "cidr"}

// String is the stable lower-case name used in Redis, the CLI and metric
// labels.
func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds lists every kind, for pre-registering metric labels.
func Kinds() []Kind { return []Kind{KindUUID, KindName, KindIP, KindCIDR} }

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for k := KindUUID; k < kindEnd; k++ {
		if kindNames[k] == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w: kind %q (want uuid, name, ip or cidr)", ErrInvalid, s)
}

const (
	// MaxNameLen is the longest player name a name ban can hold: vanilla's
	// Login Start carries the name as String(16).
	MaxNameLen = 16
	// maxNameBytes bounds a name's UTF-8 form (16 chars of at most 4
	// bytes), so Match can fold a name into a fixed stack buffer.
	maxNameBytes = MaxNameLen * utf8.UTFMax
	// MaxReasonLen caps a ban reason in bytes. The reason is shown to the
	// player in a disconnect screen, which wraps after a few lines; 256
	// bytes is about three lines and keeps a stored ban small.
	MaxReasonLen = 256
	// MaxSourceLen caps the source field ("check:<key>", "operator:<user>").
	MaxSourceLen = 128
	// MaxEvidence caps a ban's evidence list: a correlation needs a few
	// detections per region and check to be understood, and the whole ban
	// must stay under maxBanJSON, which every edge enforces on load.
	MaxEvidence = 8
	// MaxEvidenceField caps an evidence entry's region and check in bytes
	// (region names and check keys are far shorter).
	MaxEvidenceField = 64
	// minPrefixV4 and minPrefixV6 are the widest CIDR bans accepted. A
	// /7 or a /15 bans a share of the internet bigger than any abuse we
	// have seen and is far more likely a typo for a /17 than intended.
	minPrefixV4 = 8
	minPrefixV6 = 16
)

// Forever is what Remaining returns for a permanent ban.
const Forever = time.Duration(math.MaxInt64)

// ErrInvalid marks a ban that cannot be stored or a value that does not
// parse for its kind; the CLI maps it to a usage error.
var ErrInvalid = errors.New("bans: invalid ban")

// Ban is one entry of the fleet's ban list. Bans are identified by kind and
// normalised value, so banning the same subject twice replaces the first
// ban (a new reason or expiry) instead of stacking two.
type Ban struct {
	ID      string // "<kind>:<normalised value>", derived by Normalize
	Kind    Kind
	Value   string // normalised: dashed lower-case UUID, name as given, canonical address or masked prefix
	Reason  string // shown to the player
	Source  string // who banned: "check:<key>" or "operator:<user>"
	Created time.Time
	Expires time.Time // zero: permanent
	// Evidence is what a correlation ban rests on: the detections central
	// correlated across regions (empty for operator and detection bans).
	// Edges carry it along for operators; they never act on it. At most
	// MaxEvidence entries; treat it as read-only, a Table shares it.
	Evidence []Evidence
}

// Evidence is one detection a correlation ban rests on.
type Evidence struct {
	Region  string    `json:"region"`
	Check   string    `json:"check"`
	Time    time.Time `json:"time"`
	TraceID string    `json:"trace_id,omitempty"` // 32 lower-case hex digits: the detection span's trace in the tracing backend
}

// Equal reports whether a and b are the same ban in every field,
// evidence included. Ban holds a slice, so == does not compile.
func (b Ban) Equal(o Ban) bool {
	if b.ID != o.ID || b.Kind != o.Kind || b.Value != o.Value || b.Reason != o.Reason || b.Source != o.Source ||
		!b.Created.Equal(o.Created) || !b.Expires.Equal(o.Expires) || len(b.Evidence) != len(o.Evidence) {
		return false
	}
	for i := range b.Evidence {
		x, y := b.Evidence[i], o.Evidence[i]
		if x.Region != y.Region || x.Check != y.Check || x.TraceID != y.TraceID || !x.Time.Equal(y.Time) {
			return false
		}
	}
	return true
}

// Permanent reports whether b never expires.
func (b Ban) Permanent() bool { return b.Expires.IsZero() }

// Active reports whether b is in force at now. Expiry is enforced from the
// ban's own expiry time on every lookup, so an expired ban stops matching at
// once even while it is still stored.
func (b Ban) Active(now time.Time) bool { return b.Expires.IsZero() || now.Before(b.Expires) }

// Remaining is how long b still lasts at now: Forever when permanent, zero
// when expired.
func (b Ban) Remaining(now time.Time) time.Duration {
	if b.Expires.IsZero() {
		return Forever
	}
	if d := b.Expires.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Message is the disconnect text for a player refused or kicked by b: the
// reason and how long is left, so the player knows whether to wait.
func (b Ban) Message(now time.Time) string {
	reason := b.Reason
	if reason == "" {
		reason = "Banned from this network."
	}
	if b.Permanent() {
		return reason + "\nThis ban is permanent."
	}
	return reason + "\nExpires in " + FormatRemaining(b.Remaining(now)) + "."
}

// FormatRemaining renders a remaining time for people: rounded to seconds,
// "permanent" for Forever.
func FormatRemaining(d time.Duration) string {
	if d == Forever {
		return "permanent"
	}
	if d < time.Second {
		d = time.Second // a ban about to expire still reads as one
	}
	return d.Round(time.Second).String()
}

// Normalize checks b and puts its value into canonical form, deriving ID.
// Created and Expires are truncated to milliseconds, the precision stored
// in Redis, and put in UTC, so a ban reads back exactly (==) as written.
func Normalize(b Ban) (Ban, error) {
	k, v, err := NormalizeSubject(b.Kind, b.Value)
	if err != nil {
		return Ban{}, err
	}
	b.Kind, b.Value = k, v
	b.ID = banID(b.Kind, v)
	if len(b.Reason) > MaxReasonLen || !utf8.ValidString(b.Reason) {
		return Ban{}, fmt.Errorf("%w: reason must be valid UTF-8 of at most %d bytes", ErrInvalid, MaxReasonLen)
	}
	if len(b.Source) > MaxSourceLen || !utf8.ValidString(b.Source) {
		return Ban{}, fmt.Errorf("%w: source must be valid UTF-8 of at most %d bytes", ErrInvalid, MaxSourceLen)
	}
	b.Created = b.Created.Truncate(time.Millisecond).UTC()
	b.Expires = b.Expires.Truncate(time.Millisecond).UTC()
	if b.Evidence, err = normalizeEvidence(b.Evidence); err != nil {
		return Ban{}, err
	}
	if !b.Expires.IsZero() && !b.Created.IsZero() && !b.Expires.After(b.Created) {
		return Ban{}, fmt.Errorf("%w: expiry %s is not after creation %s", ErrInvalid, b.Expires, b.Created)
	}
	return b, nil
}

// normalizeEvidence checks a ban's evidence and returns a copy in stored
// form (times in UTC milliseconds); nil stays nil.
func normalizeEvidence(in []Evidence) ([]Evidence, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > MaxEvidence {
		return nil, fmt.Errorf("%w: %d evidence entries, at most %d", ErrInvalid, len(in), MaxEvidence)
	}
	out := make([]Evidence, len(in))
	for i, e := range in {
		if !evidenceText(e.Region) || !evidenceText(e.Check) {
			return nil, fmt.Errorf("%w: evidence %d: region and check must be printable, at most %d bytes", ErrInvalid, i, MaxEvidenceField)
		}
		if e.TraceID != "" && !lowerHex(e.TraceID, 32) {
			return nil, fmt.Errorf("%w: evidence %d: trace id %q is not 32 lower-case hex digits", ErrInvalid, i, e.TraceID)
		}
		e.Time = e.Time.Truncate(time.Millisecond).UTC()
		out[i] = e
	}
	return out, nil
}

// evidenceText wants at most MaxEvidenceField bytes of printable UTF-8.
func evidenceText(s string) bool {
	if len(s) > MaxEvidenceField || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func lowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NormalizeSubject parses value as a kind and returns the kind and value
// the ban is stored under. They differ in one case: an IP ban on an IPv6
// address bans the address's /64 (package netscope: one host holds a /64
// and rotates addresses inside it, so banning one /128 bans nothing), and
// is stored as that CIDR, so banning two addresses of one /64 is one ban.
// A CIDR narrower than /64 is kept as written: an operator's explicit range.
func NormalizeSubject(k Kind, value string) (Kind, string, error) {
	v, err := normalizeValue(k, value)
	if err != nil || k != KindIP {
		return k, v, err
	}
	a := netip.MustParseAddr(v) // normalizeValue produced it
	if a.Is4() {
		return k, v, nil
	}
	return KindCIDR, netscope.Address(a).String(), nil
}

// normalizeValue parses value as a kind and returns its canonical form.
func normalizeValue(k Kind, value string) (string, error) {
	value = strings.TrimSpace(value)
	switch k {
	case KindUUID:
		u, err := ParseUUID(value)
		if err != nil {
			return "", err
		}
		return u.String(), nil
	case KindName:
		n := utf8.RuneCountInString(value)
		if n == 0 || n > MaxNameLen || !utf8.ValidString(value) {
			return "", fmt.Errorf("%w: name %q must be 1 to %d characters", ErrInvalid, value, MaxNameLen)
		}
		for _, r := range value {
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				return "", fmt.Errorf("%w: name %q contains a space or control character", ErrInvalid, value)
			}
		}
		return value, nil
	case KindIP:
		a, err := netip.ParseAddr(value)
		if err != nil {
			return "", fmt.Errorf("%w: ip %q: %w", ErrInvalid, value, err)
		}
		return normAddr(a).String(), nil
	case KindCIDR:
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return "", fmt.Errorf("%w: cidr %q: %w", ErrInvalid, value, err)
		}
		p = normPrefix(p)
		if p.Addr().Is4() && p.Bits() < minPrefixV4 || p.Addr().Is6() && p.Bits() < minPrefixV6 {
			return "", fmt.Errorf("%w: cidr %s is wider than /%d (IPv4) or /%d (IPv6)", ErrInvalid, p, minPrefixV4, minPrefixV6)
		}
		return p.String(), nil
	}
	return "", fmt.Errorf("%w: kind %d", ErrInvalid, k)
}

// banID is the Redis hash field and the identity of a ban. Names are keyed
// folded, so "Notch" and "notch" are one ban.
func banID(k Kind, v string) string {
	if k == KindName {
		v = foldName(v)
	}
	return k.String() + ":" + v
}

// ParseUUID accepts a UUID with or without dashes, in either case.
func ParseUUID(s string) (mcproto.UUID, error) {
	var u mcproto.UUID
	var h [32]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			continue
		}
		if n == len(h) {
			return u, fmt.Errorf("%w: uuid %q is too long", ErrInvalid, s)
		}
		h[n] = c
		n++
	}
	if n != len(h) || (len(s) != 32 && len(s) != 36) {
		return u, fmt.Errorf("%w: uuid %q must be 32 hex digits, optionally with dashes", ErrInvalid, s)
	}
	if _, err := hex.Decode(u[:], h[:]); err != nil {
		return u, fmt.Errorf("%w: uuid %q: %w", ErrInvalid, s, err)
	}
	return u, nil
}

// normAddr keys an address the way the rest of the edge does: IPv4-mapped
// IPv6 is IPv4 (a dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d)
// and zones are dropped (a zone names a local interface, not a client).
func normAddr(a netip.Addr) netip.Addr { return netscope.Normalize(a) }

// normPrefix masks p and turns an IPv4-mapped IPv6 range into the IPv4
// range it covers, so it matches unmapped client addresses.
func normPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return netip.PrefixFrom(a, p.Bits()).Masked()
}

// foldName lower-cases ASCII letters only. Minecraft names are ASCII in
// online mode; folding only ASCII keeps the rule simple and identical in
// Normalize and in the allocation-free Match.
func foldName(s string) string {
	var buf [maxNameBytes]byte
	if len(s) > len(buf) {
		return s
	}
	return string(foldInto(&buf, s))
}

// foldInto writes the ASCII-folded s into buf (s must fit) and returns the
// used part.
func foldInto(buf *[maxNameBytes]byte, s string) []byte {
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b
}

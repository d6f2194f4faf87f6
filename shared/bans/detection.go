package bans

import (
	"net/netip"
	"time"

	"github.com/rustguard/rustguard/shared/netscope"
)

// Subject is whom a detection's ban action is aimed at.
type Subject struct {
	Name string
	UUID string // the offline UUID of Name unless Authenticated
	Addr netip.Addr
	// Authenticated reports whether the edge verified that the player owns
	// Name and UUID (online mode). Unauthenticated, both are claims anyone
	// can make, and banning them would ban whoever the attacker named.
	Authenticated bool
}

// DetectionBans returns what a detection's ban action bans for s, all with
// base's reason, source and times:
//
//   - Unauthenticated (offline mode): the address only, an IPv4 address or
//     an IPv6 /64 (netscope.Address). The name and the UUID in Login Start
//     are claims: banning them would let anyone get any player banned by
//     joining under their name and tripping a check.
//   - Authenticated: the UUID and the name, which the player proved to
//     own; the address too only with banAddress, since addresses are
//     shared (households, schools, carrier NAT) and the account is the
//     better key once it is proven.
//
// Nothing is banned when nothing may be (no address known and no proven
// identity); the engine's kick still ends the session.
func DetectionBans(s Subject, banAddress bool, base Ban) []Ban {
	var out []Ban
	add := func(k Kind, v string) {
		b := base
		b.Kind, b.Value = k, v
		out = append(out, b)
	}
	if s.Authenticated {
		if u, err := ParseUUID(s.UUID); err == nil && u != ([16]byte{}) {
			add(KindUUID, u.String())
		}
		if s.Name != "" {
			add(KindName, s.Name)
		}
	}
	if (!s.Authenticated || banAddress) && s.Addr.IsValid() {
		a := netscope.Normalize(s.Addr)
		if a.Is4() {
			add(KindIP, a.String())
		} else {
			add(KindCIDR, netscope.Address(a).String())
		}
	}
	return out
}

// Detections carries out the detection engine's ban action. With a Store
// the bans go to the fleet's list in Redis (and to the Local table when
// Redis does not take them); without one (no Redis configured) they hold
// on this edge only, in the Local table.
type Detections struct {
	store      *Store // nil: no shared list
	local      *Local
	banAddress bool
	now        func() time.Time
}

// NewDetections returns the ban action. store may be nil (no Redis); local
// is required. banAddress also bans an authenticated player's address
// (DetectionBans; the redis.detect_bans_address setting).
func NewDetections(store *Store, local *Local, banAddress bool) *Detections {
	return &Detections{store: store, local: local, banAddress: banAddress, now: local.now}
}

// Ban bans what DetectionBans allows for s, for d (0: permanent). It never
// blocks: the fleet write is queued, and a ban the queue cannot take holds
// on this edge instead.
func (d *Detections) Ban(s Subject, reason, source string, dur time.Duration) {
	now := d.now()
	base := Ban{Reason: reason, Source: source, Created: now}
	if dur > 0 {
		base.Expires = now.Add(dur)
	}
	for _, b := range DetectionBans(s, d.banAddress, base) {
		if d.store == nil || !d.store.enqueue(b) {
			d.local.Add(b)
		}
	}
}

package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rustguard/rustguard/central/internal/report"
	"github.com/rustguard/rustguard/shared/bans"
	"github.com/rustguard/rustguard/shared/detection"
)

// Query bounds.
const (
	// MaxLimit caps the detections or entries one query returns.
	MaxLimit = 1000
	// maxScan caps the log entries one detections query reads while
	// filtering; past it the answer says where to continue.
	maxScan = 50_000
	// scanPage is one XREVRANGE page.
	scanPage = 500
	// maxLateness is how long after its event time a detection may still
	// arrive (an edge's export queue while central was away), so a query
	// ending at T reads the log up to T plus this.
	maxLateness = 10 * time.Minute
	// maxSkew is how far ahead of the log an event's own time may be (the
	// edge's clock), so a query starting at T reads from T minus this.
	maxSkew = 5 * time.Minute
	// MaxCountBuckets caps the buckets one counts query reads.
	MaxCountBuckets = 1440
)

// ErrBadQuery marks a query that cannot be answered as asked.
var ErrBadQuery = errors.New("bad query")

// Query selects detections from the log. Zero fields do not filter.
type Query struct {
	Region string
	Check  string
	// Player matches the name (any case) or the UUID.
	Player       string
	Since, Until time.Time
	Limit        int
	// Before continues a previous answer: its Next.
	Before string
}

// Stored is one detection as the log holds it.
type Stored struct {
	// ID is the log entry's id: the time central stored it, in Redis's
	// clock (milliseconds), and a sequence number.
	ID string `json:"id"`
	report.Detection
}

// Page is a detections answer, newest first.
type Page struct {
	Detections []Stored `json:"detections"`
	// Next, when set, continues the query (Query.Before): the limit or
	// the scan bound was reached first.
	Next string `json:"next,omitempty"`
}

// Detections reads the log newest first, filtering as it goes.
func (a *Aggregator) Detections(ctx context.Context, q Query) (Page, error) {
	if q.Limit <= 0 || q.Limit > MaxLimit {
		return Page{}, fmt.Errorf("%w: limit %d not in 1..%d", ErrBadQuery, q.Limit, MaxLimit)
	}
	hi := "+"
	if !q.Until.IsZero() {
		hi = strconv.FormatInt(q.Until.Add(maxLateness).UnixMilli(), 10)
	}
	if q.Before != "" {
		if !validStreamID(q.Before) {
			return Page{}, fmt.Errorf("%w: before %q is not a log id", ErrBadQuery, q.Before)
		}
		hi = "(" + q.Before
	}
	lo := "-"
	if !q.Since.IsZero() {
		lo = strconv.FormatInt(q.Since.Add(-maxSkew).UnixMilli(), 10)
	}
	player := strings.ToLower(q.Player)
	var out Page
	scanned := 0
	for {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		msgs, err := a.client.XRevRangeN(ctx, a.keyStream(), hi, lo, scanPage).Result()
		cancel()
		if err != nil {
			return Page{}, fmt.Errorf("read detection log: %w", err)
		}
		for _, m := range msgs {
			scanned++
			hi = "(" + m.ID
			raw, _ := m.Values["d"].(string)
			var d report.Detection
			if err := json.Unmarshal([]byte(raw), &d); err != nil {
				continue
			}
			if q.Region != "" && d.Region != q.Region || q.Check != "" && d.Check != q.Check ||
				player != "" && strings.ToLower(d.Player) != player && d.UUID != player ||
				!q.Since.IsZero() && d.Time.Before(q.Since) || !q.Until.IsZero() && d.Time.After(q.Until) {
				continue
			}
			out.Detections = append(out.Detections, Stored{ID: m.ID, Detection: d})
			if len(out.Detections) == q.Limit {
				out.Next = m.ID
				return out, nil
			}
		}
		if len(msgs) < scanPage {
			return out, nil
		}
		if scanned >= maxScan {
			out.Next = strings.TrimPrefix(hi, "(")
			return out, nil
		}
	}
}

// validStreamID accepts "<ms>-<seq>" as Redis stream ids are written.
func validStreamID(s string) bool {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return err1 == nil && err2 == nil
}

// History is a player's cross-region history, newest first.
type History struct {
	// Key says how the player was looked up: "uuid" or "name".
	Key     string   `json:"key"`
	Value   string   `json:"value"`
	Total   int64    `json:"total"` // entries held (Entries may be fewer: limit)
	Regions []string `json:"regions"`
	Checks  []string `json:"checks"`
	Names   []string `json:"names,omitempty"`
	UUIDs   []string `json:"uuids,omitempty"`
	// TraceIDs are the traces of the entries returned, newest first.
	TraceIDs []string  `json:"trace_ids"`
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
	Entries  []Entry   `json:"entries"`
}

// decodeEntries decodes history members, newest first by event time
// (the list is in arrival order, which late detections disturb).
func decodeEntries(members []string) []Entry {
	out := make([]Entry, 0, len(members))
	for _, m := range members {
		if e, err := fromWire(m); err == nil {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return b.Time.Compare(a.Time) })
	return out
}

// Player returns the history of a player by UUID (any spelling
// bans.ParseUUID reads) or else by name, case-insensitively, since since.
func (a *Aggregator) Player(ctx context.Context, who string, since time.Time, limit int) (History, error) {
	if limit <= 0 || limit > MaxLimit {
		return History{}, fmt.Errorf("%w: limit %d not in 1..%d", ErrBadQuery, limit, MaxLimit)
	}
	h := History{Key: "name", Value: strings.ToLower(who)}
	key := a.KeyPlayerName(who)
	if u, err := bans.ParseUUID(who); err == nil {
		h.Key, h.Value, key = "uuid", u.String(), a.KeyPlayerUUID(u.String())
	}
	// The history's age bound is enforced here: a key holds its newest
	// entries until it expires.
	if oldest := a.now().Add(-a.cfg.MaxAge); since.Before(oldest) {
		since = oldest
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	members, err := a.client.LRange(ctx, key, 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return History{}, fmt.Errorf("read player history: %w", err)
	}
	h.Total = int64(len(members))
	entries := decodeEntries(members)
	regions, checks, names, uuids, traces := set{}, set{}, set{}, set{}, set{}
	for _, e := range entries {
		if e.Time.Before(since) {
			continue
		}
		if len(h.Entries) == limit {
			break
		}
		h.Entries = append(h.Entries, e)
		regions.add(e.Region)
		checks.add(e.Check)
		names.add(e.Player)
		uuids.add(e.UUID)
		if traces.add(e.TraceID) {
			h.TraceIDs = append(h.TraceIDs, e.TraceID)
		}
		if h.Last.IsZero() || e.Time.After(h.Last) {
			h.Last = e.Time
		}
		if h.First.IsZero() || e.Time.Before(h.First) {
			h.First = e.Time
		}
	}
	h.Regions, h.Checks, h.Names, h.UUIDs = regions.sorted(), checks.sorted(), names.sorted(), uuids.sorted()
	if h.Entries == nil {
		h.Entries = []Entry{}
	}
	if h.TraceIDs == nil {
		h.TraceIDs = []string{}
	}
	return h, nil
}

type set map[string]bool

func (s set) add(v string) bool {
	if v == "" || s[v] {
		return false
	}
	s[v] = true
	return true
}

func (s set) sorted() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Bucket sizes of the counters.
const (
	BucketMinute = "minute"
	BucketHour   = "hour"
)

// CountQuery selects counters. Zero Region and Check do not filter.
type CountQuery struct {
	Bucket       string // BucketMinute or BucketHour
	Since, Until time.Time
	Region       string
	Check        string
}

// Count is one counter: detections of a check with an action in a region
// during the bucket that starts at Start.
type Count struct {
	Start  time.Time `json:"start"`
	Region string    `json:"region"`
	Check  string    `json:"check"`
	Action string    `json:"action"`
	Count  int64     `json:"count"`
}

// Counts reads the counter buckets between Since and Until, oldest first.
func (a *Aggregator) Counts(ctx context.Context, q CountQuery) ([]Count, error) {
	var size int64
	var key func(int64) string
	switch q.Bucket {
	case BucketMinute:
		size, key = 60, a.keyMinute
	case BucketHour:
		size, key = 3600, a.keyHour
	default:
		return nil, fmt.Errorf("%w: bucket %q: want minute or hour", ErrBadQuery, q.Bucket)
	}
	from, to := q.Since.Unix()/size, q.Until.Unix()/size
	if to < from || to-from >= MaxCountBuckets {
		return nil, fmt.Errorf("%w: %d %s buckets asked, 1 to %d allowed", ErrBadQuery, to-from+1, q.Bucket, MaxCountBuckets)
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	pipe := a.client.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, 0, to-from+1)
	for b := from; b <= to; b++ {
		cmds = append(cmds, pipe.HGetAll(ctx, key(b)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	out := []Count{}
	for i, c := range cmds {
		start := time.Unix((from+int64(i))*size, 0).UTC()
		var rows []Count
		for field, v := range c.Val() {
			parts := strings.SplitN(field, "|", 3)
			if len(parts) != 3 || q.Region != "" && parts[0] != q.Region || q.Check != "" && parts[1] != q.Check {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			rows = append(rows, Count{Start: start, Region: parts[0], Check: parts[1], Action: parts[2], Count: n})
		}
		slices.SortFunc(rows, func(x, y Count) int {
			return strings.Compare(x.Region+"|"+x.Check+"|"+x.Action, y.Region+"|"+y.Check+"|"+y.Action)
		})
		out = append(out, rows...)
	}
	return out, nil
}

// Flag is the latest time one identity was flagged by one check with one
// action in one region, from one address (unauthenticated) or under one
// name (authenticated): what correlation judges.
type Flag struct {
	Time    time.Time
	Region  string
	Check   string
	Action  detection.Action
	Subject string // netscope.Address of the client, or the player name when authenticated
	// TraceID and SpanID are the latest such detection's span; Flags
	// leaves them empty, FlagSpans fills them in.
	TraceID string
	SpanID  string
	member  string
}

// Flags reads, in one round trip, the flags of each identity
// (report.Identity.Key) seen since since, oldest first.
func (a *Aggregator) Flags(ctx context.Context, identities []string, since time.Time) ([][]Flag, error) {
	if len(identities) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	pipe := a.client.Pipeline()
	sets := make([]*redis.MapStringStringCmd, len(identities))
	for i, id := range identities {
		sets[i] = pipe.HGetAll(ctx, a.keyFlags(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read flags: %w", err)
	}
	out := make([][]Flag, len(identities))
	for i := range identities {
		for m, v := range sets[i].Val() {
			ms, err := strconv.ParseInt(v, 10, 64)
			parts := strings.SplitN(m, "|", 4)
			if err != nil || ms < since.UnixMilli() || len(parts) != 4 {
				continue
			}
			act, err := detection.ParseAction(parts[2])
			if err != nil {
				continue
			}
			out[i] = append(out[i], Flag{Time: time.UnixMilli(ms).UTC(), Region: parts[0], Check: parts[1], Action: act, Subject: parts[3], member: m})
		}
		slices.SortFunc(out[i], func(a, b Flag) int {
			if c := a.Time.Compare(b.Time); c != 0 {
				return c
			}
			return strings.Compare(a.member, b.member)
		})
	}
	return out, nil
}

// FlagSpans fills in the span ids of identities' flags (from Flags): the
// latest detection of each flag in the player's history, read in one
// round trip. Correlation needs them only for the bans it writes, so they
// are looked up then rather than stored with every flag.
func (a *Aggregator) FlagSpans(ctx context.Context, ids []report.Identity, flags [][]Flag) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	pipe := a.client.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(ids))
	for i, id := range ids {
		if len(flags[i]) == 0 {
			continue
		}
		key := a.KeyPlayerName(id.Name)
		if id.Auth {
			key = a.KeyPlayerUUID(id.UUID)
		}
		cmds[i] = pipe.LRange(ctx, key, 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read flag spans: %w", err)
	}
	for i, id := range ids {
		if cmds[i] != nil {
			matchSpans(id, flags[i], cmds[i].Val())
		}
	}
	return nil
}

// matchSpans gives each flag the span of its latest detection among
// history members (newest first).
func matchSpans(id report.Identity, flags []Flag, members []string) {
	want := make(map[string]int, len(flags))
	for i, f := range flags {
		want[f.member] = i
	}
	for _, e := range decodeEntries(members) { // newest first: the first match is the latest
		if e.Authenticated != id.Auth || !id.Auth && e.Prefix != id.Prefix {
			continue
		}
		subject := e.Address
		if id.Auth {
			subject = e.Player
		}
		i, ok := want[e.Region+"|"+e.Check+"|"+e.Action+"|"+subject]
		if !ok || flags[i].TraceID != "" {
			continue
		}
		flags[i].TraceID, flags[i].SpanID = e.TraceID, e.SpanID
	}
}

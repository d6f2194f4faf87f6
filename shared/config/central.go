package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Central is rustguard-central's configuration. Central has no file: it
// is configured by environment variables only (docs/CENTRAL.md lists
// them), read with caarlos0/env over the defaults of DefaultCentral, then
// checked by Validate. CONSUL_HTTP_* and OTEL_EXPORTER_OTLP_* are read by
// the Consul client and central's forwarder themselves, never here.
//
// A field tagged secret:"true" is masked by LogValue.
type Central struct {
	// HTTPAddr serves the operator API, /metrics, /healthz and /readyz.
	HTTPAddr string `env:"RUSTGUARD_CENTRAL_HTTP_ADDR"`
	// OTLPGRPCAddr and OTLPHTTPAddr receive the edges' traces; "off"
	// disables a listener.
	OTLPGRPCAddr string `env:"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR"`
	OTLPHTTPAddr string `env:"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR"`
	// RedisURL is where central aggregates (required): redis://,
	// rediss://, redis+cluster:// or rediss+cluster://.
	RedisURL string `env:"RUSTGUARD_REDIS_URL" secret:"true"`
	// RedisKeyPrefix starts every key; the edges' redis.key_prefix, so the
	// ban list and the fleet attack flag are the ones the edges read.
	RedisKeyPrefix string `env:"RUSTGUARD_REDIS_KEY_PREFIX"`
	// AdminToken guards every /v1 endpoint and /metrics (required).
	AdminToken string `env:"RUSTGUARD_ADMIN_TOKEN" secret:"true"`
	// IngestToken, when set, must come with every OTLP request as
	// "Authorization: Bearer <token>". Required unless both OTLP listeners
	// are on loopback.
	IngestToken string `env:"RUSTGUARD_INGEST_TOKEN" secret:"true"`
	// DetectionsMaxLen and DetectionsMaxAge bound the detection log and
	// the per-player histories in Redis.
	DetectionsMaxLen int      `env:"RUSTGUARD_CENTRAL_DETECTIONS_MAX_LEN"`
	DetectionsMaxAge Duration `env:"RUSTGUARD_CENTRAL_DETECTIONS_MAX_AGE"`
	// ConfigDatacenters are the other Consul datacenters whose KV gets
	// every fleet configuration version (KV is not replicated by WAN
	// federation; edges read their own datacenter's key).
	ConfigDatacenters []string `env:"RUSTGUARD_CENTRAL_CONFIG_DATACENTERS"`
	// JaegerUIURL is the base address of the Jaeger web UI operators
	// open in their browsers (http://jaeger.internal:16686): the operator
	// page links each detection to <JaegerUIURL>/trace/<trace id>. Empty:
	// trace ids are shown without links.
	JaegerUIURL string `env:"RUSTGUARD_CENTRAL_JAEGER_UI_URL"`
	Log         Log
}

// ListenerOff disables an OTLP listener.
const ListenerOff = "off"

// Bounds checked by Central.Validate.
const (
	// MinTokenLen: a bearer token is guessed online, one request per
	// try; 16 random characters are far beyond any request rate.
	MinTokenLen = 16
	// maxTokenLen keeps a token inside one HTTP header line.
	maxTokenLen = 4096
	// maxKeyPrefixLen: the prefix starts every key; Redis keys stay short.
	maxKeyPrefixLen = 64
	// minDetectionsMaxLen: fewer entries than a busy minute of one region
	// makes the log useless for an investigation.
	minDetectionsMaxLen = 1000
	// maxDetectionsMaxLen: a stored detection is about 500 bytes, so 10
	// million is about 5 GB of Redis memory, more than any central should
	// hold in one stream.
	maxDetectionsMaxLen = 10_000_000
	// minDetectionsMaxAge is the correlation window's upper bound
	// (maxCorrelationWindow): correlation reads the per-player history,
	// which this age also bounds.
	minDetectionsMaxAge = maxCorrelationWindow
	// maxDetectionsMaxAge: a quarter; older evidence belongs in an archive.
	maxDetectionsMaxAge = 90 * 24 * time.Hour
)

// DefaultCentral returns central's compiled-in configuration: every
// listener on loopback, so nothing faces the network unless an operator
// says so.
func DefaultCentral() Central {
	return Central{
		HTTPAddr:       "127.0.0.1:8080",
		OTLPGRPCAddr:   "127.0.0.1:4317",
		OTLPHTTPAddr:   "127.0.0.1:4318",
		RedisKeyPrefix: "rustguard",
		// 250,000 detections ≈ 125 MB of Redis; a week covers a
		// weekend's investigation.
		DetectionsMaxLen: 250_000,
		DetectionsMaxAge: Duration(7 * 24 * time.Hour),
		Log:              Log{Level: LevelInfo, Format: FormatText},
	}
}

// centralVar is one environment variable of Central.
type centralVar struct {
	name   string
	secret bool
	index  []int
}

// centralVars lists Central's variables in declaration order.
func centralVars() []centralVar {
	var out []centralVar
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			if name := sf.Tag.Get("env"); name != "" {
				out = append(out, centralVar{name: name, secret: sf.Tag.Get("secret") == "true", index: idx})
				continue
			}
			if isSection(sf.Type) {
				walk(sf.Type, idx)
			}
		}
	}
	walk(reflect.TypeFor[Central](), nil)
	return out
}

// CentralVariables returns the names of every variable LoadCentral reads,
// in declaration order (for docs and tests).
func CentralVariables() []string {
	var out []string
	for _, v := range centralVars() {
		out = append(out, v.name)
	}
	return out
}

// LoadCentral reads central's configuration: DefaultCentral, then the
// RUSTGUARD_* variables, then Validate. lookup reads one variable (nil:
// os.LookupEnv); an empty variable counts as unset, as in caarlos0/env.
func LoadCentral(lookup func(string) (string, bool)) (Central, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := DefaultCentral()
	var errs []error
	// One variable per pass, so an error names the variable, not the Go
	// field (applyEnv does the same for the edge).
	for _, v := range centralVars() {
		val, ok := lookup(v.name)
		if !ok || val == "" {
			continue
		}
		if err := env.ParseWithOptions(&c, env.Options{Environment: map[string]string{v.name: val}}); err != nil {
			shown := val
			if v.secret {
				shown = redactedMark
			}
			errs = append(errs, fmt.Errorf("environment %s=%q: %w", v.name, shown, unwrapEnvError(err)))
		}
	}
	if len(errs) > 0 {
		return Central{}, errors.Join(errs...)
	}
	if err := c.Validate(); err != nil {
		return Central{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return c, nil
}

// Validate checks every setting and returns all problems at once, each a
// *FieldError naming the environment variable.
func (c Central) Validate() error {
	var p problems
	checkHostPort(&p, "RUSTGUARD_CENTRAL_HTTP_ADDR", c.HTTPAddr, true)
	grpcOn, httpOn := c.OTLPGRPCAddr != ListenerOff, c.OTLPHTTPAddr != ListenerOff
	if grpcOn {
		checkHostPort(&p, "RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR", c.OTLPGRPCAddr, true)
	}
	if httpOn {
		checkHostPort(&p, "RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR", c.OTLPHTTPAddr, true)
	}
	if !grpcOn && !httpOn {
		p.add("RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR", c.OTLPGRPCAddr, "at least one OTLP listener must be on: central receives the edges' traces through it")
	}
	listeners := [][2]string{
		{"RUSTGUARD_CENTRAL_HTTP_ADDR", c.HTTPAddr},
		{"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR", c.OTLPGRPCAddr},
		{"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR", c.OTLPHTTPAddr},
	}
	for i, a := range listeners {
		for _, b := range listeners[i+1:] {
			if a[1] != ListenerOff && b[1] != ListenerOff && sameListener(a[1], b[1]) {
				p.add(b[0], b[1], "collides with "+a[0])
			}
		}
	}

	switch {
	case c.RedisURL == "":
		p.add("RUSTGUARD_REDIS_URL", "", "is required: central aggregates detections in Redis and writes the edges' ban list there")
	case !hasRedisScheme(c.RedisURL):
		p.add("RUSTGUARD_REDIS_URL", redactedMark, "must start with redis://, rediss://, redis+cluster:// or rediss+cluster://")
	}
	switch {
	case c.RedisKeyPrefix == "" || len(c.RedisKeyPrefix) > maxKeyPrefixLen:
		p.add("RUSTGUARD_REDIS_KEY_PREFIX", c.RedisKeyPrefix, fmt.Sprintf("must be 1 to %d characters", maxKeyPrefixLen))
	case strings.ContainsAny(c.RedisKeyPrefix, "{} \t\r\n"):
		p.add("RUSTGUARD_REDIS_KEY_PREFIX", c.RedisKeyPrefix, "must not contain braces (they would move the keys' hash tags) or white space")
	}

	checkToken(&p, "RUSTGUARD_ADMIN_TOKEN", c.AdminToken, true)
	checkToken(&p, "RUSTGUARD_INGEST_TOKEN", c.IngestToken, false)
	if c.IngestToken != "" && c.IngestToken == c.AdminToken {
		p.add("RUSTGUARD_INGEST_TOKEN", redactedMark, "must differ from RUSTGUARD_ADMIN_TOKEN: every edge holds the ingest token, and it must not open the operator API")
	}
	if c.IngestToken == "" {
		for _, l := range [][2]string{{"RUSTGUARD_CENTRAL_OTLP_GRPC_ADDR", c.OTLPGRPCAddr}, {"RUSTGUARD_CENTRAL_OTLP_HTTP_ADDR", c.OTLPHTTPAddr}} {
			if l[1] != ListenerOff && !loopbackListener(l[1]) {
				p.add("RUSTGUARD_INGEST_TOKEN", "", fmt.Sprintf("is required while %s=%s listens beyond loopback: forged detections could get honest players banned", l[0], l[1]))
				break
			}
		}
	}

	checkJaegerUI(&p, c.JaegerUIURL)
	checkIntRange(&p, "RUSTGUARD_CENTRAL_DETECTIONS_MAX_LEN", c.DetectionsMaxLen, minDetectionsMaxLen, maxDetectionsMaxLen)
	checkDuration(&p, "RUSTGUARD_CENTRAL_DETECTIONS_MAX_AGE", c.DetectionsMaxAge, minDetectionsMaxAge, maxDetectionsMaxAge)

	switch c.Log.Level {
	case LevelDebug, LevelInfo, LevelWarn, LevelError:
	default:
		p.add("RUSTGUARD_LOG_LEVEL", c.Log.Level, "must be one of debug, info, warn, error")
	}
	switch c.Log.Format {
	case FormatText, FormatJSON:
	default:
		p.add("RUSTGUARD_LOG_FORMAT", c.Log.Format, "must be text or json")
	}
	return errors.Join(p...)
}

// checkToken wants a token of MinTokenLen to maxTokenLen printable ASCII
// characters (it travels in an HTTP header); required says whether it may
// be empty. The value is never repeated in the error.
func checkToken(p *problems, name, v string, required bool) {
	if v == "" {
		if required {
			p.add(name, "", "is required: every /v1 endpoint of the API needs it")
		}
		return
	}
	if len(v) < MinTokenLen || len(v) > maxTokenLen {
		p.add(name, redactedMark, fmt.Sprintf("must be %d to %d characters (a short token can be guessed)", MinTokenLen, maxTokenLen))
		return
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			p.add(name, redactedMark, "must be printable ASCII without spaces (it travels in an HTTP header)")
			return
		}
	}
}

// maxJaegerUIURLLen keeps the link base short enough to sit in every
// link of a page of detections.
const maxJaegerUIURLLen = 512

// checkJaegerUI wants an absolute http or https URL with a host and
// nothing a link base cannot carry (a query, a fragment, credentials).
func checkJaegerUI(p *problems, v string) {
	const name = "RUSTGUARD_CENTRAL_JAEGER_UI_URL"
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	switch {
	case len(v) > maxJaegerUIURLLen:
		p.add(name, v[:32]+"…", fmt.Sprintf("must be at most %d characters", maxJaegerUIURLLen))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.add(name, v, "must be an http:// or https:// URL of the Jaeger UI, such as http://jaeger.internal:16686")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(v, "?") || strings.HasSuffix(v, "#"):
		p.add(name, v, "must be a base address without credentials, query or fragment: /trace/<id> is appended")
	}
}

func hasRedisScheme(u string) bool {
	for _, s := range []string{"redis://", "rediss://", "redis+cluster://", "rediss+cluster://"} {
		if strings.HasPrefix(u, s) {
			return true
		}
	}
	return false
}

// loopbackListener reports whether a listen address binds loopback only:
// a loopback IP or "localhost". An empty host or a wildcard binds every
// interface; any other name may resolve anywhere.
func loopbackListener(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// LogValue implements slog.LogValuer: every variable and its value, the
// secrets masked, so logging a Central is safe.
func (c Central) LogValue() slog.Value {
	v := reflect.ValueOf(c)
	attrs := make([]slog.Attr, 0, len(centralVars()))
	for _, f := range centralVars() {
		val := formatValue(v.FieldByIndex(f.index))
		if f.secret && val != "" {
			val = redactedMark
		}
		attrs = append(attrs, slog.String(f.name, val))
	}
	return slog.GroupValue(attrs...)
}

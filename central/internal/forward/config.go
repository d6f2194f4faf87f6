package forward

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Protocols of the OTLP exporter specification.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolHTTPJSON     = "http/json"
)

// Defaults of the OTLP exporter specification.
const (
	// defaultProtocol is the specification's default.
	defaultProtocol = ProtocolHTTPProtobuf
	// defaultTimeout is OTEL_EXPORTER_OTLP_TIMEOUT's default (10 s).
	defaultTimeout = 10 * time.Second
	// maxHeaders and maxHeaderLen bound OTEL_EXPORTER_OTLP_HEADERS: a few
	// credentials, not a document.
	maxHeaders   = 64
	maxHeaderLen = 8 << 10
)

// Config is the forward target, as the standard exporter variables
// describe it.
type Config struct {
	Protocol string
	// Endpoint is host:port for gRPC and the full URL (…/v1/traces) for
	// HTTP.
	Endpoint string
	// Insecure: gRPC without TLS.
	Insecure    bool
	Headers     map[string]string
	Timeout     time.Duration
	Compression string // "gzip" or ""
	TLS         *tls.Config
}

// String describes the target without its headers (they hold secrets).
func (c Config) String() string {
	return fmt.Sprintf("%s %s", c.Protocol, c.Endpoint)
}

// FromEnv reads the forward target from the standard OpenTelemetry
// exporter variables, the traces-specific form of each winning over the
// general one: OTEL_EXPORTER_OTLP_{TRACES_,}{ENDPOINT,PROTOCOL,HEADERS,
// TIMEOUT,COMPRESSION,INSECURE,CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY}.
// ok is false when no endpoint is set or OTEL_TRACES_EXPORTER is "none":
// central then forwards nothing. lookup reads one variable (nil:
// os.LookupEnv).
func FromEnv(lookup func(string) (string, bool)) (c Config, ok bool, err error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	get := func(name string) (string, string) {
		if v, ok := lookup("OTEL_EXPORTER_OTLP_TRACES_" + name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), "OTEL_EXPORTER_OTLP_TRACES_" + name
		}
		if v, ok := lookup("OTEL_EXPORTER_OTLP_" + name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), "OTEL_EXPORTER_OTLP_" + name
		}
		return "", ""
	}
	if v, _ := lookup("OTEL_TRACES_EXPORTER"); strings.TrimSpace(v) == "none" {
		return Config{}, false, nil
	}
	endpoint, endpointVar := get("ENDPOINT")
	if endpoint == "" {
		return Config{}, false, nil
	}
	c = Config{Protocol: defaultProtocol, Timeout: defaultTimeout}
	if p, pv := get("PROTOCOL"); p != "" {
		switch p {
		case ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON:
			c.Protocol = p
		default:
			return Config{}, false, fmt.Errorf("%s=%q: want grpc, http/protobuf or http/json", pv, p)
		}
	}
	insecure := false
	if v, vv := get("INSECURE"); v != "" {
		if insecure, err = strconv.ParseBool(v); err != nil {
			return Config{}, false, fmt.Errorf("%s=%q: want true or false", vv, v)
		}
	}
	if c.Protocol == ProtocolGRPC {
		if c.Endpoint, c.Insecure, err = grpcEndpoint(endpoint, insecure); err != nil {
			return Config{}, false, fmt.Errorf("%s: %w", endpointVar, err)
		}
	} else {
		if c.Endpoint, err = httpEndpoint(endpoint, endpointVar == "OTEL_EXPORTER_OTLP_ENDPOINT"); err != nil {
			return Config{}, false, fmt.Errorf("%s: %w", endpointVar, err)
		}
	}
	if h, hv := get("HEADERS"); h != "" {
		if c.Headers, err = parseHeaders(h); err != nil {
			return Config{}, false, fmt.Errorf("%s: %w", hv, err)
		}
	}
	if v, vv := get("TIMEOUT"); v != "" {
		ms, err := strconv.ParseUint(v, 10, 32)
		if err != nil || ms == 0 {
			return Config{}, false, fmt.Errorf("%s=%q: want a positive number of milliseconds", vv, v)
		}
		c.Timeout = time.Duration(ms) * time.Millisecond
	}
	if v, vv := get("COMPRESSION"); v != "" {
		switch v {
		case "gzip":
			c.Compression = "gzip"
		case "none":
		default:
			return Config{}, false, fmt.Errorf("%s=%q: want gzip or none", vv, v)
		}
	}
	ca, _ := get("CERTIFICATE")
	cert, _ := get("CLIENT_CERTIFICATE")
	key, _ := get("CLIENT_KEY")
	if ca != "" || cert != "" || key != "" {
		if c.TLS, err = tlsConfig(ca, cert, key); err != nil {
			return Config{}, false, err
		}
	}
	return c, true, nil
}

// grpcEndpoint reads a gRPC target: a URL (http:// is plain text, https://
// is TLS) or host:port (TLS unless insecure).
func grpcEndpoint(v string, insecure bool) (string, bool, error) {
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil {
			return "", false, fmt.Errorf("%q is not a URL: %w", v, err)
		}
		switch u.Scheme {
		case "http":
			insecure = true
		case "https":
			insecure = false
		default:
			return "", false, fmt.Errorf("%q: scheme must be http or https", v)
		}
		v = u.Host
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" || port == "" {
		return "", false, fmt.Errorf("%q: want host:port or a URL", v)
	}
	return v, insecure, nil
}

// httpEndpoint reads an HTTP target. The general variable is a base URL
// to which the signal path is appended; the traces variable is used as is.
func httpEndpoint(v string, base bool) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q: want an http:// or https:// URL", v)
	}
	if base {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// parseHeaders reads the W3C-baggage-like list key1=value1,key2=value2,
// values percent-encoded.
func parseHeaders(v string) (map[string]string, error) {
	if len(v) > maxHeaderLen {
		return nil, fmt.Errorf("over %d bytes", maxHeaderLen)
	}
	out := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %q: want key=value", cutShown(pair))
		}
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("value of %q is not percent-encoded: %w", k, err)
		}
		out[k] = dec
		if len(out) > maxHeaders {
			return nil, fmt.Errorf("more than %d headers", maxHeaders)
		}
	}
	return out, nil
}

func cutShown(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

func tlsConfig(ca, cert, key string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE %s: no PEM certificate", ca)
		}
		c.RootCAs = pool
	}
	if (cert == "") != (key == "") {
		return nil, errors.New("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY go together")
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

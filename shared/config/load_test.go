package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// envMap returns a lookup over a fixed map, so tests never touch the process
// environment.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeFile writes a config file in a fresh temp dir and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// normalize makes an empty trusted_proxies list compare equal to nil.
func normalize(e Edge) Edge {
	if len(e.Proxy.TrustedProxies) == 0 {
		e.Proxy.TrustedProxies = nil
	}
	if len(e.Detection.Checks) == 0 {
		e.Detection.Checks = nil
	}
	if len(e.Detection.RecordPlayers) == 0 {
		e.Detection.RecordPlayers = nil
	}
	if len(e.Discovery.Routes) == 0 {
		e.Discovery.Routes = nil
	}
	if len(e.Gate.AllowedHosts) == 0 {
		e.Gate.AllowedHosts = nil
	}
	if len(e.Gate.AllowedProtocols) == 0 {
		e.Gate.AllowedProtocols = nil
	}
	if len(e.Gate.DeniedProtocols) == 0 {
		e.Gate.DeniedProtocols = nil
	}
	if len(e.Auth.Routes) == 0 {
		e.Auth.Routes = nil
	}
	return e
}

func TestDefaultsMatchDesignNote(t *testing.T) {
	e, prov, err := LoadEdge(envMap(nil))
	if err != nil {
		t.Fatalf("LoadEdge with no file and no env: %v", err)
	}
	if !reflect.DeepEqual(e, DefaultEdge()) {
		t.Fatalf("LoadEdge() = %+v; want DefaultEdge()", e)
	}
	if err := DefaultEdge().Validate(); err != nil {
		t.Fatalf("DefaultEdge().Validate() = %v", err)
	}
	if prov.File != "" || len(prov.Fields(SourceFile)) != 0 || len(prov.Fields(SourceEnv)) != 0 {
		t.Fatalf("provenance = %+v; want everything default", prov)
	}
	// The original design's (docs/DESIGN.md) "Configuration" section, value by value.
	tests := []struct {
		name      string
		got, want any
	}{
		{"listen_address", e.Proxy.ListenAddress, "0.0.0.0:25565"},
		{"server_address", e.Proxy.ServerAddress, "127.0.0.1:25566"},
		{"timeout", e.Proxy.Timeout.D(), 30 * time.Second},
		{"max_connections", e.Proxy.MaxConnections, 1000},
		{"buffer_size", e.Proxy.BufferSize, 4096},
		{"enable_tcp_nodelay", e.Proxy.EnableTCPNoDelay, true},
		{"enable_keepalive", e.Proxy.EnableKeepalive, true},
		{"keepalive_interval", e.Proxy.KeepaliveInterval.D(), 60 * time.Second},
		{"region", e.Region, "local"},
		{"admin.listen_address", e.Admin.ListenAddress, "127.0.0.1:9565"},
		{"login_timeout", e.Proxy.LoginTimeout.D(), 30 * time.Second},
		{"log.level", e.Log.Level, "info"},
		{"log.format", e.Log.Format, "text"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("default %s = %v; want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestLayering(t *testing.T) {
	file := `
region: eu-west
proxy:
  server_address: "10.1.2.3:25565"
  timeout: 45
  max_connections: 200
status:
  fallback_motd: "from the file"
`
	tests := []struct {
		name     string
		env      map[string]string
		check    func(t *testing.T, e Edge)
		fromFile []string
		fromEnv  []string
	}{
		{
			name: "file over defaults, partial file keeps other defaults",
			check: func(t *testing.T, e Edge) {
				want := DefaultEdge()
				want.Region = "eu-west"
				want.Proxy.ServerAddress = "10.1.2.3:25565"
				want.Proxy.Timeout = Duration(45 * time.Second)
				want.Proxy.MaxConnections = 200
				want.Status.FallbackMOTD = "from the file"
				if !reflect.DeepEqual(e, want) {
					t.Errorf("got  %+v\nwant %+v", e, want)
				}
			},
			fromFile: []string{"proxy.max_connections", "proxy.server_address", "proxy.timeout", "region", "status.fallback_motd"},
		},
		{
			name: "env over file and defaults",
			env: map[string]string{
				"RUSTGUARD_MAX_CONNECTIONS": "300",
				"RUSTGUARD_TIMEOUT":         "1m",
				"RUSTGUARD_LOG_LEVEL":       "debug",
				"RUSTGUARD_TCP_NODELAY":     "false",
				"RUSTGUARD_ADMIN_ADDR":      "0.0.0.0:9100",
				"RUSTGUARD_REGION":          "", // empty counts as unset
			},
			check: func(t *testing.T, e Edge) {
				want := DefaultEdge()
				want.Region = "eu-west"
				want.Proxy.ServerAddress = "10.1.2.3:25565"
				want.Proxy.Timeout = Duration(time.Minute)
				want.Proxy.MaxConnections = 300
				want.Proxy.EnableTCPNoDelay = false
				want.Status.FallbackMOTD = "from the file"
				want.Admin.ListenAddress = "0.0.0.0:9100"
				want.Log.Level = "debug"
				if !reflect.DeepEqual(e, want) {
					t.Errorf("got  %+v\nwant %+v", e, want)
				}
			},
			fromFile: []string{"proxy.server_address", "region", "status.fallback_motd"},
			fromEnv:  []string{"admin.listen_address", "log.level", "proxy.enable_tcp_nodelay", "proxy.max_connections", "proxy.timeout"},
		},
	}
	path := writeFile(t, file)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{EnvConfigFile: path}
			for k, v := range tt.env {
				m[k] = v
			}
			e, prov, err := LoadEdge(envMap(m))
			if err != nil {
				t.Fatalf("LoadEdge: %v", err)
			}
			tt.check(t, e)
			if prov.File != path {
				t.Errorf("prov.File = %q; want %q", prov.File, path)
			}
			if got := prov.Fields(SourceFile); !reflect.DeepEqual(got, tt.fromFile) {
				t.Errorf("from file = %v; want %v", got, tt.fromFile)
			}
			if got := prov.Fields(SourceEnv); !reflect.DeepEqual(got, tt.fromEnv) {
				t.Errorf("from env = %v; want %v", got, tt.fromEnv)
			}
			if got := prov.Source("proxy.buffer_size"); got != SourceDefault {
				t.Errorf("Source(proxy.buffer_size) = %v; want default", got)
			}
		})
	}
}

func TestDurationSpellings(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want time.Duration
		get  func(Edge) Duration
	}{
		{"timeout file int", "proxy:\n  timeout: 30\n", nil, 30 * time.Second, func(e Edge) Duration { return e.Proxy.Timeout }},
		{"timeout file string", "proxy:\n  timeout: 30s\n", nil, 30 * time.Second, func(e Edge) Duration { return e.Proxy.Timeout }},
		{"timeout file quoted int", "proxy:\n  timeout: \"40\"\n", nil, 40 * time.Second, func(e Edge) Duration { return e.Proxy.Timeout }},
		{"timeout env int", "", map[string]string{"RUSTGUARD_TIMEOUT": "30"}, 30 * time.Second, func(e Edge) Duration { return e.Proxy.Timeout }},
		{"timeout env string", "", map[string]string{"RUSTGUARD_TIMEOUT": "30s"}, 30 * time.Second, func(e Edge) Duration { return e.Proxy.Timeout }},
		{"keepalive file int", "proxy:\n  keepalive_interval: 120\n", nil, 120 * time.Second, func(e Edge) Duration { return e.Proxy.KeepaliveInterval }},
		{"keepalive file string", "proxy:\n  keepalive_interval: 2m\n", nil, 2 * time.Minute, func(e Edge) Duration { return e.Proxy.KeepaliveInterval }},
		{"keepalive env int", "", map[string]string{"RUSTGUARD_KEEPALIVE_INTERVAL": "15"}, 15 * time.Second, func(e Edge) Duration { return e.Proxy.KeepaliveInterval }},
		{"keepalive env string", "", map[string]string{"RUSTGUARD_KEEPALIVE_INTERVAL": "15s"}, 15 * time.Second, func(e Edge) Duration { return e.Proxy.KeepaliveInterval }},
		{"status ttl env", "", map[string]string{"RUSTGUARD_STATUS_CACHE_TTL": "1500ms"}, 1500 * time.Millisecond, func(e Edge) Duration { return e.Status.CacheTTL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range tt.env {
				m[k] = v
			}
			if tt.file != "" {
				m[EnvConfigFile] = writeFile(t, tt.file)
			}
			e, _, err := LoadEdge(envMap(m))
			if err != nil {
				t.Fatalf("LoadEdge: %v", err)
			}
			if got := tt.get(e).D(); got != tt.want {
				t.Fatalf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "does-not-exist.yaml")
	tests := []struct {
		name   string
		file   string // written to a temp file unless path is set
		path   string
		env    map[string]string
		want   []string // substrings of the error
		wantIs error
	}{
		{
			name:   "unknown key names key and line",
			file:   "region: x\nproxy:\n  listen_addr: \"0.0.0.0:1\"\n",
			want:   []string{`line 3: unknown key "proxy.listen_addr"; did you mean "proxy.listen_address"?`},
			wantIs: ErrUnknownKey,
		},
		{
			name:   "unknown section",
			file:   "proxyy:\n  timeout: 3\n",
			want:   []string{`line 1: unknown key "proxyy"; did you mean "proxy"?`},
			wantIs: ErrUnknownKey,
		},
		{
			name: "missing file names the path",
			path: missing,
			want: []string{missing, "no such file"},
		},
		{
			name: "directory names the path",
			path: dir,
			want: []string{dir},
		},
		{
			name: "bad yaml type names key and line",
			file: "proxy:\n  max_connections: many\n",
			want: []string{"line 2: proxy.max_connections: cannot unmarshal"},
		},
		{
			name: "bad duration in file",
			file: "\nproxy:\n  timeout: soon\n",
			want: []string{`line 3: proxy.timeout: invalid duration "soon"`},
		},
		{
			name: "bad CIDR in file",
			file: "proxy:\n  trusted_proxies: [\"10.0.0.0/8\", \"nonsense\"]\n",
			want: []string{"line 2: proxy.trusted_proxies:", `"nonsense"`},
		},
		{
			name: "section that is not a mapping",
			file: "proxy: 5\n",
			want: []string{"line 1: proxy: must be a mapping"},
		},
		{
			name: "two documents",
			file: "region: a\n---\nregion: b\n",
			want: []string{"line 2", "second YAML document"},
		},
		{
			name: "invalid value from file is validated",
			file: "proxy:\n  max_connections: 0\n",
			want: []string{`proxy.max_connections = "0": must be at least 1`},
		},
		{
			name: "bad duration in env names the variable",
			env:  map[string]string{"RUSTGUARD_TIMEOUT": "soon"},
			want: []string{`environment RUSTGUARD_TIMEOUT="soon": invalid duration`},
		},
		{
			name: "bad int in env names the variable",
			env:  map[string]string{"RUSTGUARD_MAX_CONNECTIONS": "lots", "RUSTGUARD_TCP_NODELAY": "maybe"},
			want: []string{`RUSTGUARD_MAX_CONNECTIONS="lots"`, `RUSTGUARD_TCP_NODELAY="maybe"`},
		},
		{
			name: "bad CIDR in env",
			env:  map[string]string{"RUSTGUARD_TRUSTED_PROXIES": "10.0.0.0/8,bogus"},
			want: []string{"RUSTGUARD_TRUSTED_PROXIES", "bogus"},
		},
		{
			name: "invalid value from env is validated",
			env:  map[string]string{"RUSTGUARD_BUFFER_SIZE": "100"},
			want: []string{`proxy.buffer_size = "100": must be at least 512`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range tt.env {
				m[k] = v
			}
			switch {
			case tt.path != "":
				m[EnvConfigFile] = tt.path
			case tt.file != "":
				m[EnvConfigFile] = writeFile(t, tt.file)
			}
			_, _, err := LoadEdge(envMap(m))
			if err == nil {
				t.Fatal("LoadEdge succeeded; want an error")
			}
			t.Logf("error: %v", err)
			for _, w := range tt.want {
				if !contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}

func TestFileTooLarge(t *testing.T) {
	big := "region: x\n" + strings.Repeat("# padding\n", maxFileSize/10+1)
	_, _, err := LoadEdge(envMap(map[string]string{EnvConfigFile: writeFile(t, big)}))
	if !errors.Is(err, ErrFileTooLarge) {
		t.Fatalf("LoadEdge(big file) = %v; want ErrFileTooLarge", err)
	}
}

func TestFileEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		file string
	}{
		{"empty file", ""},
		{"only comments", "# nothing here\n"},
		{"null document", "~\n"},
		{"empty sections", "proxy:\nstatus: {}\n"},
		{"null leaf keeps default", "proxy:\n  timeout:\n  buffer_size: ~\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, prov, err := LoadEdge(envMap(map[string]string{EnvConfigFile: writeFile(t, tt.file)}))
			if err != nil {
				t.Fatalf("LoadEdge: %v", err)
			}
			if !reflect.DeepEqual(e, DefaultEdge()) {
				t.Errorf("got %+v; want defaults", e)
			}
			if got := prov.Fields(SourceFile); len(got) != 0 {
				t.Errorf("from file = %v; want none", got)
			}
		})
	}
}

func TestTrustedProxies(t *testing.T) {
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		name string
		env  map[string]string
		file string
	}{
		{name: "env", env: map[string]string{"RUSTGUARD_TRUSTED_PROXIES": "10.0.0.0/8,2001:db8::/32"}},
		{name: "file", file: "proxy:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - \"2001:db8::/32\"\n"},
		{name: "env over file", file: "proxy:\n  trusted_proxies: [192.168.0.0/16]\n",
			env: map[string]string{"RUSTGUARD_TRUSTED_PROXIES": "10.0.0.0/8,2001:db8::/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range tt.env {
				m[k] = v
			}
			if tt.file != "" {
				m[EnvConfigFile] = writeFile(t, tt.file)
			}
			e, _, err := LoadEdge(envMap(m))
			if err != nil {
				t.Fatalf("LoadEdge: %v", err)
			}
			if !reflect.DeepEqual(e.Proxy.TrustedProxies, want) {
				t.Fatalf("trusted_proxies = %v; want %v", e.Proxy.TrustedProxies, want)
			}
		})
	}
}

// TestRoundTrip: the defaults written out as YAML load back unchanged, so
// the document format and the Go types agree.
func TestRoundTrip(t *testing.T) {
	in := DefaultEdge()
	in.Proxy.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	in.Proxy.HandshakeTimeout = Duration(1500 * time.Millisecond)
	out, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, prov, err := LoadEdge(envMap(map[string]string{EnvConfigFile: writeFile(t, string(out))}))
	if err != nil {
		t.Fatalf("LoadEdge(marshalled config): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(normalize(got), normalize(in)) {
		t.Fatalf("round trip changed the config:\n got %+v\nwant %+v\n%s", got, in, out)
	}
	if n, all := len(prov.Fields(SourceFile)), len(edgeFields()); n != all {
		t.Fatalf("%d of %d fields attributed to the file", n, all)
	}
}

// TestLoadDoesNotReadProcessEnv: a variable in the process environment is
// invisible when a lookup is given.
func TestLoadDoesNotReadProcessEnv(t *testing.T) {
	t.Setenv("RUSTGUARD_REGION", "from-process")
	e, _, err := LoadEdge(envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if e.Region != "local" {
		t.Fatalf("region = %q; want the default: the process env leaked in", e.Region)
	}
	e, _, err = LoadEdge(nil) // nil means the process environment
	if err != nil {
		t.Fatal(err)
	}
	if e.Region != "from-process" {
		t.Fatalf("LoadEdge(nil) region = %q; want from-process", e.Region)
	}
}

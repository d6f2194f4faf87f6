package fleet

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestResolvePorts(t *testing.T) {
	ports, auto, err := resolvePorts(25565, 0, 0, 8080)
	if err != nil {
		t.Fatal(err)
	}
	if ports[0] != 25565 || ports[3] != 8080 || auto[0] || auto[3] {
		t.Errorf("fixed ports changed: %v %v", ports, auto)
	}
	if ports[1] == 0 || ports[2] == 0 || ports[1] == ports[2] || !auto[1] || !auto[2] {
		t.Errorf("free ports: %v %v; want two distinct ports chosen here", ports, auto)
	}
	if !anyAuto(auto) || anyAuto([]bool{false, false}) {
		t.Error("anyAuto")
	}
}

func TestBaseEnvDropsFleetSettings(t *testing.T) {
	t.Setenv("RUSTGUARD_REGION", "mars")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://elsewhere:4317")
	t.Setenv("CONSUL_HTTP_TOKEN", "secret")
	t.Setenv("FLEET_TEST_KEEP", "kept")
	env := strings.Join(baseEnv(), "\n")
	for _, gone := range []string{"RUSTGUARD_REGION=", "OTEL_EXPORTER_OTLP_ENDPOINT=", "CONSUL_HTTP_TOKEN="} {
		if strings.Contains(env, gone) {
			t.Errorf("baseEnv passes %s on: a shell's settings would override the fleet's", gone)
		}
	}
	if !strings.Contains(env, "FLEET_TEST_KEEP=kept") {
		t.Error("baseEnv dropped an unrelated variable")
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadState(dir); !errors.Is(err, ErrNoFleet) {
		t.Fatalf("ReadState without a fleet: %v, want ErrNoFleet", err)
	}
	want := State{PID: 42, AdminToken: "t0ken", Centrals: []string{"http://127.0.0.1:8080"},
		Edges: []StateEdge{{Region: "eu", Instance: "edge-eu", Addr: "127.0.0.1:25565", Admin: "127.0.0.1:9565"}}}
	if err := WriteState(dir, want); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v: it holds the admin token, want 0600", st.Mode().Perm())
	}
	got, err := ReadState(dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadState = %+v, %v; want %+v", got, err, want)
	}
	if err := RemoveState(dir); err != nil {
		t.Fatal(err)
	}
	if err := RemoveState(dir); err != nil {
		t.Errorf("RemoveState twice: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestOptionsRefused(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, nil, 0o700); err != nil {
		t.Fatal(err)
	}
	full := Options{Dir: dir, EdgeBin: bin, CentralBin: bin, ConsulBin: bin, JaegerBin: bin, RedisBin: bin, NodeBin: bin,
		ScriptsDir: dir, Regions: []Region{{Name: "eu"}}}
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no directory", func(o *Options) { o.Dir = "" }, "Dir required"},
		{"no regions", func(o *Options) { o.Regions = nil }, "at least one region"},
		{"same region twice", func(o *Options) { o.Regions = []Region{{Name: "eu"}, {Name: "eu"}} }, "distinct"},
		{"missing binary", func(o *Options) { o.EdgeBin = filepath.Join(dir, "nope") }, "nope"},
		{"no npm packages", func(o *Options) {}, "flying-squid is not installed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := full
			tc.change(&o)
			err := o.complete()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("complete() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestFixedPortsChecked(t *testing.T) {
	taken, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", loopback(taken[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	free, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"taken", Options{Regions: []Region{{Name: "eu"}}, CentralPort: taken[0]}, "central: port"},
		{"twice", Options{Regions: []Region{{Name: "eu", Port: free[0]}}, BackendPort: free[0]}, "both edge-eu and backend"},
		{"free", Options{Regions: []Region{{Name: "eu", Port: free[0]}}}, ""},
	}
	for _, tc := range tests {
		err := tc.o.checkFixedPorts()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: checkFixedPorts() = %v, want %q", tc.name, err, tc.want)
		}
	}
}

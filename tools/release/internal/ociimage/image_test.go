package ociimage

import (
	"archive/tar"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const testCA = `-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUTestOnlyNotARealCertificate0wCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----
`

// buildTiny builds a small static Go program for goarch, standing in for
// a release binary (the writer only needs an ELF executable for the
// platform; building the real edge twice would cost the quick test a
// minute).
func buildTiny(t *testing.T, goarch string, cgo bool) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"rustguard\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tiny-"+goarch)
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "GOWORK=off", "GOFLAGS=-mod=mod")
	if cgo {
		// A Go program using the C library's resolver links dynamically.
		if err := os.WriteFile(src, []byte("package main\n\nimport \"os/user\"\n\nfunc main() { _, _ = user.Current() }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	} else {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build a %s test binary here: %v\n%s", goarch, err, msg)
	}
	return out
}

func testSpec(t *testing.T) Spec {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, []byte(testCA), 0o644); err != nil {
		t.Fatal(err)
	}
	return Spec{
		Name: "rustguard-edge", Description: "RustGuard edge", Version: "v9.9.9", Revision: "0123456789abcdef",
		Created: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Licenses: "Apache-2.0",
		Binaries: map[string]string{"linux/amd64": buildTiny(t, "amd64", false), "linux/arm64": buildTiny(t, "arm64", false)},
		CABundle: ca, Ports: []string{"25565/tcp", "9565/tcp"},
	}
}

// TestArchiveReadsBack: the archive holds a valid multi-platform index
// (digests and sizes check out) tagged with the version, one image per
// platform with the binary as entrypoint, the non-root user, the labels,
// the CA bundle, the platform's own binary, and a registry takes it.
func TestArchiveReadsBack(t *testing.T) {
	s := testSpec(t)
	idx, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "edge.oci.tar")
	if err := WriteArchive(idx, s.Version, archive, s.Created); err != nil {
		t.Fatal(err)
	}
	back, ref, err := ReadArchive(archive, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if ref != s.Version {
		t.Errorf("tag %q, want %q", ref, s.Version)
	}
	if err := validate.Index(back); err != nil {
		t.Fatalf("the index read back is not valid: %v", err)
	}
	im, err := back.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.Annotations[LabelVersion] != s.Version || im.Annotations[LabelRevision] != s.Revision {
		t.Errorf("index annotations %v", im.Annotations)
	}
	platforms := map[string]bool{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		p := d.Platform.OS + "/" + d.Platform.Architecture
		platforms[p] = true
		img, err := back.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		if cf.OS+"/"+cf.Architecture != p {
			t.Errorf("%s: config says %s/%s", p, cf.OS, cf.Architecture)
		}
		if len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/usr/local/bin/rustguard-edge" {
			t.Errorf("%s: entrypoint %v", p, c.Entrypoint)
		}
		if c.User != "65532:65532" {
			t.Errorf("%s: user %q, want the non-root 65532:65532", p, c.User)
		}
		for k, want := range map[string]string{LabelTitle: "rustguard-edge", LabelVersion: "v9.9.9", LabelRevision: "0123456789abcdef",
			LabelCreated: "2026-12-07T10:00:00Z", LabelLicenses: "Apache-2.0", LabelDescription: "RustGuard edge"} {
			if c.Labels[k] != want {
				t.Errorf("%s: label %s = %q, want %q", p, k, c.Labels[k], want)
			}
		}
		if _, ok := c.ExposedPorts["25565/tcp"]; !ok {
			t.Errorf("%s: ports %v", p, c.ExposedPorts)
		}
		files := imageFiles(t, img)
		wantBin, _ := os.ReadFile(s.Binaries[p])
		if got := files["usr/local/bin/rustguard-edge"]; got.body != string(wantBin) || got.mode&0o111 == 0 || got.uid != 0 {
			t.Errorf("%s: the binary in the image is not %s, executable and root-owned (mode %o uid %d)", p, s.Binaries[p], got.mode, got.uid)
		}
		if files["etc/ssl/certs/ca-certificates.crt"].body != testCA {
			t.Errorf("%s: the CA bundle is not in the image", p)
		}
		if !strings.Contains(files["etc/passwd"].body, "nonroot:x:65532:65532:") {
			t.Errorf("%s: /etc/passwd lacks the non-root user: %q", p, files["etc/passwd"].body)
		}
		if h := files["home/nonroot/"]; h.uid != UID {
			t.Errorf("%s: the non-root user's home is owned by %d", p, h.uid)
		}
		if files["tmp/"].mode&0o1777 != 0o1777 {
			t.Errorf("%s: /tmp mode %o", p, files["tmp/"].mode)
		}
	}
	if len(platforms) != 2 || !platforms["linux/amd64"] || !platforms["linux/arm64"] {
		t.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}

	// A registry takes it: push the index to an in-process registry and
	// pull it again by tag.
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	tag, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://")+"/rustguard/edge:"+s.Version, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, back); err != nil {
		t.Fatalf("push: %v", err)
	}
	pulled, err := remote.Index(tag)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	want, _ := back.Digest()
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("pulled %s, pushed %s", got, want)
	}
	if err := validate.Index(pulled); err != nil {
		t.Errorf("pulled index: %v", err)
	}

	// Same inputs, same archive: the images are reproducible.
	again := filepath.Join(t.TempDir(), "again.oci.tar")
	idx2, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteArchive(idx2, s.Version, again, s.Created); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(archive)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Error("two builds from the same inputs differ")
	}
}

// TestBuildRefuses: what cannot run in a distroless image, or is not for
// the platform it claims, is refused before anything is written.
func TestBuildRefuses(t *testing.T) {
	s := testSpec(t)
	cases := map[string]func(*Spec){
		"wrong machine": func(s *Spec) { s.Binaries = map[string]string{"linux/arm64": s.Binaries["linux/amd64"]} },
		"bad platform":  func(s *Spec) { s.Binaries = map[string]string{"windows/amd64": s.Binaries["linux/amd64"]} },
		"not a binary":  func(s *Spec) { s.Binaries = map[string]string{"linux/amd64": s.CABundle} },
		"no CA bundle":  func(s *Spec) { s.CABundle = "" },
		"no version":    func(s *Spec) { s.Version = "" },
		"CA not PEM": func(s *Spec) {
			f := filepath.Join(t.TempDir(), "x")
			_ = os.WriteFile(f, []byte("nope"), 0o644)
			s.CABundle = f
		},
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		if _, err := exec.LookPath("gcc"); err == nil {
			dyn := buildTiny(t, "amd64", true)
			cases["dynamically linked"] = func(s *Spec) { s.Binaries = map[string]string{"linux/amd64": dyn} }
		}
	}
	for name, mutate := range cases {
		c := s
		c.Binaries = map[string]string{}
		for k, v := range s.Binaries {
			c.Binaries[k] = v
		}
		mutate(&c)
		if _, err := Build(c); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

type file struct {
	body string
	mode int64
	uid  int
}

// imageFiles reads every layer of img, the later layers winning.
func imageFiles(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]file{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			out[h.Name] = file{body: string(b), mode: h.Mode, uid: h.Uid}
		}
		rc.Close()
	}
	return out
}

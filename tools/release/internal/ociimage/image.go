// Package ociimage builds RustGuard's release images without a container
// engine: for one static binary built for several platforms, a
// distroless-style image per platform (the binary, CA certificates, a
// non-root user and nothing else) under one multi-platform index, written
// as an OCI image layout in a tar file (an "OCI archive": skopeo, podman,
// crane and registries take it).
//
// Data enters as files on disk (the binaries, the CA bundle) and a Spec;
// it leaves as the archive. ReadArchive reads one back.
package ociimage

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The non-root user every image runs as: distroless's "nonroot", so
// volume permissions and security policies written for those images fit.
const (
	UID      = 65532
	UserName = "nonroot"
	// BinDir is where the binary goes; the entrypoint is BinDir/<name>.
	BinDir = "/usr/local/bin"
	// CAPath is where the CA bundle goes: Go's crypto/x509 looks there
	// first on Linux.
	CAPath = "/etc/ssl/certs/ca-certificates.crt"
	// maxCABundle caps the CA bundle read from the build machine
	// (Debian's is about 200 KiB).
	maxCABundle = 4 << 20
)

// Spec describes one image.
type Spec struct {
	// Name is the binary's name (rustguard-edge), the entrypoint's and
	// the image title.
	Name        string
	Description string
	// Version and Revision (the commit) label the image.
	Version, Revision string
	// Created is the build time recorded in the image (use the commit's
	// time for reproducible images).
	Created time.Time
	// Source is the repository URL label; Licenses the SPDX expression.
	Source, Licenses string
	// Binaries maps a platform ("linux/amd64") to the static binary built
	// for it.
	Binaries map[string]string
	// CABundle is the CA certificates file copied to CAPath.
	CABundle string
	// Ports are the ports the image documents ("25565/tcp").
	Ports []string
}

// Label keys (the OCI image annotations specification).
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelCreated     = "org.opencontainers.image.created"
	LabelSource      = "org.opencontainers.image.source"
	LabelLicenses    = "org.opencontainers.image.licenses"
	// RefName names the index in the layout's index.json: the tag an
	// archive's consumer (skopeo, podman) gives it.
	RefName = "org.opencontainers.image.ref.name"
)

// machines is the ELF machine each supported architecture's binaries have.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

func (s Spec) validate() error {
	var errs []error
	if s.Name == "" || strings.ContainsAny(s.Name, "/ ") {
		errs = append(errs, fmt.Errorf("name %q: want a binary name", s.Name))
	}
	if s.Version == "" {
		errs = append(errs, errors.New("version: required"))
	}
	if s.Created.IsZero() {
		errs = append(errs, errors.New("created: required"))
	}
	if len(s.Binaries) == 0 {
		errs = append(errs, errors.New("binaries: at least one platform"))
	}
	if s.CABundle == "" {
		errs = append(errs, errors.New("CA bundle: required (the images make TLS connections: Redis, Consul, OTLP)"))
	}
	return errors.Join(errs...)
}

// Build makes the multi-platform index: one image per platform, each
// with a shared base layer (users, CA certificates, /tmp) and a layer
// holding the binary.
func Build(s Spec) (v1.ImageIndex, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	ca, err := readCapped(s.CABundle, maxCABundle)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	if !bytes.Contains(ca, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("CA bundle %s: no PEM certificate in it", s.CABundle)
	}
	base, err := layer(baseFiles(s.Created, ca))
	if err != nil {
		return nil, err
	}
	platforms := make([]string, 0, len(s.Binaries))
	for p := range s.Binaries {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		os, arch, ok := strings.Cut(p, "/")
		if !ok || os != "linux" || machines[arch] == 0 {
			return nil, fmt.Errorf("platform %q: want linux/amd64 or linux/arm64", p)
		}
		bin, err := staticBinary(s.Binaries[p], machines[arch])
		if err != nil {
			return nil, fmt.Errorf("%s binary: %w", p, err)
		}
		binLayer, err := layer(binaryFiles(s.Created, s.Name, bin))
		if err != nil {
			return nil, err
		}
		img, err := image(s, os, arch, base, binLayer)
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: os, Architecture: arch}}})
	}
	return mutate.Annotations(idx, s.labels()).(v1.ImageIndex), nil
}

func (s Spec) labels() map[string]string {
	l := map[string]string{
		LabelTitle:   s.Name,
		LabelVersion: s.Version,
		LabelCreated: s.Created.UTC().Format(time.RFC3339),
	}
	for k, v := range map[string]string{LabelDescription: s.Description, LabelRevision: s.Revision, LabelSource: s.Source, LabelLicenses: s.Licenses} {
		if v != "" {
			l[k] = v
		}
	}
	return l
}

func image(s Spec, os, arch string, layers ...v1.Layer) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	cf.Created = v1.Time{Time: s.Created.UTC()}
	cf.Author = ""
	cf.Config = v1.Config{
		Entrypoint: []string{path.Join(BinDir, s.Name)},
		User:       fmt.Sprintf("%d:%d", UID, UID),
		WorkingDir: "/home/" + UserName,
		Env:        []string{"PATH=" + BinDir + ":/usr/bin:/bin", "SSL_CERT_FILE=" + CAPath},
		Labels:     s.labels(),
	}
	if len(s.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range s.Ports {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	cf.History = []v1.History{
		{Created: cf.Created, CreatedBy: "rustguard release: users, CA certificates, /tmp"},
		{Created: cf.Created, CreatedBy: "rustguard release: " + path.Join(BinDir, s.Name)},
	}
	return mutate.ConfigFile(img, cf)
}

// staticBinary reads a binary and checks it can run in an image without a
// C library: an ELF executable for the platform's machine with no
// interpreter (CGO_ENABLED=0).
func staticBinary(file string, machine elf.Machine) ([]byte, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Machine != machine {
		return nil, fmt.Errorf("%s is built for %v, want %v", file, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s is dynamically linked (build with CGO_ENABLED=0): the image has no C library", file)
		}
	}
	return os.ReadFile(file)
}

func readCapped(file string, max int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: over %d bytes", file, max)
	}
	return b, nil
}

// entry is one file or directory of a layer.
type entry struct {
	name     string // without a leading slash
	mode     int64
	uid      int
	dir      bool
	contents []byte
}

func baseFiles(t time.Time, ca []byte) ([]entry, time.Time) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", UserName, UID, UID, UserName, UserName)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", UserName, UID)
	return []entry{
		{name: "etc/", dir: true, mode: 0o755},
		{name: "etc/group", mode: 0o644, contents: []byte(group)},
		// Go's resolver reads it to decide files before DNS.
		{name: "etc/nsswitch.conf", mode: 0o644, contents: []byte("hosts: files dns\n")},
		{name: "etc/passwd", mode: 0o644, contents: []byte(passwd)},
		{name: "etc/ssl/", dir: true, mode: 0o755},
		{name: "etc/ssl/certs/", dir: true, mode: 0o755},
		{name: strings.TrimPrefix(CAPath, "/"), mode: 0o644, contents: ca},
		{name: "home/", dir: true, mode: 0o755},
		{name: "home/" + UserName + "/", dir: true, mode: 0o700, uid: UID},
		{name: "root/", dir: true, mode: 0o700},
		{name: "tmp/", dir: true, mode: 0o1777},
	}, t
}

func binaryFiles(t time.Time, name string, bin []byte) ([]entry, time.Time) {
	return []entry{
		{name: "usr/", dir: true, mode: 0o755},
		{name: "usr/local/", dir: true, mode: 0o755},
		{name: "usr/local/bin/", dir: true, mode: 0o755},
		{name: "usr/local/bin/" + name, mode: 0o755, contents: bin},
	}, t
}

// layer writes entries as a tar with fixed times and owners, so the same
// inputs give the same digest, and wraps it as a gzip-compressed OCI
// layer.
func layer(entries []entry, t time.Time) (v1.Layer, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: t.UTC(), Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.contents))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.contents); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := b.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// WriteArchive writes idx as an OCI image layout in a tar file at out,
// tagged ref (the layout's org.opencontainers.image.ref.name). The tar's
// entries have fixed times and owners.
func WriteArchive(idx v1.ImageIndex, ref, out string, t time.Time) error {
	dir, err := os.MkdirTemp(filepath.Dir(out), ".oci-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{RefName: ref})); err != nil {
		return fmt.Errorf("write the layout: %w", err)
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(files)
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	tw := tar.NewWriter(f)
	for _, file := range files {
		st, err := os.Stat(file)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, file)
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: t.UTC(), Format: tar.FormatPAX, Typeflag: tar.TypeReg, Size: st.Size()}
		if st.IsDir() {
			h.Name, h.Mode, h.Typeflag, h.Size = h.Name+"/", 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !st.IsDir() {
			src, err := os.Open(file)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, src)
			src.Close()
			if err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// maxArchiveEntry caps one file read back from an archive (a layer with
// a release binary is about 20 MiB).
const maxArchiveEntry = 1 << 30

// ReadArchive unpacks an archive WriteArchive wrote into dir and returns
// its index and the ref it is tagged with.
func ReadArchive(archive, dir string) (v1.ImageIndex, string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return nil, "", fmt.Errorf("%s: entry %q leaves the archive", archive, h.Name)
		}
		target := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return nil, "", err
			}
		case tar.TypeReg:
			if h.Size > maxArchiveEntry {
				return nil, "", fmt.Errorf("%s: entry %q is %d bytes", archive, h.Name, h.Size)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return nil, "", err
			}
			out, err := os.Create(target)
			if err != nil {
				return nil, "", err
			}
			_, err = io.Copy(out, io.LimitReader(tr, h.Size))
			out.Close()
			if err != nil {
				return nil, "", err
			}
		default:
			return nil, "", fmt.Errorf("%s: entry %q is not a file or directory", archive, h.Name)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, "", err
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, "", err
	}
	im, err := top.IndexManifest()
	if err != nil {
		return nil, "", err
	}
	if len(im.Manifests) != 1 {
		return nil, "", fmt.Errorf("%s: %d entries in index.json, want one index", archive, len(im.Manifests))
	}
	idx, err := top.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		return nil, "", err
	}
	return idx, im.Manifests[0].Annotations[RefName], nil
}

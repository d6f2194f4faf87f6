// Command release writes one OCI image archive for a RustGuard binary
// (internal/ociimage): `make release` runs it once per binary with the
// static builds for every platform. This file only wires flags.
//
//	release -name rustguard-edge -version v1.2.0 -revision <commit> -created <RFC 3339> \
//	  -bin linux/amd64=dist/rustguard-edge_v1.2.0_linux_amd64 -bin linux/arm64=… \
//	  -ca /etc/ssl/certs/ca-certificates.crt -port 25565/tcp -out dist/rustguard-edge_v1.2.0_oci.tar
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rustguard/rustguard/tools/release/internal/ociimage"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s ociimage.Spec
	var bins, ports list
	var created, out string
	fs.StringVar(&s.Name, "name", "", "the binary's name (rustguard-edge, rustguard-central)")
	fs.StringVar(&s.Description, "description", "", "the image's description label")
	fs.StringVar(&s.Version, "version", "", "the release version (label and tag)")
	fs.StringVar(&s.Revision, "revision", "", "the commit the release was built from")
	fs.StringVar(&created, "created", "", "build time, RFC 3339 (the commit's time makes images reproducible)")
	fs.StringVar(&s.Source, "source", "", "the repository URL label")
	fs.StringVar(&s.Licenses, "licenses", "Apache-2.0", "SPDX licence expression")
	fs.Var(&bins, "bin", "PLATFORM=FILE, e.g. linux/amd64=dist/rustguard-edge_linux_amd64 (repeatable)")
	fs.StringVar(&s.CABundle, "ca", "/etc/ssl/certs/ca-certificates.crt", "CA certificates to put in the image (Debian's ca-certificates)")
	fs.Var(&ports, "port", "a port the image documents, e.g. 25565/tcp (repeatable)")
	fs.StringVar(&out, "out", "", "the OCI archive to write")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: release -name NAME -version V -created TIME -bin PLATFORM=FILE… -out FILE.tar [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "release: -out is required and no arguments are taken")
		return 2
	}
	t, err := time.Parse(time.RFC3339, created)
	if err != nil {
		fmt.Fprintf(stderr, "release: -created %q: %v\n", created, err)
		return 2
	}
	s.Created = t
	s.Ports = ports
	s.Binaries = map[string]string{}
	for _, b := range bins {
		p, file, ok := strings.Cut(b, "=")
		if !ok {
			fmt.Fprintf(stderr, "release: -bin %q: want PLATFORM=FILE\n", b)
			return 2
		}
		s.Binaries[p] = file
	}
	idx, err := ociimage.Build(s)
	if err == nil {
		err = ociimage.WriteArchive(idx, s.Version, out, t)
	}
	if err != nil {
		fmt.Fprintln(stderr, "release:", err)
		return 1
	}
	d, _ := idx.Digest()
	fmt.Fprintf(stdout, "%s: %s %s (%s)\n", out, s.Name, s.Version, d)
	return 0
}

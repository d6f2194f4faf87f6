// Command rustguard-edge is RustGuard's player-facing proxy. With no
// arguments and no files it runs on embedded defaults: players on
// 0.0.0.0:25565, the backend on 127.0.0.1:25566, admin on 127.0.0.1:9565.
// Configuration: a YAML file named by RUSTGUARD_CONFIG and RUSTGUARD_*
// variables (docs/CONFIG.md). This file only wires: each command lives in
// the package that owns its subject (bans, record, config).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…"; commit
// may be set the same way, otherwise it comes from the Go build info.
var (
	version = "dev"
	commit  = ""
)

// Exit statuses: 0 done (and for help), 1 the command failed, 2 the command
// line is wrong (the usual convention of flag-based tools).
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

const usage = `usage: rustguard-edge [command]

Commands:
  (none)          run the edge; configuration from the YAML file RUSTGUARD_CONFIG
                  names and RUSTGUARD_* variables (docs/CONFIG.md)
  config check    load the configuration as a start would, print every problem
  bans …          manage the fleet's ban list in Redis (add, remove, list)
  replay FILE…    run the detection engine over session recordings
  version         print the version, the commit and the Go version
  help [command]  print this help, or a command's

"rustguard-edge COMMAND --help" prints a command's usage.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command line: it returns the exit status. Results and help go
// to stdout, errors to stderr.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return serveMain(stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "help":
		return help(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		if len(args) > 1 && isHelp(args[1]) {
			fmt.Fprint(stdout, "usage: rustguard-edge version\n\nPrints the version, the commit it was built from and the Go version.\n")
			return exitOK
		}
		fmt.Fprint(stdout, versionText())
		return exitOK
	case "config":
		return configMain(args[1:], stdout, stderr)
	case "bans":
		return bansMain(args[1:], stdout, stderr)
	case "replay":
		return replayMain(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "rustguard-edge: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// help answers "rustguard-edge help [command]".
func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	switch args[0] {
	case "config", "bans", "replay", "version":
		return run([]string{args[0], "--help"}, stdout, stderr)
	}
	fmt.Fprintf(stderr, "rustguard-edge help: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// fail prints err for the command and picks the exit status: usage errors
// (usageErr among err's chain) exit 2, everything else 1.
func fail(stderr io.Writer, cmd string, err error, usageErr ...error) int {
	// Errors from the packages often start with the command's own name.
	msg := strings.TrimPrefix(strings.TrimRight(err.Error(), "\n"), cmd+": ")
	fmt.Fprintf(stderr, "rustguard-edge %s: %s\n", cmd, msg)
	for _, u := range usageErr {
		if errors.Is(err, u) {
			fmt.Fprintf(stderr, "(rustguard-edge %s --help prints the usage)\n", cmd)
			return exitUsage
		}
	}
	return exitFail
}

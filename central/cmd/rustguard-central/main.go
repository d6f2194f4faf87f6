// Command rustguard-central is RustGuard's central service. This file only
// wires; see docs/CENTRAL.md.
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "version" || os.Args[1] == "--version") {
		fmt.Println("rustguard-central", version)
		return
	}
	fmt.Fprintln(os.Stderr, "rustguard-central: not assembled yet")
	os.Exit(1)
}

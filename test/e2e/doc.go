// Package e2e runs RustGuard's edge between real, independent Minecraft
// implementations: a flying-squid server behind it and mineflayer bots and
// minecraft-protocol pings in front of it, all from npm (see package.json).
//
// The Go tests start every process themselves on 127.0.0.1, read the peers'
// one-JSON-object-per-line stdout (backend.js, bot.js, ping.js), and assert
// on what both ends saw, so a proxy that corrupts, drops or stalls traffic
// fails a test instead of passing on our own encoder agreeing with our own
// decoder. README.md says how to run them.
package e2e

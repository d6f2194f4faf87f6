'use strict'

// ping.js: a server-list ping with minecraft-protocol's own ping() client.
//
//   node ping.js --host H --port P [--version V] [--timeout-ms N]
//
// stdout, one JSON line: the status response exactly as the server sent it
// (version, players, description, ...) plus "latency" in ms when the server
// also answered the ping request; exit 0. On failure:
//   {"event":"error","stage":"ping","error":E}   exit 1

const lib = require('./lib')

lib.divertStdout()

// A status exchange is two round trips on loopback; the edge answers from its
// cache or fetches from the backend with its own shorter timeout. Anything
// past this bound is a hang.
const DEFAULT_TIMEOUT_MS = 15000

// ping() waits this long for the pong after the status response before it
// resolves without "latency" (the library default is 5 s).
const PONG_TIMEOUT_MS = 3000

const opts = lib.args({
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  version: { type: 'string' },
  'timeout-ms': { type: 'string', default: String(DEFAULT_TIMEOUT_MS) }
}, ['port'])
const port = lib.port(opts.port, 'port')
const timeoutMs = Number(opts['timeout-ms'])

const { ping } = require('minecraft-protocol')

const options = {
  host: opts.host,
  port,
  closeTimeout: timeoutMs,
  noPongTimeout: PONG_TIMEOUT_MS
}
if (opts.version) options.version = opts.version

setTimeout(() => lib.fail('ping', `timeout after ${timeoutMs} ms`), timeoutMs + 1000).unref()

ping(options).then((response) => {
  lib.emit(response)
  process.exit(0)
}, (err) => {
  lib.fail('ping', err && err.message ? err.message : err)
})

'use strict'

// backend.js: a real Minecraft server (flying-squid) for the end-to-end tests.
//
//   node backend.js --host 127.0.0.1 --port P --version V
//
// --port 0 lets the OS pick a free port; the ready line reports it, so the
// harness never races another process for a port it guessed.
//
// stdout carries one JSON object per line and nothing else:
//   {"event":"ready","port":P,"version":V}                 once, when listening
//   {"event":"join","username":U,"x":..,"y":..,"z":..}   a player spawned
//   {"event":"chat","username":U,"message":M}              chat received from U
//   {"event":"move","username":U,"x":..,"y":..,"z":..}   throttled per player
//   {"event":"leave","username":U}                         a player disconnected
//   {"event":"error","stage":S,"error":E}                  fatal, exit non-zero
// Everything else (library logs) goes to stderr.

const lib = require('./lib')

lib.divertStdout()

// Movement arrives ~20 times a second per player. The harness only needs the
// path, so at most one move line per player per MOVE_INTERVAL_MS (5 lines/s),
// plus a trailing line so the last position is never lost to the throttle.
const MOVE_INTERVAL_MS = 200

// How long serv.quit may take to kick players on SIGTERM before we exit anyway:
// the harness waits a few seconds before it escalates to SIGKILL.
const SHUTDOWN_GRACE_MS = 1500

// flying-squid needs pluginsReady and listening within its own 5 s; this is the
// outer bound on reaching "ready" on a loaded 2-core machine.
const READY_TIMEOUT_MS = 30000

const opts = lib.args({
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  version: { type: 'string' }
}, ['port', 'version'])
const port = lib.port(opts.port, 'port', true)

let serv = null
let stopping = false

// flying-squid's log plugin loads exit-hook, whose signal handler calls
// process.exit(128+signal) immediately, racing the drain below and turning a
// clean stop into exit 143. It is registered late (after a dynamic import),
// so it cannot be reliably removed; instead a no-op takes its place in the
// module cache before flying-squid loads, and this script owns SIGTERM alone.
function stubExitHook () {
  const Module = require('module')
  const file = require.resolve('exit-hook', { paths: [require.resolve('flying-squid')] })
  const stub = new Module(file)
  stub.filename = file
  stub.loaded = true
  stub.exports = () => () => {}
  require.cache[file] = stub
}

// SIGTERM: kick players (they get a proper disconnect), close the listener,
// exit 0. Before the server is ready there is nothing to drain.
function shutdown () {
  if (stopping) return
  stopping = true
  const done = () => process.exit(0)
  if (serv === null || !serv.isReady) return done()
  setTimeout(done, SHUTDOWN_GRACE_MS).unref()
  Promise.resolve(serv.quit('Server closed')).then(done, done)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)

stubExitHook()
const mcServer = require('flying-squid')

function round (n) {
  return Math.round(n * 1000) / 1000
}

function watchPlayer (player) {
  let lastEmit = 0
  let trailing = null
  let latest = null

  const emitMove = () => {
    trailing = null
    lastEmit = Date.now()
    lib.emit({ event: 'move', username: player.username, x: round(latest.x), y: round(latest.y), z: round(latest.z) })
  }

  player.on('spawned', () => {
    const p = player.position
    lib.emit({ event: 'join', username: player.username, x: round(p.x), y: round(p.y), z: round(p.z) })
  })

  // 'chat' is flying-squid's behavior event, emitted for accepted chat lines
  // on every version (chat packet before 1.19, chat_message since).
  player.on('chat', ({ message }) => {
    lib.emit({ event: 'chat', username: player.username, message })
  })

  // 'move' is emitted by entity.sendPosition for every position the client
  // reports (and for server teleports).
  player.on('move', ({ position }) => {
    latest = position
    const wait = MOVE_INTERVAL_MS - (Date.now() - lastEmit)
    if (wait <= 0) {
      if (trailing !== null) clearTimeout(trailing)
      emitMove()
    } else if (trailing === null) {
      trailing = setTimeout(emitMove, wait)
    }
  })

  player.on('disconnected', () => {
    if (trailing !== null) {
      clearTimeout(trailing)
      emitMove()
    }
    lib.emit({ event: 'leave', username: player.username })
  })
}

const readyTimer = setTimeout(() => lib.fail('start', `not ready after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS)

try {
  serv = mcServer.createMCServer({
    host: opts.host,
    port,
    version: opts.version,
    'online-mode': false,
    motd: 'RustGuard e2e backend',
    'max-players': 20,
    logging: false,
    noConsoleOutput: true,
    gameMode: 0,
    difficulty: 0,
    kickTimeout: 10000,
    generation: { name: 'superflat', options: { worldHeight: 80 } },
    worldFolder: undefined,
    plugins: {},
    modpe: false,
    'view-distance': 4,
    'player-list-text': { header: { text: 'e2e' }, footer: { text: 'e2e' } },
    'everybody-op': false,
    'max-entities': 100
  })
} catch (err) {
  lib.fail('start', err && err.stack ? err.stack : err)
}

serv.on('error', (err) => {
  if (!serv.isReady) lib.fail('start', err && err.stack ? err.stack : err)
  process.stderr.write(`server error: ${err && err.stack ? err.stack : err}\n`)
})
serv.on('newPlayer', watchPlayer)
serv.on('ready', () => {
  clearTimeout(readyTimer)
  lib.emit({ event: 'ready', port: serv.listeningPort, version: opts.version })
})

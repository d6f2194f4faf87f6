'use strict'

// backend.js: a real Minecraft server (flying-squid) for the end-to-end tests.
//
//   node backend.js --host 127.0.0.1 --port P --version V
//                   [--op-all] [--no-moves] [--log-packets name1,name2 [--packet-fd N]]
//                   [--forwarding velocity|bungeecord|bungeeguard]
//                   [--online-mode --session-server URL] [--sample-blocks]
//
// --port 0 lets the OS pick a free port; the ready line reports it, so the
// harness never races another process for a port it guessed.
//
// --op-all makes every player an operator, so honest test players can run
// the commands a real player with rights would (/give, /tp, /gamemode).
//
// --no-moves leaves the move lines out: for a person reading the events
// (`make run` shows them), not for a test.
//
// --log-packets prints one line per serverbound play packet of the listed
// minecraft-data names (e.g. look,position_look,held_item_slot; * for all),
// as flying-squid received it, so a test can prove what the proxy let through:
//   {"event":"packet","username":U,"name":N,"params":{..}}
// Non-finite numbers are written as the strings "NaN", "Infinity" and
// "-Infinity", 64-bit integers as decimal strings and byte buffers as
// {"bytes":LEN,"hex":FIRST_BYTES}. With --packet-fd N these lines go to file
// descriptor N instead of stdout (the harness passes a pipe there), followed
// by a {"event":"leave","username":U} line when U disconnects, so a reader of
// that stream alone knows when a player's packets are complete.
//
// --forwarding makes the (offline-mode) server take players only through a
// proxy that forwards their identity, as a backend behind an online-mode
// edge does (forwarding.js; the Velocity secret or BungeeGuard token comes
// from the E2E_FORWARDING_SECRET variable, never the command line). Each
// accepted player prints
//   {"event":"forwarded","mode":M,"username":U,"uuid":ID,"address":A,
//    "forwarding_version":N (Velocity),"properties":[{"name":..,"signed":B},..]}
// and logs in as that account.
//
// --online-mode makes the server authenticate players itself against the
// session server at --session-server (the test's double), as a backend
// behind a passthrough edge does.
//
// stdout carries one JSON object per line and nothing else:
//   {"event":"ready","port":P,"version":V}                 once, when listening
//   {"event":"join","username":U,"x":..,"y":..,"z":..}   a player spawned
//   {"event":"chat","username":U,"message":M}              chat received from U
//   {"event":"move","username":U,"x":..,"y":..,"z":..}   throttled per player
//   {"event":"leave","username":U}                         a player disconnected
//   {"event":"blocks","username":U,"samples":[[x,y,z,state],...]}  --sample-blocks
//   {"event":"error","stage":S,"error":E}                  fatal, exit non-zero
// Everything else (library logs) goes to stderr.

const fs = require('fs')
const { Vec3 } = require('vec3')
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

// A logged byte buffer keeps at most this many bytes as hex: enough to tell
// packets apart, small enough that a 2 MiB plugin message stays one short line.
const LOGGED_BUFFER_BYTES = 64

const opts = lib.args({
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  version: { type: 'string' },
  'op-all': { type: 'boolean', default: false },
  'no-moves': { type: 'boolean', default: false },
  'log-packets': { type: 'string', default: '' },
  'packet-fd': { type: 'string', default: '' },
  forwarding: { type: 'string', default: '' },
  'online-mode': { type: 'boolean', default: false },
  'session-server': { type: 'string', default: '' },
  'sample-blocks': { type: 'boolean', default: false }
}, ['port', 'version'])
if (opts['online-mode'] && opts['session-server'] === '') lib.fail('usage', '--online-mode needs --session-server', 2)
const port = lib.port(opts.port, 'port', true)
const loggedPackets = new Set(opts['log-packets'].split(',').map((n) => n.trim()).filter((n) => n !== ''))
const logAllPackets = loggedPackets.has('*')
let packetFd = null
if (opts['packet-fd'] !== '') {
  packetFd = Number(opts['packet-fd'])
  if (!Number.isInteger(packetFd) || packetFd < 3) lib.fail('usage', `--packet-fd: not a descriptor above 2: ${opts['packet-fd']}`, 2)
}

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
if (opts['online-mode']) {
  // minecraft-protocol's server asks Mojang's session server and has no
  // option to ask another: point its yggdrasil client at the double. It
  // looks the function up per login, so replacing it here is enough.
  const ygg = require(require.resolve('yggdrasil', { paths: [require.resolve('minecraft-protocol')] }))
  const server = ygg.server
  ygg.server = (o) => server({ ...o, host: opts['session-server'] })
}
const forwarding = require('./forwarding')
const mcServer = require('flying-squid')

function round (n) {
  return Math.round(n * 1000) / 1000
}

// packetJSON serialises packet fields JSON cannot hold as they are.
function packetJSON (obj) {
  return JSON.stringify(obj, function (key, value) {
    const raw = this[key]
    if (Buffer.isBuffer(raw)) return { bytes: raw.length, hex: raw.subarray(0, LOGGED_BUFFER_BYTES).toString('hex') }
    if (typeof value === 'bigint') return value.toString()
    // protodef reads 64-bit integers as [high, low] arrays whose valueOf
    // is the BigInt.
    if (Array.isArray(raw) && typeof raw.valueOf() === 'bigint') return raw.valueOf().toString()
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
    return value
  })
}

function emitPacketLine (obj) {
  if (packetFd === null) lib.emit(JSON.parse(packetJSON(obj)))
  else fs.writeSync(packetFd, packetJSON(obj) + '\n')
}

function logPackets (player) {
  if (loggedPackets.size === 0) return
  // The minecraft-protocol client emits every decoded packet with its
  // minecraft-data name, before flying-squid's own handlers run.
  player._client.on('packet', (params, meta) => {
    if (meta.state !== 'play' || !(logAllPackets || loggedPackets.has(meta.name))) return
    emitPacketLine({ event: 'packet', username: player._client.username, name: meta.name, params })
  })
  if (packetFd !== null) {
    player._client.on('end', () => emitPacketLine({ event: 'leave', username: player._client.username }))
  }
}

// Sample positions around a player's spawn for --sample-blocks: every
// SAMPLE_STEP blocks within SAMPLE_RADIUS horizontally, from SAMPLE_BELOW
// blocks under the feet to one above (the superflat ground and the air on it).
const SAMPLE_RADIUS = 12
const SAMPLE_STEP = 4
const SAMPLE_BELOW = 6

// sampleBlocks prints the block states flying-squid holds around p, so a
// test can compare them with what the proxy's world replica holds:
//   {"event":"blocks","username":U,"samples":[[x,y,z,state],...]}
async function sampleBlocks (player, p) {
  const samples = []
  const x0 = Math.floor(p.x)
  const y0 = Math.floor(p.y)
  const z0 = Math.floor(p.z)
  for (let dx = -SAMPLE_RADIUS; dx <= SAMPLE_RADIUS; dx += SAMPLE_STEP) {
    for (let dz = -SAMPLE_RADIUS; dz <= SAMPLE_RADIUS; dz += SAMPLE_STEP) {
      for (let y = y0 - SAMPLE_BELOW; y <= y0 + 1; y++) {
        const at = new Vec3(x0 + dx, y, z0 + dz)
        samples.push([at.x, at.y, at.z, await player.world.getBlockStateId(at)])
      }
    }
  }
  lib.emit({ event: 'blocks', username: player.username, samples })
}

function watchPlayer (player) {
  logPackets(player)
  let lastEmit = 0
  let trailing = null
  let latest = null

  const emitMove = () => {
    trailing = null
    lastEmit = Date.now()
    if (opts['no-moves']) return
    lib.emit({ event: 'move', username: player.username, x: round(latest.x), y: round(latest.y), z: round(latest.z) })
  }

  player.on('spawned', () => {
    const p = player.position
    lib.emit({ event: 'join', username: player.username, x: round(p.x), y: round(p.y), z: round(p.z) })
    if (opts['sample-blocks']) sampleBlocks(player, p)
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
    'online-mode': opts['online-mode'],
    beforeLogin: forwarding.beforeLogin,
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
    'everybody-op': opts['op-all'],
    'max-entities': 100
  })
} catch (err) {
  lib.fail('start', err && err.stack ? err.stack : err)
}

if (opts.forwarding !== '') {
  try {
    forwarding.install(serv._server, opts.forwarding, process.env.E2E_FORWARDING_SECRET, (p) => {
      lib.emit({
        event: 'forwarded',
        mode: p.mode,
        username: p.name,
        uuid: p.uuid,
        address: p.address,
        forwarding_version: p.version,
        properties: p.properties.map((pr) => ({ name: pr.name, signed: typeof pr.signature === 'string' && pr.signature !== '' }))
      })
    })
  } catch (err) {
    lib.fail('start', err.message, 2)
  }
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

'use strict'

// bot.js: one mineflayer player that logs in, chats and walks.
//
//   node bot.js --host H --port P --version V --username U [--timeout-ms N] [--walk-ms N]
//               [--local-address A]
//
// Steps: connect, wait for spawn and the chunks around it, send a chat line
// with a random token and wait until the server echoes it back, then hold
// "forward" for --walk-ms and measure how far the bot got.
//
// stdout, one JSON line:
//   {"event":"result","spawned":true,"echo":true,"moved_blocks":N,"token":T}   exit 0
//   {"event":"error","stage":S,"error":E,"kick_reason":R,...}                 exit 1
// kick_reason is the plain text of a disconnect the server (or proxy) sent, so
// a test can assert on why the login was refused.

const crypto = require('crypto')
const lib = require('./lib')
const { sleep, reasonText } = lib

lib.divertStdout()

// The whole run, from connect to result. A run through the proxy on a loaded
// 2-core machine takes ~5 s; anything near this bound is a hang to report.
const DEFAULT_TIMEOUT_MS = 45000

// How long to hold "forward". Walking speed is ~4.3 blocks/s, so 2 s gives
// ~8 blocks, comfortably above the 3 blocks the harness asserts.
const DEFAULT_WALK_MS = 2000

// How long chunks may take to arrive after spawn before we walk anyway
// (mineflayer physics does not move a bot inside unloaded chunks).
const CHUNK_WAIT_MS = 10000

const opts = lib.args({
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  version: { type: 'string' },
  username: { type: 'string' },
  'timeout-ms': { type: 'string', default: String(DEFAULT_TIMEOUT_MS) },
  'walk-ms': { type: 'string', default: String(DEFAULT_WALK_MS) },
  'local-address': { type: 'string' }
}, ['port', 'version', 'username'])
const port = lib.port(opts.port, 'port')
const timeoutMs = Number(opts['timeout-ms'])
const walkMs = Number(opts['walk-ms'])

const mineflayer = require('mineflayer')

const state = {
  stage: 'connect',
  spawned: false,
  echo: false,
  kickReason: null,
  endReason: null,
  lastError: null
}

let finished = false
function finish (code, obj) {
  if (finished) return
  finished = true
  lib.emit(obj)
  try { bot.quit() } catch {}
  // Let the quit packet go out; do not wait for the server to close.
  setTimeout(() => process.exit(code), 200).unref()
  setTimeout(() => process.exit(code), 1000)
}

function failWith (message) {
  const obj = { event: 'error', stage: state.stage, error: String(message), spawned: state.spawned, echo: state.echo }
  if (state.kickReason !== null) obj.kick_reason = state.kickReason
  if (state.endReason !== null) obj.end_reason = String(state.endReason)
  finish(1, obj)
}

setTimeout(() => failWith(`timeout after ${timeoutMs} ms`), timeoutMs).unref()

const bot = mineflayer.createBot({
  host: opts.host,
  port,
  version: opts.version,
  username: opts.username,
  ...lib.authOptions(opts.username),
  hideErrors: true,
  logErrors: false,
  checkTimeoutInterval: timeoutMs,
  connect: lib.connectFrom(opts['local-address'], opts.host, port)
})

bot.on('connect', () => {
  state.stage = 'login'
})
bot.on('kicked', (reason) => {
  state.kickReason = reasonText(reason)
  failWith(`kicked: ${state.kickReason}`)
})
bot.on('error', (err) => {
  state.lastError = err
  failWith(`client error: ${err && err.message ? err.message : err}`)
})
bot.on('end', (reason) => {
  state.endReason = reason
  // A kick arrives just before 'end'; give it a moment to be recorded first.
  setImmediate(() => failWith(`connection ended: ${reason}`))
})

function withTimeout (promise, ms) {
  return Promise.race([promise, sleep(ms)])
}

bot.once('spawn', async () => {
  try {
    state.spawned = true
    state.stage = 'chunks'
    await withTimeout(bot.waitForChunksToLoad(), CHUNK_WAIT_MS)

    state.stage = 'chat'
    const token = crypto.randomBytes(6).toString('hex')
    const echoed = new Promise((resolve) => {
      const onMessage = (text) => {
        if (text.includes(token)) {
          bot.removeListener('messagestr', onMessage)
          resolve()
        }
      }
      bot.on('messagestr', onMessage)
    })
    bot.chat(`e2e token ${token}`)
    await echoed
    state.echo = true

    state.stage = 'walk'
    const start = bot.entity.position.clone()
    bot.setControlState('forward', true)
    await sleep(walkMs)
    bot.setControlState('forward', false)
    // Let the final position packet reach the server before quitting.
    await sleep(250)
    const end = bot.entity.position
    const moved = Math.hypot(end.x - start.x, end.z - start.z)

    finish(0, {
      event: 'result',
      spawned: true,
      echo: true,
      moved_blocks: Math.round(moved * 100) / 100,
      token,
      start: { x: start.x, y: start.y, z: start.z },
      end: { x: end.x, y: end.y, z: end.z }
    })
  } catch (err) {
    failWith(err && err.stack ? err.stack : err)
  }
})

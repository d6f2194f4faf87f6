'use strict'

// limbo_bot.js: one mineflayer bot that joins a server running only the
// verification limbo and reports how the limbo let it go.
//
//   node limbo_bot.js --modules DIR --port P --version V --username U [--host H] [--timeout-ms N]
//
// --modules is the folder whose node_modules holds mineflayer (test/e2e).
// The bot does nothing but what mineflayer does on its own: log in, answer
// keep-alives and teleports, send its brand and settings, and run its
// physics, which is what the limbo's checks judge.
//
// stdout, one JSON line, exit 0:
//   {"event":"result","kick_reason":R,"transfer":{"host":H,"port":P},"end_reason":E,"positions":N}
// kick_reason is the plain text of a disconnect (older versions), transfer
// the Transfer packet (1.20.5+); positions counts the movement packets sent.
// On a client error or timeout: {"event":"error","error":E}, exit 1.

const fs = require('fs')
const path = require('path')
const { parseArgs } = require('util')
const { createRequire } = require('module')

// Everything libraries print goes to stderr; stdout carries the result only.
console.log = console.error
process.stdout.write = process.stderr.write.bind(process.stderr)
function emit (obj) {
  fs.writeSync(1, JSON.stringify(obj) + '\n')
}

const opts = parseArgs({
  options: {
    modules: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    version: { type: 'string' },
    username: { type: 'string' },
    'timeout-ms': { type: 'string', default: '30000' }
  },
  strict: true
}).values
for (const name of ['modules', 'port', 'version', 'username']) {
  if (!opts[name]) {
    emit({ event: 'error', error: `missing --${name}` })
    process.exit(2)
  }
}
const timeoutMs = Number(opts['timeout-ms'])

const req = createRequire(path.join(path.resolve(opts.modules), 'package.json'))
const mineflayer = req('mineflayer')
// The e2e scripts' helpers live beside mineflayer's node_modules.
const { reasonText: text } = req('./lib.js')

const state = { kick_reason: null, transfer: null, end_reason: null, positions: 0 }
let finished = false
function finish (code, obj) {
  if (finished) return
  finished = true
  emit(obj)
  setTimeout(() => process.exit(code), 100)
}

setTimeout(() => finish(1, { event: 'error', error: `timeout after ${timeoutMs} ms`, ...state }), timeoutMs).unref()

const bot = mineflayer.createBot({
  host: opts.host,
  port: Number(opts.port),
  version: opts.version,
  username: opts.username,
  auth: 'offline',
  hideErrors: true,
  logErrors: false,
  checkTimeoutInterval: timeoutMs
})

const write = bot._client.write.bind(bot._client)
bot._client.write = (name, params) => {
  if (name === 'position' || name === 'position_look') state.positions++
  return write(name, params)
}
bot._client.on('transfer', (packet) => {
  state.transfer = { host: packet.host, port: packet.port }
})
bot.on('kicked', (reason) => {
  state.kick_reason = text(reason)
})
bot.on('error', (err) => {
  finish(1, { event: 'error', error: String(err && err.message ? err.message : err), ...state })
})
bot.on('end', (reason) => {
  state.end_reason = String(reason)
  // A kick is reported just before 'end'; let it be recorded first.
  setImmediate(() => finish(0, { event: 'result', ...state }))
})

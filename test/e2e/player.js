'use strict'

// player.js: one mineflayer player that stays connected and does what the
// test says on stdin, for tests that change something under a connected
// player (the fleet configuration) and watch what its next packets do.
//
//   node player.js --host H --port P --version V --username U
//                  [--local-address A] [--timeout-ms N]
//
// stdin, one JSON object per line:
//   {"cmd":"chat","message":M}   send M as a chat line (bot.chat)
//   {"cmd":"quit"}               leave; exit 0
// stdout, one JSON object per line:
//   {"event":"spawned","username":U}
//   {"event":"sent","message":M}                after each chat command
//   {"event":"done"}                            after quit, exit 0
//   {"event":"error","stage":S,"error":E}       kicked (E holds the kick
//                                               reason), disconnected, or
//                                               timed out; exit 1
// --timeout-ms (120 s) bounds the whole session, so a test that fails
// before it says quit leaves no player behind.

const readline = require('readline')
const lib = require('./lib')
const { reasonText } = lib

lib.divertStdout()

const DEFAULT_TIMEOUT_MS = 120000

const opts = lib.args({
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  version: { type: 'string' },
  username: { type: 'string' },
  'local-address': { type: 'string' },
  'timeout-ms': { type: 'string', default: String(DEFAULT_TIMEOUT_MS) }
}, ['port', 'version', 'username'])
const port = lib.port(opts.port, 'port')
const timeoutMs = Number(opts['timeout-ms'])

const mineflayer = require('mineflayer')

let stage = 'connect'
let finished = false
function finish (code, obj) {
  if (finished) return
  finished = true
  lib.emit(obj)
  try { bot.quit() } catch {}
  setTimeout(() => process.exit(code), 200).unref()
  setTimeout(() => process.exit(code), 1000)
}
function failWith (message) {
  finish(1, { event: 'error', stage, error: String(message) })
}

setTimeout(() => failWith(`timeout after ${timeoutMs} ms`), timeoutMs).unref()

const bot = mineflayer.createBot({
  host: opts.host,
  port,
  version: opts.version,
  username: opts.username,
  auth: 'offline',
  hideErrors: true,
  logErrors: false,
  checkTimeoutInterval: timeoutMs,
  connect: lib.connectFrom(opts['local-address'], opts.host, port)
})

bot.on('kicked', (reason) => failWith(`kicked: ${reasonText(reason)}`))
bot.on('error', (err) => failWith(`client error: ${err && err.message ? err.message : err}`))
// A kick arrives just before 'end'; let it be reported first.
bot.on('end', (reason) => setImmediate(() => failWith(`connection ended: ${reason}`)))

bot.once('spawn', () => {
  stage = 'play'
  lib.emit({ event: 'spawned', username: opts.username })
  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    let cmd
    try {
      cmd = JSON.parse(line)
    } catch (err) {
      failWith(`stdin: not JSON: ${line}`)
      return
    }
    switch (cmd.cmd) {
      case 'chat':
        bot.chat(String(cmd.message))
        lib.emit({ event: 'sent', message: String(cmd.message) })
        break
      case 'quit':
        finish(0, { event: 'done' })
        break
      default:
        failWith(`stdin: unknown command ${JSON.stringify(cmd.cmd)}`)
    }
  })
  // The test's end of the pipe closed: it is gone, so is the player.
  rl.on('close', () => finish(0, { event: 'done' }))
})

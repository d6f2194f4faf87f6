'use strict'

// Shared plumbing for the e2e peer scripts: argument parsing and the
// one-JSON-object-per-line protocol the Go harness reads on stdout.

const fs = require('fs')
const net = require('net')
const { parseArgs } = require('util')

// The fd that stdout pointed to when the script started. Events are written
// to it with writeSync so they are never interleaved with, or lost behind,
// anything a library prints.
const eventFd = 1

// Libraries (flying-squid's log plugin, its readline prompt) write to
// process.stdout. The harness parses stdout as JSON lines, so everything that
// is not an event goes to stderr instead, where the harness keeps it for the
// test log.
function divertStdout () {
  process.stdout.write = process.stderr.write.bind(process.stderr)
}

function emit (obj) {
  fs.writeSync(eventFd, JSON.stringify(obj) + '\n')
}

// args parses --name value options; every option listed in `required` must be
// present, otherwise the script reports a JSON error and exits 2.
function args (options, required) {
  let parsed
  try {
    parsed = parseArgs({ options, strict: true, allowPositionals: false }).values
  } catch (err) {
    fail('usage', err.message, 2)
  }
  for (const name of required) {
    if (parsed[name] === undefined || parsed[name] === '') {
      fail('usage', `missing --${name}`, 2)
    }
  }
  return parsed
}

// port parses a TCP port; 0 is accepted only where the caller allows the OS
// to choose (a listener that reports the port it got).
function port (value, name, allowZero = false) {
  const n = Number(value)
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) fail('usage', `--${name}: not a port: ${value}`, 2)
  return n
}

function fail (stage, message, code = 1) {
  emit({ event: 'error', stage, error: String(message) })
  process.exit(code)
}

// sleep resolves after ms.
function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// within rejects when promise does not settle within ms.
function within (promise, ms, what) {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// reasonText flattens a disconnect reason (JSON text, a parsed component or
// an NBT-decoded one on 1.20.3+) into plain text.
function reasonText (reason) {
  if (reason === null || reason === undefined) return ''
  if (typeof reason === 'string') {
    try {
      return reasonText(JSON.parse(reason))
    } catch {
      return reason
    }
  }
  if (typeof reason !== 'object') return String(reason)
  if ('type' in reason && 'value' in reason && Object.keys(reason).length === 2) return reasonText(reason.value)
  let out = ''
  if (typeof reason.text === 'string') out += reason.text
  else if (reason.text !== undefined) out += reasonText(reason.text)
  if (typeof reason.translate === 'string' && out === '') out += reason.translate
  if (reason[''] !== undefined) out += reasonText(reason[''])
  for (const part of [].concat(reason.extra ?? [], reason.with ?? [])) out += reasonText(part)
  if (Array.isArray(reason)) for (const part of reason) out += reasonText(part)
  return out
}

// authOptions are the createBot/createClient options that log username in:
// with an account of the test's session-server double when the harness
// gave it one (E2E_SESSION_SERVER, and E2E_ACCOUNTS: a JSON object of
// username → {"token", "id"}), the way a launcher logs in a player (join
// the session server, then answer the server's Encryption Request);
// offline otherwise.
function authOptions (username) {
  const server = process.env.E2E_SESSION_SERVER || ''
  const accounts = process.env.E2E_ACCOUNTS ? JSON.parse(process.env.E2E_ACCOUNTS) : {}
  const account = accounts[username]
  if (server === '' || !account) return { auth: 'offline' }
  return {
    sessionServer: server,
    // minecraft-protocol calls an auth function instead of its Mojang or
    // Microsoft login; it must set the session and connect.
    auth: (client, options) => {
      client.username = username
      client.session = { accessToken: account.token, selectedProfile: { id: account.id, name: username } }
      options.accessToken = account.token
      options.haveCredentials = true
      options.connect(client)
    }
  }
}

// connectFrom is mineflayer's `connect` option for a player that connects
// from localAddress (another loopback address such as 127.0.0.2: the edge
// and central tell players apart by address, and a ban of one address must
// not hit every other player of a test), or undefined for the default.
function connectFrom (localAddress, host, port) {
  if (!localAddress) return undefined
  return (client) => client.setSocket(net.connect({ host, port, localAddress }))
}

// blockData is /setblock's data argument: the state's offset from the
// block's first state from 1.13 (flying-squid adds it to the first state
// id), the legacy data value before.
function blockData (bot, name, props = {}) {
  const block = bot.registry.blocksByName[name]
  if (!block) throw new Error(`no ${name} block on this version`)
  if (!block.states || block.states.length === 0) return props.legacy ?? 0
  let data = 0
  for (const st of block.states) {
    const want = props[st.name]
    let v = 0
    if (st.type === 'bool') v = want ? 0 : 1
    else if (st.type === 'int') v = Number(want ?? 0)
    else if (want !== undefined) v = st.values.indexOf(want)
    if (v < 0) throw new Error(`${name}: no ${st.name}=${want}`)
    data = data * st.num_values + v
  }
  return data
}

module.exports = { divertStdout, emit, args, port, fail, sleep, within, reasonText, authOptions, connectFrom, blockData }

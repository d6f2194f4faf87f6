'use strict'

// forwarding.js: the backend half of proxy identity forwarding, for
// backend.js, written the way the real backends behave (Paper's Velocity
// support, Spigot's BungeeCord mode, the BungeeGuard plugin), on
// minecraft-protocol's server, so the edge is judged by a peer it does not
// share code with:
//
//   velocity     ask on velocity:player_info (for the highest version, 4),
//                refuse a missing answer and a wrong HMAC-SHA256, read the
//                player data;
//   bungeecord   read host\0address\0uuid\0properties from the handshake,
//                refuse a plain host;
//   bungeeguard  the same, and require exactly one bungeeguard-token
//                property holding the shared token.
//
// The player then logs in as the forwarded account: the UUID, the name and
// the signed properties (skins) the backend shows to everyone.

const crypto = require('crypto')

const VELOCITY_CHANNEL = 'velocity:player_info'
// The highest Velocity forwarding version the backend asks for: 4, lazy
// chat sessions (1.19.3+), as Paper does.
const VELOCITY_MAX_VERSION = 4
const HMAC_BYTES = 32
// Paper's and BungeeGuard's refusals, so a test can tell who refused.
const MSG_NEEDS_VELOCITY = 'This server requires you to connect with Velocity.'
const MSG_BAD_VELOCITY = 'Unable to verify player details'
const MSG_NO_BUNGEE = 'If you wish to use IP forwarding, please enable it in your BungeeCord config as well!'
const MSG_BAD_GUARD = 'Unable to authenticate - invalid token.'

// reader reads the Minecraft types of a Velocity payload from buf.
function reader (buf) {
  let off = 0
  const need = (n) => {
    if (off + n > buf.length) throw new Error('payload ends early')
  }
  const varint = () => {
    let v = 0
    for (let i = 0; i < 5; i++) {
      need(1)
      const b = buf[off++]
      v |= (b & 0x7f) << (7 * i)
      if ((b & 0x80) === 0) return v
    }
    throw new Error('varint too long')
  }
  const bytes = (n) => {
    need(n)
    const out = buf.subarray(off, off + n)
    off += n
    return out
  }
  return {
    varint,
    string: () => bytes(varint()).toString('utf8'),
    uuid: () => bytes(16).toString('hex'),
    bool: () => bytes(1)[0] !== 0,
    rest: () => buf.length - off
  }
}

function dashed (hex) {
  return hex.replace(/^(\w{8})(\w{4})(\w{4})(\w{4})(\w{12})$/, '$1-$2-$3-$4-$5')
}

// parseVelocity reads version 1–4 player data (address, UUID, name,
// properties; the 1.19 key of versions 2 and 3 is skipped).
function parseVelocity (payload) {
  const r = reader(payload)
  const version = r.varint()
  const address = r.string()
  const uuid = r.uuid()
  const name = r.string()
  const properties = []
  for (let n = r.varint(); n > 0; n--) {
    const p = { name: r.string(), value: r.string() }
    if (r.bool()) p.signature = r.string()
    properties.push(p)
  }
  return { version, address, uuid: dashed(uuid), name, properties }
}

function velocity (client, secret, done) {
  const messageId = crypto.randomInt(1, 1 << 30)
  client.once('login_plugin_response', (resp) => {
    if (resp.messageId !== messageId || !resp.data || resp.data.length < HMAC_BYTES) {
      client.end(MSG_NEEDS_VELOCITY)
      return
    }
    const sig = resp.data.subarray(0, HMAC_BYTES)
    const payload = resp.data.subarray(HMAC_BYTES)
    const mac = crypto.createHmac('sha256', secret).update(payload).digest()
    if (!crypto.timingSafeEqual(sig, mac)) {
      client.end(MSG_BAD_VELOCITY)
      return
    }
    let player
    try {
      player = parseVelocity(payload)
    } catch (err) {
      client.end(MSG_BAD_VELOCITY)
      return
    }
    done(player)
  })
  client.write('login_plugin_request', { messageId, channel: VELOCITY_CHANNEL, data: Buffer.from([VELOCITY_MAX_VERSION]) })
}

function bungee (client, packet, guard, secret, done) {
  const parts = String(client.serverHost).split('\0')
  if (parts.length < 3 || !/^[0-9a-f]{32}$/.test(parts[2])) {
    client.end(MSG_NO_BUNGEE)
    return
  }
  let properties = []
  try {
    if (parts.length > 3) properties = JSON.parse(parts[3])
  } catch {
    client.end(MSG_NO_BUNGEE)
    return
  }
  if (guard) {
    const tokens = properties.filter((p) => p.name === 'bungeeguard-token')
    if (tokens.length !== 1 || tokens[0].value !== secret) {
      client.end(MSG_BAD_GUARD)
      return
    }
    properties = properties.filter((p) => p.name !== 'bungeeguard-token')
  }
  done({ address: parts[1], uuid: dashed(parts[2]), name: packet.username, properties })
}

// install makes server (minecraft-protocol's, e.g. flying-squid's _server)
// check mode's forwarding before every login, calling onForwarded with what
// it read; options.beforeLogin (set by backend.js) then logs the player in
// as that account.
function install (server, mode, secret, onForwarded) {
  if (!['velocity', 'bungeecord', 'bungeeguard'].includes(mode)) throw new Error(`unknown forwarding ${mode}`)
  if (mode !== 'bungeecord' && !secret) throw new Error(`${mode} forwarding needs E2E_FORWARDING_SECRET`)
  server.on('connection', (client) => {
    // createServer's own 'connection' listener ran first and registered
    // minecraft-protocol's login handler: it runs after the check.
    const login = client.listeners('login_start')
    client.removeAllListeners('login_start')
    client.once('login_start', (packet) => {
      const done = (player) => {
        player.mode = mode
        client.forwarded = player
        onForwarded(player)
        for (const l of login) l.call(client, packet)
      }
      if (mode === 'velocity') velocity(client, secret, done)
      else bungee(client, packet, mode === 'bungeeguard', secret, done)
    })
  })
}

// beforeLogin is minecraft-protocol's hook between the (offline) login and
// Login Success: the forwarded account replaces the offline identity.
function beforeLogin (client) {
  const p = client.forwarded
  if (!p) return
  client.uuid = p.uuid
  client.username = p.name
  client.profile = { id: p.uuid.replace(/-/g, ''), name: p.name, properties: p.properties }
}

module.exports = { install, beforeLogin }

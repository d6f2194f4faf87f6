'use strict'

// record.js: records the chunk packets a real server (flying-squid) sends a
// real client (minecraft-protocol), and the block states flying-squid holds
// at sample positions, as a fixture for decode's tests.
//
//   node record.js VERSION OUT.json.gz
//
// Run from anywhere; the npm packages come from test/e2e/node_modules (make
// test installs them). The fixture is gzip'd JSON:
//   {"version":V,"packets":[{"state":S,"name":N,"data":BASE64}],   // id + body, as received
//    "samples":[[x,y,z,state],...],                      // flying-squid's world
//    "placed":[{"name":BLOCK,"x":..,"y":..,"z":..,"state":S}]}
// The world is generated from a fixed seed; a few blocks of the kinds the
// movement checks care about are placed near spawn before the player joins,
// and one more is set after it joined so the fixture holds a block_change.

const path = require('path')
const zlib = require('zlib')
const fs = require('fs')
const { createRequire } = require('module')

const e2e = createRequire(path.join(__dirname, '../../../../../test/e2e/package.json'))
const mcServer = e2e('flying-squid')
const mc = e2e('minecraft-protocol')
const { Vec3 } = e2e('vec3')

const [version, out] = process.argv.slice(2)
if (!version || !out) {
  console.error('usage: node record.js VERSION OUT.json.gz')
  process.exit(2)
}

// Sample positions per recorded chunk column: enough to cover every section
// kind the generator makes, small enough to keep the fixture compact.
const SAMPLES_PER_COLUMN = 96
const VIEW_DISTANCE = 2 // flying-squid sends 4×4 columns first
const SEED = 1234567

// Blocks placed at spawn; names differ before and after the flattening.
const PLACE = [
  ['oak_stairs'], ['stone_slab', 'smooth_stone_slab'], ['oak_fence', 'fence'], ['cobblestone_wall'],
  ['water'], ['lava'], ['ladder'], ['ice'], ['packed_ice'], ['blue_ice'], ['slime_block', 'slime'],
  ['honey_block'], ['soul_sand'], ['cobweb', 'web'], ['powder_snow'], ['scaffolding'], ['vine'],
  ['torch'], ['stone'], ['snow', 'snow_layer']
]

let rng = SEED
function rand (n) { // a small LCG: the fixture must not change between runs for the same data
  rng = (rng * 1103515245 + 12345) & 0x7fffffff
  return rng % n
}

const serv = mcServer.createMCServer({
  host: '127.0.0.1',
  port: 0,
  version,
  'online-mode': false,
  motd: 'record',
  'max-players': 2,
  logging: false,
  noConsoleOutput: true,
  gameMode: 1,
  difficulty: 0,
  kickTimeout: 10000,
  generation: { name: 'diamond_square', options: { worldHeight: 80, seed: SEED } },
  worldFolder: undefined,
  plugins: {},
  modpe: false,
  'view-distance': VIEW_DISTANCE,
  'player-list-text': { header: { text: 'r' }, footer: { text: 'r' } },
  'everybody-op': true,
  'max-entities': 10
})

function fail (err) {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
}
setTimeout(() => fail('timeout'), 60000).unref()

serv.on('listening', async () => {
  try {
    const reg = serv.registry
    const flat = serv.supportFeature('theFlattening')
    const placed = []
    const spawn = serv.overworld
    // Place one block per x along a row two blocks above spawn, inside the
    // columns the player receives first.
    const sp = (await serv.getSpawnPoint(spawn)).floored()
    let x = sp.x - 8
    for (const names of PLACE) {
      const b = names.map((n) => reg.blocksByName[n]).find((b) => b !== undefined)
      if (!b) continue
      const state = flat ? b.defaultState ?? b.minStateId : b.id << 4
      const pos = new Vec3(x, sp.y + 2, sp.z + 1)
      await spawn.setBlockStateId(pos, state)
      placed.push({ name: b.name, x: pos.x, y: pos.y, z: pos.z, state })
      x++
    }
    const port = serv._server.socketServer.address().port
    const packets = []
    const client = mc.createClient({ host: '127.0.0.1', port, username: 'rec', version })
    const keep = new Set(['map_chunk', 'map_chunk_bulk', 'unload_chunk', 'block_change', 'multi_block_change', 'respawn', 'login', 'registry_data'])
    client.on('raw', (buf, meta) => {
      if ((meta.state === 'play' || meta.state === 'configuration') && keep.has(meta.name)) {
        packets.push({ state: meta.state, name: meta.name, data: Buffer.from(buf).toString('base64') })
      }
    })
    client.on('error', fail)
    const columns = []
    client.on('map_chunk', (p) => columns.push([p.x, p.z]))
    const chunkCount = () => columns.length
    // flying-squid sends a (2·view)² square first; that is what we record.
    const wanted = (2 * VIEW_DISTANCE) ** 2
    await new Promise((resolve) => {
      const t = setInterval(() => { if (chunkCount() >= wanted) { clearInterval(t); resolve() } }, 50)
    })
    // One block change after join: flying-squid sends block_change.
    const changed = sp.offset(0, 3, 0)
    const stone = reg.blocksByName.stone
    const cstate = flat ? stone.defaultState ?? stone.minStateId : (stone.id << 4) | 1
    const before = packets.length
    await serv.setBlock(serv.overworld, changed, cstate)
    await new Promise((resolve) => {
      const t = setInterval(() => { if (packets.length > before) { clearInterval(t); resolve() } }, 20)
    })
    placed.push({ name: 'changed', x: changed.x, y: changed.y, z: changed.z, state: cstate })

    // Samples from flying-squid's own world, for every column it sent.
    const samples = []
    const minY = serv.supportFeature('tallWorld') ? -64 : 0
    const height = serv.supportFeature('tallWorld') ? 384 : 256
    for (const [cx, cz] of columns.slice(0, wanted)) {
      {
        for (let i = 0; i < SAMPLES_PER_COLUMN; i++) {
          // Half the samples in the generated band (y < 96), where blocks are.
          const y = i % 2 === 0 ? minY + rand(height) : rand(96)
          const p = new Vec3(cx * 16 + rand(16), y, cz * 16 + rand(16))
          samples.push([p.x, p.y, p.z, await serv.overworld.getBlockStateId(p)])
        }
      }
    }
    for (const p of placed) samples.push([p.x, p.y, p.z, await serv.overworld.getBlockStateId(new Vec3(p.x, p.y, p.z))])
    client.end()
    const doc = JSON.stringify({ version, packets, samples, placed })
    fs.writeFileSync(out, zlib.gzipSync(doc, { level: 9 }))
    console.error(`${version}: ${packets.length} packets, ${samples.length} samples -> ${out}`)
    process.exit(0)
  } catch (err) {
    fail(err)
  }
})
serv.on('error', fail)

'use strict'

// gen.js writes the world the verification limbo shows to a client: for every
// supported protocol, the configuration packets (1.20.2+), the Join Game
// packets and a chunk column holding a stone platform at one of a few heights.
// The packets are encoded by the real serialisers of the npm packages
// minecraft-protocol, prismarine-chunk and prismarine-nbt with the data of
// minecraft-data (PrismarineJS; MIT, minecraft-protocol BSD-3-Clause; see
// ../THIRD_PARTY.md), so the bytes are what an independent implementation of
// each version produces.
//
//   node gen.js --modules <dir with node_modules> --out <world.bin> --fixtures <encoders.json>
//
// Output 1, world.bin (embedded by the Go package; format in ../world.go):
// every packet is stored once, already framed for a connection whose
// compression threshold is THRESHOLD: packets from THRESHOLD bytes on are
// zlib-compressed here, once, instead of on every connection.
//
// Output 2, encoders.json: the same serialisers' encoding of the few packets
// the Go code writes itself (teleport, keep-alive, transfer, login success,
// finish configuration) with sample values, so a Go test can prove its
// encoders byte-identical without node.
//
// The output depends only on the package versions: no clock, no randomness.

const fs = require('fs')
const path = require('path')
const zlib = require('zlib')
const { parseArgs } = require('util')
const { createRequire } = require('module')

const args = parseArgs({
  options: {
    modules: { type: 'string' },
    out: { type: 'string' },
    fixtures: { type: 'string' }
  },
  strict: true
}).values
for (const name of ['modules', 'out', 'fixtures']) {
  if (!args[name]) {
    console.error(`gen.js: missing --${name}`)
    process.exit(2)
  }
}

// Resolve the PrismarineJS packages from the e2e suite's node_modules, the one
// place the repository installs them (make deps-npm).
const req = createRequire(path.join(path.resolve(args.modules), 'package.json'))
const mc = req('minecraft-protocol')
const mcData = req('minecraft-data')
const nbt = req('prismarine-nbt')
const { Vec3 } = req('vec3')

// THRESHOLD is the compression threshold the limbo announces with Set
// Compression: vanilla's default network-compression-threshold. It must match
// compressionThreshold in the Go package (checked when the file is loaded).
const THRESHOLD = 256

// FORMAT_MAGIC starts world.bin; bump the digit on any layout change.
const FORMAT_MAGIC = 'RGLIMBO1'

// The platform: 8 × 8 stone blocks in chunk (0, 0), x and z 4..11, so a
// player standing at the centre of block (8, 8) is two blocks from any edge.
// Its top face is at platformY + 1. The heights are spread over several chunk
// sections; the limbo picks one per connection, and a random fall height
// above it, so a bot cannot replay a recorded fall.
const PLATFORM_MIN = 4
const PLATFORM_MAX = 11 // inclusive
const PLATFORM_HEIGHTS = [67, 75, 84, 93, 101, 110, 118, 126]

// The fixed spawn point shown by Spawn Position (compass, respawn); the limbo
// never respawns anyone, so it only has to be inside the world.
const SPAWN_POINT = { x: 8, y: 128, z: 8 }

// ENTITY_ID is the player's entity id in Join Game. The limbo spawns no other
// entity, so any value works.
const ENTITY_ID = 1

// Every protocol from 1.8 to 1.21.4, with the minecraft-data version whose
// protocol description and login data encode it. 485 (1.14.2) has no data of
// its own: its packet layouts are those of 1.14.1 and 1.14.3 (the packet
// tables in shared/mcproto/packets say the same). 108 has only a
// pre-release's data, which already has 1.9.1's int dimension in Join Game.
// `world` names the release whose block registry and chunk format build the
// chunk when `data` has no block data of its own.
const TARGETS = [
  { protocol: 47, data: '1.8.8' },
  { protocol: 107, data: '1.9' },
  { protocol: 108, data: '1.9.1-pre2', world: '1.9' },
  { protocol: 109, data: '1.9.2', world: '1.9' },
  { protocol: 110, data: '1.9.4' },
  { protocol: 210, data: '1.10.2' },
  { protocol: 315, data: '1.11' },
  { protocol: 316, data: '1.11.2' },
  { protocol: 335, data: '1.12' },
  { protocol: 338, data: '1.12.1' },
  { protocol: 340, data: '1.12.2' },
  { protocol: 393, data: '1.13' },
  { protocol: 401, data: '1.13.1' },
  { protocol: 404, data: '1.13.2' },
  { protocol: 477, data: '1.14' },
  { protocol: 480, data: '1.14.1' },
  { protocol: 485, data: '1.14.1' },
  { protocol: 490, data: '1.14.3' },
  { protocol: 498, data: '1.14.4' },
  { protocol: 573, data: '1.15' },
  { protocol: 575, data: '1.15.1' },
  { protocol: 578, data: '1.15.2' },
  { protocol: 735, data: '1.16' },
  { protocol: 736, data: '1.16.1' },
  { protocol: 751, data: '1.16.2' },
  { protocol: 753, data: '1.16.3' },
  { protocol: 754, data: '1.16.5' },
  { protocol: 755, data: '1.17' },
  { protocol: 756, data: '1.17.1' },
  { protocol: 757, data: '1.18.1' },
  { protocol: 758, data: '1.18.2' },
  { protocol: 759, data: '1.19' },
  { protocol: 760, data: '1.19.2' },
  { protocol: 761, data: '1.19.3' },
  { protocol: 762, data: '1.19.4' },
  { protocol: 763, data: '1.20.1' },
  { protocol: 764, data: '1.20.2' },
  { protocol: 765, data: '1.20.4' },
  { protocol: 766, data: '1.20.6' },
  { protocol: 767, data: '1.21.1' },
  { protocol: 768, data: '1.21.3' },
  { protocol: 769, data: '1.21.4' }
]

// Registries left out of the configuration. 1.21's enchantments refer to
// dozens of item, block and entity tags that a client resolves while loading
// them; minecraft-data carries no tag contents, and a limbo shows no item, so
// the registry is not sent at all.
const SKIPPED_REGISTRIES = new Set(['minecraft:enchantment'])

// Where the registries we send refer to tags (a string starting with '#'):
// registry → field → the registry the tag belongs to. The configuration
// declares each of these tags, empty, so a client that resolves references
// finds them. A reference found anywhere else stops the generator, so a new
// version cannot silently ship an unresolvable one.
const TAG_FIELDS = {
  'minecraft:dimension_type': { infiniburn: 'minecraft:block' },
  'minecraft:wolf_variant': { biomes: 'minecraft:worldgen/biome' }
}

// --- the serialisers ---------------------------------------------------------

const serializers = {}
function encode (target, state, name, params) {
  const key = `${target.data};${state}`
  if (!serializers[key]) {
    serializers[key] = mc.createSerializer({ state, isServer: true, version: target.data })
  }
  try {
    return serializers[key].createPacketBuffer({ name, params })
  } catch (err) {
    throw new Error(`${target.data} ${state} ${name}: ${err.message}`)
  }
}

// --- the chunk column --------------------------------------------------------

function worldVersion (target) {
  return target.world ?? target.data
}

// heightmap returns Join Game's MOTION_BLOCKING heightmap for a column whose
// only blocks are the platform: per column the height above the world bottom
// of the first free block, packed as the release packs it (1.14–1.15: values
// span longs; 1.16+: they do not).
function heightmap (registry, minY, worldHeight, platformY) {
  const bits = Math.ceil(Math.log2(worldHeight + 1))
  const perLong = registry.version['>=']('1.16') ? Math.floor(64 / bits) : 64 / bits
  const longs = registry.version['>=']('1.16') ? Math.ceil(256 / perLong) : (256 * bits) / 64
  const words = new Array(longs).fill(0n)
  const mask = (1n << BigInt(bits)) - 1n
  for (let z = 0; z < 16; z++) {
    for (let x = 0; x < 16; x++) {
      const onPlatform = x >= PLATFORM_MIN && x <= PLATFORM_MAX && z >= PLATFORM_MIN && z <= PLATFORM_MAX
      const value = BigInt(onPlatform ? platformY + 1 - minY : 0) & mask
      const i = z * 16 + x
      if (registry.version['>=']('1.16')) {
        const w = Math.floor(i / perLong)
        words[w] |= value << BigInt((i % perLong) * bits)
      } else {
        const bit = i * bits
        const w = Math.floor(bit / 64)
        const off = bit % 64
        words[w] |= (value << BigInt(off)) & 0xffffffffffffffffn
        if (off + bits > 64) words[w + 1] |= value >> BigInt(64 - off)
      }
    }
  }
  // prismarine-nbt writes a long as [high, low] signed 32-bit halves.
  const pairs = words.map((w) => [Number(BigInt.asIntN(32, w >> 32n)), Number(BigInt.asIntN(32, w & 0xffffffffn))])
  return nbt.comp({ MOTION_BLOCKING: nbt.longArray(pairs) })
}

// litColumns caches, per release, an empty column lit by the sky
// everywhere, as under an open sky (otherwise the client draws the platform
// black). Lighting 100,000 positions is the slow part; the platform
// variants start from a copy.
const litColumns = new Map()
function litColumn (Chunk, registry, dims) {
  const key = registry.version.minecraftVersion
  if (!litColumns.has(key)) {
    const column = registry.version['>=']('1.18') ? new Chunk({ minY: dims.minY, worldHeight: dims.height }) : new Chunk()
    const pos = new Vec3(0, 0, 0)
    for (let y = dims.minY; y < dims.minY + dims.height; y++) {
      for (let z = 0; z < 16; z++) {
        for (let x = 0; x < 16; x++) {
          pos.set(x, y, z)
          column.setSkyLight(pos, 15)
        }
      }
    }
    litColumns.set(key, column.toJson())
  }
  return Chunk.fromJson(litColumns.get(key))
}

function chunkPackets (target, platformY, dims) {
  const registry = req('prismarine-registry')(worldVersion(target))
  const Chunk = req('prismarine-chunk')(registry)
  const tall = registry.version['>=']('1.18')
  const column = litColumn(Chunk, registry, dims)
  const stone = registry.blocksByName.stone
  const pos = new Vec3(0, 0, 0)
  for (let z = PLATFORM_MIN; z <= PLATFORM_MAX; z++) {
    for (let x = PLATFORM_MIN; x <= PLATFORM_MAX; x++) {
      pos.set(x, platformY, z)
      column.setBlockStateId(pos, registry.version['>=']('1.13') ? stone.defaultState : stone.id << 4)
    }
  }

  const heightmaps = heightmap(registry, dims.minY, dims.height, platformY)
  const out = []
  if (tall) {
    out.push(['map_chunk', encode(target, 'play', 'map_chunk', {
      x: 0,
      z: 0,
      heightmaps,
      chunkData: column.dump(),
      blockEntities: [],
      trustEdges: true,
      ...column.dumpLight()
    })])
    return out
  }
  out.push(['map_chunk', encode(target, 'play', 'map_chunk', {
    x: 0,
    z: 0,
    groundUp: true,
    bitMap: column.getMask(),
    biomes: column.dumpBiomes(),
    ignoreOldData: true,
    heightmaps,
    chunkData: column.dump(),
    blockEntities: []
  })])
  if (registry.version['>=']('1.17')) {
    out.push(['update_light', encode(target, 'play', 'update_light', {
      chunkX: 0,
      chunkZ: 0,
      trustEdges: true,
      ...column.dumpLight()
    })])
  } else if (registry.version['>=']('1.14')) {
    out.push(['update_light', encode(target, 'play', 'update_light', {
      chunkX: 0,
      chunkZ: 0,
      trustEdges: true,
      skyLightMask: column.skyLightMask,
      blockLightMask: column.blockLightMask,
      emptySkyLightMask: 0,
      emptyBlockLightMask: 0,
      data: column.dumpLight()
    })])
  }
  return out
}

// --- registries and tags -----------------------------------------------------

// collectTags walks an NBT value of one registry and adds every '#tag'
// reference to tags (registry → Set of names).
function collectTags (registryName, value, field, tags) {
  if (value === null || typeof value !== 'object') return
  if (value.type === 'string' && typeof value.value === 'string') {
    if (value.value.startsWith('#') && !/^#[0-9a-fA-F]{6}$/.test(value.value)) {
      const owner = TAG_FIELDS[registryName]?.[field]
      if (!owner) throw new Error(`${registryName}: tag ${value.value} in field ${field} has no known owner`)
      if (!tags.has(owner)) tags.set(owner, new Set())
      tags.get(owner).add(value.value.slice(1))
    }
    return
  }
  if (value.type === 'compound') {
    for (const [k, v] of Object.entries(value.value)) collectTags(registryName, v, k, tags)
    return
  }
  if (value.type === 'list') {
    for (const item of value.value.value ?? []) {
      collectTags(registryName, typeof item === 'object' && item !== null && !('type' in item) ? { type: value.value.type, value: item } : item, field, tags)
    }
  }
}

function tagsPacket (target, tags) {
  const list = [...tags.keys()].sort().map((tagType) => ({
    tagType,
    tags: [...tags.get(tagType)].sort().map((tagName) => ({ tagName, entries: [] }))
  }))
  return ['tags', encode(target, 'configuration', 'tags', { tags: list })]
}

function configurationPackets (target, data) {
  const out = []
  const tags = new Map()
  const codec = data.loginPacket.dimensionCodec
  out.push(['feature_flags', encode(target, 'configuration', 'feature_flags', { features: ['minecraft:vanilla'] })])
  if (data.supportFeature('segmentedRegistryCodecData')) { // 1.20.5+: one packet per registry
    for (const [name, registry] of Object.entries(codec)) {
      if (SKIPPED_REGISTRIES.has(name)) continue
      for (const entry of registry.entries) collectTags(name, entry.value, '', tags)
      out.push(['registry_data', encode(target, 'configuration', 'registry_data', registry)])
    }
  } else { // 1.20.2–1.20.4: one codec holding every registry
    for (const [name, registry] of Object.entries(codec.value)) {
      for (const entry of registry.value.value.value.value) collectTags(name, entry.element, '', tags)
    }
    out.push(['registry_data', encode(target, 'configuration', 'registry_data', { codec })])
  }
  out.push(tagsPacket(target, tags))
  return out
}

// --- Join Game and the packets around it -------------------------------------

function joinPackets (target, data) {
  const lp = data.loginPacket ?? {}
  const params = {
    ...lp,
    entityId: ENTITY_ID,
    isHardcore: false,
    gameMode: 0,
    previousGameMode: lp.previousGameMode ?? 255,
    dimension: lp.dimension ?? 0,
    hashedSeed: lp.hashedSeed ?? [0, 0],
    difficulty: 1,
    maxPlayers: 1,
    levelType: 'flat',
    viewDistance: 2,
    simulationDistance: 2,
    reducedDebugInfo: true,
    enableRespawnScreen: true,
    enforcesSecureChat: false
  }
  if (lp.worldState) params.worldState = { ...lp.worldState, gamemode: 'survival', previousGamemode: 255 }
  const out = [['login', encode(target, 'play', 'login', params)]]
  out.push(['spawn_position', encode(target, 'play', 'spawn_position', { location: SPAWN_POINT, angle: 0 })])
  if (data.version['>=']('1.20.3')) {
    // "Start waiting for level chunks": without it a 1.20.3+ client keeps
    // its loading screen up and does not tick the player.
    out.push(['game_state_change', encode(target, 'play', 'game_state_change', { reason: 'level_chunks_load_start', gameMode: 0 })])
  }
  return out
}

// dimensions returns the overworld's bottom and height, from the dimension
// type Join Game names (1.18+ worlds reach below 0).
function dimensions (data) {
  if (!data.version['>=']('1.18')) return { minY: 0, height: 256 }
  const codec = data.loginPacket.dimensionCodec
  let element
  if (data.supportFeature('segmentedRegistryCodecData')) {
    element = codec['minecraft:dimension_type'].entries.find((e) => e.key === 'minecraft:overworld').value
  } else if (data.loginPacket.dimension && data.loginPacket.dimension.type === 'compound') {
    element = data.loginPacket.dimension // 1.18–1.18.2 inline the type in Join Game
  } else {
    const list = codec.value['minecraft:dimension_type'].value.value.value.value
    element = list.find((e) => e.name.value === 'minecraft:overworld').element
  }
  const simple = nbt.simplify(element)
  return { minY: simple.min_y, height: simple.height }
}

// --- fixtures for the Go encoders --------------------------------------------

function fixtures (target, data) {
  const f = { protocol: target.protocol }
  const hex = (b) => b.toString('hex')
  const pos = { x: 8.5, y: 97.25, z: 8.5, yaw: 0, pitch: 0, teleportId: 123456, dismountVehicle: false, dx: 0, dy: 0, dz: 0 }
  pos.flags = data.version['>=']('1.21.2')
    ? { x: false, y: false, z: false, yaw: false, pitch: false }
    : (data.version['>=']('1.20.5') ? { x: false, y: false, z: false, yaw: false, pitch: false } : 0)
  f.teleport = { x: pos.x, y: pos.y, z: pos.z, id: pos.teleportId, hex: hex(encode(target, 'play', 'position', pos)) }
  const keepAliveID = data.version['>=']('1.12.2') ? 1234567890123n : 12345
  f.keep_alive_play = { id: String(keepAliveID), hex: hex(encode(target, 'play', 'keep_alive', { keepAliveId: keepAliveID })) }
  f.login_success = {
    uuid: '069a79f4-44e9-4726-a5be-fca90e38aaf5',
    name: 'Notch',
    hex: hex(encode(target, 'login', 'success', { uuid: '069a79f4-44e9-4726-a5be-fca90e38aaf5', username: 'Notch', properties: [], strictErrorHandling: false }))
  }
  f.set_compression = { threshold: THRESHOLD, hex: hex(encode(target, 'login', 'compress', { threshold: THRESHOLD })) }
  if (data.version['>=']('1.20.2')) {
    f.keep_alive_configuration = { id: String(keepAliveID), hex: hex(encode(target, 'configuration', 'keep_alive', { keepAliveId: keepAliveID })) }
    f.finish_configuration = { hex: hex(encode(target, 'configuration', 'finish_configuration', {})) }
  }
  if (data.version['>=']('1.20.5')) {
    f.transfer = { host: 'play.example.net', port: 25565, hex: hex(encode(target, 'play', 'transfer', { host: 'play.example.net', port: 25565 })) }
  }
  return f
}

// --- framing -----------------------------------------------------------------

function varint (n) {
  const out = []
  let u = n >>> 0
  while (u >= 0x80) {
    out.push((u & 0x7f) | 0x80)
    u >>>= 7
  }
  out.push(u)
  return Buffer.from(out)
}

function str (s) {
  const b = Buffer.from(s, 'utf8')
  return Buffer.concat([varint(b.length), b])
}

// frame returns packet (id + data) framed for a leg compressed at THRESHOLD,
// the way vanilla's encoder does it.
function frame (packet) {
  let body
  if (packet.length < THRESHOLD) {
    body = Buffer.concat([varint(0), packet])
  } else {
    body = Buffer.concat([varint(packet.length), zlib.deflateSync(packet, { level: 9 })])
  }
  if (body.length > (1 << 21) - 1) throw new Error(`frame of ${body.length} bytes does not fit a 21-bit length`)
  return Buffer.concat([varint(body.length), body])
}

// --- main --------------------------------------------------------------------

const blobs = [] // { state, name, frame }
const blobIndex = new Map()
function blob (state, [name, packet]) {
  const framed = frame(packet)
  const key = state + '\0' + name + '\0' + framed.toString('base64')
  if (!blobIndex.has(key)) {
    blobIndex.set(key, blobs.length)
    blobs.push({ state, name, frame: framed })
  }
  return blobIndex.get(key)
}

const records = []
const fixtureList = []
for (const target of TARGETS) {
  const data = mcData(target.data)
  if (!data) throw new Error(`minecraft-data has no ${target.data}`)
  const configuration = data.version['>=']('1.20.2') ? configurationPackets(target, data).map((p) => blob('configuration', p)) : []
  const join = joinPackets(target, data).map((p) => blob('play', p))
  const dims = dimensions(data)
  const variants = PLATFORM_HEIGHTS.map((y) => {
    if (y + 16 >= dims.minY + dims.height) throw new Error(`${target.data}: platform ${y} too close to the build limit`)
    return { y, chunk: chunkPackets(target, y, dims).map((p) => blob('play', p)) }
  })
  records.push({ protocol: target.protocol, version: target.data, configuration, join, variants })
  fixtureList.push(fixtures(target, data))
}

const parts = [Buffer.from(FORMAT_MAGIC, 'ascii'), varint(THRESHOLD), varint(blobs.length)]
for (const b of blobs) parts.push(str(b.state), str(b.name), varint(b.frame.length), b.frame)
parts.push(varint(records.length))
for (const r of records) {
  parts.push(varint(r.protocol), str(r.version))
  parts.push(varint(r.configuration.length), ...r.configuration.map(varint))
  parts.push(varint(r.join.length), ...r.join.map(varint))
  parts.push(varint(r.variants.length))
  for (const v of r.variants) parts.push(varint(v.y), varint(v.chunk.length), ...v.chunk.map(varint))
}
fs.writeFileSync(args.out, Buffer.concat(parts))
fs.writeFileSync(args.fixtures, JSON.stringify({
  generator: 'edge/internal/limbo/gen/gen.js',
  // minecraft-protocol's offline-mode UUIDs, to check ours against.
  offline_uuids: Object.fromEntries(['Notch', 'jeb_', 'a_b_c_123'].map((n) => [n, req('minecraft-protocol/src/datatypes/uuid').nameToMcOfflineUUID(n)])),
  packages: Object.fromEntries(['minecraft-protocol', 'minecraft-data', 'prismarine-chunk', 'prismarine-nbt'].map((p) => [p, req(`${p}/package.json`).version])),
  protocols: fixtureList
}, null, 1) + '\n')

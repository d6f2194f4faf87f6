// gentraces.js writes traces.json: honest movement traces from
// prismarine-physics, the physics engine mineflayer bots (the e2e suite's
// clients) run, an implementation of vanilla's player physics independent
// of package predict. Each trace is a small world, per-tick inputs and the
// positions the engine reached. Run from test/e2e, with its node_modules:
//   NODE_PATH=$PWD/node_modules node ../../edge/internal/detect/predict/testdata/gentraces.js | gzip -9 > ../../edge/internal/detect/predict/testdata/traces.json.gz
const { Vec3 } = require('vec3')
const { Physics, PlayerState } = require('prismarine-physics')

const versions = [['1.8.8', 47], ['1.12.2', 340], ['1.16.5', 754], ['1.20.4', 765], ['1.21.4', 769]]

function stateOf (mcData, name, props) {
  const b = mcData.blocksByName[name]
  if (!b) throw new Error(mcData.version.minecraftVersion + ': no block ' + name)
  if (b.minStateId === undefined) return b.id << 4 | (props && props.meta ? props.meta : 0)
  if (!props || !b.states || b.states.length === 0) return b.defaultState
  // state index: properties in order, the last one changing fastest
  let idx = 0
  for (const s of b.states) {
    const n = s.num_values
    let v = 0
    if (props[s.name] !== undefined) {
      v = s.values ? s.values.indexOf(String(props[s.name])) : Number(props[s.name])
      if (v < 0) throw new Error('bad value ' + s.name)
    } else {
      const d = mcData.blocksByStateId[b.defaultState]
      v = 0
      // default value index: decode from defaultState
      let rem = b.defaultState - b.minStateId
      let stride = 1
      const after = b.states.slice(b.states.indexOf(s) + 1)
      for (const a of after) stride *= a.num_values
      v = Math.floor(rem / stride) % n
      void d
    }
    idx = idx * n + v
  }
  return b.minStateId + idx
}

function world (mcData, blocks) {
  const Block = require('prismarine-block')(mcData.version.minecraftVersion)
  const map = new Map()
  for (const [x, y, z, s] of blocks) map.set(x + ',' + y + ',' + z, s)
  return {
    getBlock (pos) {
      const p = pos.floored()
      const s = map.get(p.x + ',' + p.y + ',' + p.z) ?? 0
      const b = Block.fromStateId(s, 0)
      b.position = p
      return b
    }
  }
}

function floor (blocks, mcData, name, x0, x1, z0, z1, y, props) {
  const s = stateOf(mcData, name, props)
  for (let x = x0; x <= x1; x++) for (let z = z0; z <= z1; z++) blocks.push([x, y, z, s])
}

// Scenarios: a name, the blocks, the start, and per tick the controls and
// the vanilla yaw in degrees (0: towards +z).
function scenarios (mcData, legacy) {
  const out = []
  const ctl = (o) => Object.assign({ forward: false, back: false, left: false, right: false, jump: false, sprint: false, sneak: false }, o)
  const rep = (n, c) => Array.from({ length: n }, () => c)
  const stone = (b) => floor(b, mcData, 'stone', -8, 8, -8, 40, 63)
  {
    const b = []; stone(b)
    out.push({ name: 'walk', blocks: b, start: [0.5, 64, 0.5], ticks: [...rep(5, ctl({})), ...rep(40, ctl({ forward: true })), ...rep(10, ctl({}))] })
  }
  {
    const b = []; stone(b)
    out.push({ name: 'sprint_jump', blocks: b, start: [0.5, 64, 0.5], ticks: [...rep(3, ctl({})), ...rep(60, ctl({ forward: true, sprint: true, jump: true }))] })
  }
  {
    const b = []; stone(b)
    out.push({ name: 'strafe_sneak', blocks: b, start: [0.5, 64, 0.5], ticks: [...rep(3, ctl({})), ...rep(20, ctl({ forward: true, left: true, sneak: true })), ...rep(20, ctl({ right: true }))] })
  }
  {
    const b = []; stone(b)
    out.push({ name: 'fall', blocks: b, start: [0.5, 80, 0.5], ticks: [...rep(40, ctl({}))] })
  }
  {
    const b = []; stone(b)
    const slab = legacy ? ['stone_slab', { meta: 0 }] : [mcData.blocksByName.stone_slab ? 'stone_slab' : 'smooth_stone_slab', { type: 'bottom' }]
    b.push([0, 64, 4, stateOf(mcData, slab[0], slab[1])])
    b.push([0, 64, 8, stateOf(mcData, 'stone')].slice(0, 3).concat([stateOf(mcData, slab[0], slab[1])]))
    for (let z = 9; z <= 12; z++) b.push([0, 64, z, stateOf(mcData, 'stone')])
    out.push({ name: 'slab_step', blocks: b, start: [0.5, 64, 0.5], ticks: [...rep(3, ctl({})), ...rep(50, ctl({ forward: true }))] })
  }
  {
    const b = []; floor(b, mcData, 'stone', -8, 8, -8, -1, 63); floor(b, mcData, legacy ? 'ice' : 'ice', -8, 8, 0, 40, 63)
    out.push({ name: 'ice', blocks: b, start: [0.5, 64, 0.5], ticks: [...rep(3, ctl({})), ...rep(30, ctl({ forward: true, sprint: true })), ...rep(30, ctl({}))] })
  }
  {
    const b = []; stone(b)
    floor(b, mcData, legacy ? 'slime' : 'slime_block', -1, 1, -1, 1, 63)
    out.push({ name: 'slime_bounce', blocks: b, start: [0.5, 72, 0.5], ticks: [...rep(80, ctl({}))] })
  }
  {
    const b = []; stone(b)
    const water = stateOf(mcData, 'water')
    for (let x = -3; x <= 3; x++) for (let z = -3; z <= 3; z++) for (let y = 60; y <= 63; y++) b.push([x, y, z, water])
    floor(b, mcData, 'stone', -4, 4, -4, 4, 59)
    out.push({ name: 'water', blocks: b.filter(([x, y, z]) => !(y === 63 && Math.abs(x) <= 3 && Math.abs(z) <= 3 && false)), start: [0.5, 63.5, 0.5], ticks: [...rep(30, ctl({})), ...rep(30, ctl({ jump: true })), ...rep(20, ctl({ forward: true }))] })
  }
  {
    const b = []; stone(b)
    for (let y = 64; y <= 72; y++) b.push([0, y, 2, stateOf(mcData, 'stone')])
    const ladder = legacy ? stateOf(mcData, 'ladder', { meta: 2 }) : stateOf(mcData, 'ladder', { facing: 'north' })
    for (let y = 64; y <= 72; y++) b.push([0, y, 1, ladder])
    out.push({ name: 'ladder', blocks: b, start: [0.5, 64, 0.5], ticks: [...rep(3, ctl({})), ...rep(40, ctl({ forward: true })), ...rep(20, ctl({}))] })
  }
  {
    const b = []; stone(b)
    b.push([0, 64, 3, stateOf(mcData, legacy ? 'web' : 'cobweb')])
    out.push({ name: 'cobweb', blocks: b, start: [0.5, 64, 0.5], ticks: [...rep(3, ctl({})), ...rep(60, ctl({ forward: true }))] })
  }
  {
    // The e2e suite's climb: a ladder on the west face of a stone column,
    // the player in the ladder's block facing +x (vanilla yaw -90).
    const b = []; stone(b)
    const ladder = legacy ? stateOf(mcData, 'ladder', { meta: 4 }) : stateOf(mcData, 'ladder', { facing: 'west' })
    for (let y = 64; y <= 66; y++) {
      b.push([1, y, 0, stateOf(mcData, 'stone')])
      b.push([0, y, 0, ladder])
    }
    out.push({ name: 'ladder_column', blocks: b, start: [0.5, 64, 0.5], yaw: -90, ticks: [...rep(3, ctl({})), ...rep(50, ctl({ forward: true }))] })
  }
  return out
}

const out = []
for (const [version, protocol] of versions) {
  const mcData = require('minecraft-data')(version)
  const legacy = mcData.version['<']('1.13')
  for (const sc of scenarios(mcData, legacy)) {
    const w = world(mcData, sc.blocks)
    const physics = Physics(mcData, w)
    const bot = {
      version,
      entity: {
        position: new Vec3(...sc.start), velocity: new Vec3(0, 0, 0), onGround: false, isInWater: false, isInLava: false, isInWeb: false,
        isCollidedHorizontally: false, isCollidedVertically: false, elytraFlying: false, yaw: Math.PI - (sc.yaw || 0) * Math.PI / 180, pitch: 0, effects: {}, attributes: {}
      },
      jumpTicks: 0, jumpQueued: false, fireworkRocketDuration: 0,
      inventory: { slots: [] }
    }
    const ticks = []
    for (const c of sc.ticks) {
      const st = new PlayerState(bot, c)
      physics.simulatePlayer(st, w)
      st.apply(bot)
      const e = bot.entity
      ticks.push({ x: e.position.x, y: e.position.y, z: e.position.z, ground: e.onGround, sprint: c.sprint, sneak: c.sneak })
    }
    out.push({ version, protocol, name: sc.name, blocks: sc.blocks, start: sc.start, yaw: sc.yaw || 0, ticks })
  }
}
process.stdout.write(JSON.stringify(out))

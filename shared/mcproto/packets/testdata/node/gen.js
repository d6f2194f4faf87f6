// Writes packets.json: play packets serialised by minecraft-protocol, an
// implementation independent of ours, for TestPlayDecodersAgreeWithNode.
// Regenerate from the repository root after `make deps-npm`:
//   node shared/mcproto/packets/testdata/node/gen.js
const path = require('path').join(__dirname, '../../../../../test/e2e/node_modules') + '/'
const { createSerializer } = require(path + 'minecraft-protocol/src/transforms/serializer')
const mcData = require(path + 'minecraft-data')
const versions = ['1.8','1.9','1.10','1.11','1.12.1','1.12.2','1.13','1.13.1','1.13.2','1.14','1.15','1.16','1.16.1','1.16.2','1.17','1.17.1','1.18','1.18.2','1.19','1.19.2','1.19.3','1.19.4','1.20','1.20.2','1.20.3','1.20.5','1.21.1','1.21.3','1.21.4','1.21.5','1.21.6','1.21.8','1.21.9','1.21.11','26.1']
const uuid = '01020304-0506-0708-090a-0b0c0d0e0f10'
const pos = { x: 10, y: 64, z: -20 }
const sig256 = Buffer.alloc(256, 7)
const flags = { onGround: true, hasHorizontalCollision: true }
const sv = {
  keep_alive: { keepAliveId: 300 },
  pong: { id: -5 },
  transaction: { windowId: 1, action: -2, accepted: true },
  teleport_confirm: { teleportId: 77 },
  position: { x: 1.5, y: 64, z: -3, onGround: true, flags },
  position_look: { x: 1.5, y: 64, z: -3, yaw: 90, pitch: -45, onGround: true, flags },
  look: { yaw: 90, pitch: -45, onGround: false, flags: { onGround: false, hasHorizontalCollision: true } },
  flying: { onGround: true, flags },
  vehicle_move: { x: 1, y: 2, z: 3, yaw: 4, pitch: 5, onGround: true },
  tick_end: {},
  chat: { message: 'hello' },
  chat_message: { message: 'hello', timestamp: 1700000000000n, salt: -42n, signature: sig256, signedPreview: false, offset: 3, acknowledged: Buffer.from([1, 2, 3]), checksum: 9,
    previousMessages: [{ messageSender: uuid, messageSignature: Buffer.from([1, 2]) }], lastRejectedMessage: undefined },
  chat_command: { command: 'tp @s', timestamp: 5n, salt: 6n, argumentSignatures: [], signedPreview: false, messageCount: 0, acknowledged: Buffer.from([0, 0, 0]),
    previousMessages: [], lastRejectedMessage: undefined },
  chat_command_signed: { command: 'msg a b', timestamp: 5n, salt: 6n, argumentSignatures: [{ argumentName: 'message', signature: sig256 }], messageCount: 1, acknowledged: Buffer.from([1, 0, 0]), checksum: 4 },
  tab_complete: { text: '/tp ', assumeCommand: true, block: pos, lookedAtBlock: pos, transactionId: 9 },
  use_entity: { target: 42, mouse: 2, x: 0.5, y: 1, z: -0.25, hand: 1, sneaking: true, location: { x: 1, y: 0, z: -1 } },
  attack: { entityId: 42 },
  arm_animation: { hand: 1 },
  held_item_slot: { slotId: 4 },
  entity_action: { entityId: 1, actionId: 3, jumpBoost: 0 },
  abilities: { flags: 2, flyingSpeed: 0.05, walkingSpeed: 0.1 },
  settings: { locale: 'en_us', viewDistance: 10, chatFlags: 0, chatColors: true, skinParts: 127, mainHand: 1, disableTextFiltering: false, enableTextFiltering: true, enableServerListing: true, particleStatus: 1 },
  custom_payload: { channel: 'minecraft:brand', data: Buffer.from('vanilla') },
  edit_book: { hand: 2, pages: ['a', 'bb'], title: 'T' },
  update_sign: { location: pos, isFrontText: true, text1: 'a', text2: 'b', text3: 'c', text4: 'd' },
  close_window: { windowId: 3 },
  name_item: { name: 'Épée ✦' },
  block_dig: { status: 2, location: pos, face: 1, sequence: 8 },
  block_place: { location: pos, direction: 1, hand: 1, cursorX: 0.5, cursorY: 0.25, cursorZ: 0, insideBlock: true, worldBorderHit: false, sequence: 3, heldItem: { blockId: -1 } },
  use_item: { hand: 1, sequence: 2, rotation: { x: 90, y: -10 } },
  window_click: { windowId: 1, stateId: 5, slot: 10, mouseButton: 0, action: 2, mode: 0, changedSlots: [], item: { blockId: -1, itemId: -1, present: false, itemCount: 0 }, cursorItem: { present: false, itemCount: 0 } },
}
const cl = {
  keep_alive: { keepAliveId: 300 },
  ping: { id: 9 },
  transaction: { windowId: 0, action: 5, accepted: false },
  kick_disconnect: { reason: '{"text":"bye"}' },
  position: { x: 1, y: 2, z: 3, dx: 0.5, dy: 0, dz: 0, yaw: 90, pitch: 0, flags: 0x18, teleportId: 4, dismountVehicle: true },
  spawn_entity: { entityId: 10, objectUUID: uuid, type: 2, x: 10.5, y: 64, z: -0.25, pitch: 32, yaw: -64, headPitch: 64, objectData: 1, velocity: { x: 1000, y: -4000, z: 0 } },
  spawn_entity_living: { entityId: 11, entityUUID: uuid, type: 50, x: 10.5, y: 64, z: -0.25, yaw: 64, pitch: 0, headPitch: 32, velocity: { x: 0, y: 0, z: 8 }, metadata: [] },
  named_entity_spawn: { entityId: 12, playerUUID: uuid, x: 10.5, y: 64, z: -0.25, yaw: 64, pitch: 0, currentItem: 0, metadata: [] },
  rel_entity_move: { entityId: 5, dX: 4, dY: -32, dZ: 100, onGround: true },
  entity_move_look: { entityId: 5, dX: 4, dY: -32, dZ: 100, yaw: 64, pitch: -64, onGround: true },
  entity_look: { entityId: 5, yaw: 64, pitch: -64, onGround: true },
  entity_teleport: { entityId: 5, x: 10.5, y: 64, z: -0.25, dx: 0.5, dy: 0, dz: 0, yaw: 64, pitch: 0, flags: 1, onGround: true },
  sync_entity_position: { entityId: 5, x: 1, y: 2, z: 3, dx: 0.5, dy: 0, dz: 0, yaw: 4, pitch: 5, onGround: true },
  entity_destroy: { entityIds: [1, 300, 70000] },
  destroy_entity: { entityId: 300 },
  login: { entityId: 77, isHardcore: true, gameMode: 2, previousGameMode: -1, dimension: -1, difficulty: 2, maxPlayers: 20, levelType: 'default', reducedDebugInfo: false,
    viewDistance: 10, simulationDistance: 8, enableRespawnScreen: true, doLimitedCrafting: false, worldNames: ['minecraft:overworld', 'minecraft:the_end'], worldType: 'minecraft:overworld',
    worldName: 'minecraft:overworld', hashedSeed: 5n, isDebug: false, isFlat: true, death: undefined, portalCooldown: 0, enforcesSecureChat: true, hardcore: true,
    worldState: { dimension: 0, name: 'minecraft:overworld', hashedSeed: 5n, gamemode: 'adventure', previousGamemode: 255, isDebug: false, isFlat: true, death: undefined, portalCooldown: 0, seaLevel: 63 } },
  respawn: { dimension: 0, difficulty: 1, gamemode: 1, levelType: 'flat', hashedSeed: 5n, worldName: 'minecraft:overworld', previousGamemode: 255, isDebug: false, isFlat: false, copyMetadata: true, death: undefined, portalCooldown: 0,
    worldState: { dimension: 0, name: 'minecraft:overworld', hashedSeed: 5n, gamemode: 'creative', previousGamemode: 255, isDebug: false, isFlat: true, death: undefined, portalCooldown: 0, seaLevel: 63 } },
}
const out = []
for (const v of versions) {
  let d; try { d = mcData(v) } catch (e) { console.log("skip", v, e.message.slice(0, 80)); continue }
  const proto = d.version.version
  for (const [dir, set, isServer] of [['toServer', sv, false], ['toClient', cl, true]]) {
    const ser = createSerializer({ state: 'play', isServer, version: v })
    const types = d.protocol.play[dir].types
    const names = Object.keys(types.packet[1][1].type[1].fields)
    for (const [name, params] of Object.entries(set)) {
      if (!names.includes(name)) continue
      let p = params
      if (name === 'position' && dir === 'toClient' && proto >= 768) p = { ...params, flags: { yaw: true, pitch: true } }
      if (name === 'entity_teleport' && proto >= 768) p = { ...params, yaw: 64.5, flags: { x: true } }
      if (name === 'settings' && proto < 107) p = { ...params, chatFlags: 1 }
      if (name === 'kick_disconnect' && proto >= 765) p = { reason: { type: 'string', value: 'bye' } }
      if (name === 'chat_message' && proto < 761) p = { ...params, signature: Buffer.from([1, 2, 3]) }
      if ((name === 'login' && proto >= 735 && proto < 764) || (name === 'respawn' && proto >= 735 && proto < 759)) continue
      if (name === 'respawn' && proto >= 759) p = { ...params, dimension: 'minecraft:overworld' }
      if (name === 'login' && proto >= 764) p = { ...params, gameMode: 2 }
      if (name === 'use_entity' && proto >= 775) p = { ...params, hand: 1 }
      try {
        const buf = ser.createPacketBuffer({ name, params: p })
        out.push({ dir, name, protocol: proto, version: v, hex: buf.toString('hex') })
      } catch (e) {
        out.push({ dir, name, protocol: proto, version: v, error: String(e.message).slice(0, 200) })
      }
    }
  }
}
require('fs').writeFileSync(require('path').join(__dirname, 'packets.json'), JSON.stringify(out, null, 0))
console.log(out.length, out.filter(o => o.error).length)
for (const o of out.filter(o => o.error)) console.log(o.version, o.dir, o.name, o.error)

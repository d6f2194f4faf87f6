package packets

import (
	"strconv"

	"github.com/rustguard/rustguard/shared/mcproto"
)

// Kind is our stable name for a packet the edge cares about, independent of
// the protocol version. The numeric values are only meaningful inside one
// build: never persist or send them.
type Kind uint16

const (
	KindUnknown Kind = iota

	// Handshake and status.
	KindHandshake
	KindStatusRequest
	KindStatusResponse
	KindPingRequest  // status ping; also the 1.20.2+ play ping request (F3 network chart)
	KindPingResponse // status pong; also the 1.20.2+ play ping response

	// Login.
	KindLoginStart
	KindEncryptionRequest
	KindEncryptionResponse
	KindLoginSuccess
	KindSetCompression // login; in 1.8 also a play packet
	KindLoginPluginRequest
	KindLoginPluginResponse
	KindLoginAcknowledged

	// Shared by several states.
	KindDisconnect         // clientbound, login/configuration/play
	KindCookieRequest      // 1.20.5+
	KindCookieResponse     // 1.20.5+
	KindStoreCookie        // 1.20.5+
	KindTransfer           // 1.20.5+
	KindKeepAlive          // both directions, configuration and play
	KindPing               // clientbound play ping (1.17+) and configuration ping
	KindPong               // serverbound answer to KindPing
	KindPluginMessage      // custom_payload, both directions
	KindClientSettings     // serverbound client information
	KindResourcePackStatus // serverbound resource pack response

	// Configuration (1.20.2+) and the way into and out of it.
	KindFinishConfiguration       // both directions in configuration
	KindSelectKnownPacks          // both directions, 1.20.5+
	KindRegistryData              // clientbound
	KindStartConfiguration        // clientbound play
	KindConfigurationAcknowledged // serverbound play

	// Play, serverbound.
	KindTeleportConfirm
	KindPlayerPosition
	KindPlayerPositionLook
	KindPlayerLook
	KindPlayerOnGround // "flying": on-ground flag only (movement status)
	KindVehicleMove    // both directions
	KindSteerVehicle   // up to 1.21.1
	KindPlayerInput    // 1.21.2+
	KindTickEnd        // 1.21.2+
	KindPlayerLoaded   // 1.21.4+
	KindChat           // chat before 1.19, chat_message since
	KindChatCommand
	KindChatCommandSigned
	KindChatSessionUpdate
	KindMessageAcknowledgement
	KindTabComplete // both directions
	KindUseEntity
	KindAttack // 26.1 split attacking out of use_entity
	KindArmAnimation
	KindHeldItemSlot // both directions
	KindEntityAction
	KindAbilities // serverbound; the clientbound one is KindPlayerAbilitiesClientbound
	KindClientCommand
	KindEditBook
	KindUpdateSign // serverbound; clientbound up to 1.9.2
	KindCreativeSlot
	KindWindowClick
	KindCloseWindow // both directions
	KindNameItem    // anvil rename, 1.13+ (before: the MC|ItemName plugin channel)
	KindTransaction // window confirmation, 1.8–1.16.5, both directions
	KindBlockDig
	KindBlockPlace
	KindUseItem

	// Play, clientbound.
	KindJoinGame
	KindRespawn
	KindSyncPlayerPosition // the server moves the player (teleport)
	KindPlayerRotation     // 1.21.2+
	KindSpawnEntity
	KindSpawnLivingEntity // up to 1.18.2
	KindSpawnPlayer       // up to 1.20.1
	KindEntityRelMove
	KindEntityMoveLook
	KindEntityLook
	KindEntityTeleport
	KindEntityPositionSync // 1.21.2+
	KindEntityVelocity
	KindEntityDestroy
	KindExplosion
	KindGameStateChange
	KindPlayerAbilitiesClientbound
	KindUpdateHealth
	KindClientboundChat // server text: chat before 1.19, system_chat since
	KindPlayerChat      // signed player messages, 1.19+
	KindProfilelessChat // 1.19.3+
	KindPlayerInfo
	KindBundleDelimiter    // 1.19.4+
	KindEntityEffect       // clientbound: an effect added to an entity
	KindRemoveEntityEffect // clientbound
	KindEntityAttributes   // clientbound: attribute values and modifiers
	KindOpenWindow         // clientbound: the server opened a container screen
	KindOpenHorseWindow    // clientbound, 1.14+ (before, horses use KindOpenWindow)

	// Play, clientbound: the world (edge/internal/world, docs/WORLD.md).
	KindMapChunk              // chunk data (level_chunk_with_light)
	KindMapChunkBulk          // 1.8 only
	KindUnloadChunk           // 1.9+
	KindBlockChange           // one block
	KindMultiBlockChange      // a column's (section's from 1.16.2) blocks
	KindWorldBorder           // 1.8–1.16.5: one packet with an action
	KindInitializeWorldBorder // 1.17+: one packet per action from here on
	KindWorldBorderCenter
	KindWorldBorderLerpSize
	KindWorldBorderSize
	// KindAcknowledgePlayerDigging is block_changed_ack from 1.19 (a
	// sequence: the player's edits up to it are settled); 1.14–1.18's
	// packet of that name carries a position and state instead.
	KindAcknowledgePlayerDigging

	numKinds
)

var kindNames = [numKinds]string{
	KindUnknown:                    "Unknown",
	KindHandshake:                  "Handshake",
	KindStatusRequest:              "StatusRequest",
	KindStatusResponse:             "StatusResponse",
	KindPingRequest:                "PingRequest",
	KindPingResponse:               "PingResponse",
	KindLoginStart:                 "LoginStart",
	KindEncryptionRequest:          "EncryptionRequest",
	KindEncryptionResponse:         "EncryptionResponse",
	KindLoginSuccess:               "LoginSuccess",
	KindSetCompression:             "SetCompression",
	KindLoginPluginRequest:         "LoginPluginRequest",
	KindLoginPluginResponse:        "LoginPluginResponse",
	KindLoginAcknowledged:          "LoginAcknowledged",
	KindDisconnect:                 "Disconnect",
	KindCookieRequest:              "CookieRequest",
	KindCookieResponse:             "CookieResponse",
	KindStoreCookie:                "StoreCookie",
	KindTransfer:                   "Transfer",
	KindKeepAlive:                  "KeepAlive",
	KindPing:                       "Ping",
	KindPong:                       "Pong",
	KindPluginMessage:              "PluginMessage",
	KindClientSettings:             "ClientSettings",
	KindResourcePackStatus:         "ResourcePackStatus",
	KindFinishConfiguration:        "FinishConfiguration",
	KindSelectKnownPacks:           "SelectKnownPacks",
	KindRegistryData:               "RegistryData",
	KindStartConfiguration:         "StartConfiguration",
	KindConfigurationAcknowledged:  "ConfigurationAcknowledged",
	KindTeleportConfirm:            "TeleportConfirm",
	KindPlayerPosition:             "PlayerPosition",
	KindPlayerPositionLook:         "PlayerPositionLook",
	KindPlayerLook:                 "PlayerLook",
	KindPlayerOnGround:             "PlayerOnGround",
	KindVehicleMove:                "VehicleMove",
	KindSteerVehicle:               "SteerVehicle",
	KindPlayerInput:                "PlayerInput",
	KindTickEnd:                    "TickEnd",
	KindPlayerLoaded:               "PlayerLoaded",
	KindChat:                       "Chat",
	KindChatCommand:                "ChatCommand",
	KindChatCommandSigned:          "ChatCommandSigned",
	KindChatSessionUpdate:          "ChatSessionUpdate",
	KindMessageAcknowledgement:     "MessageAcknowledgement",
	KindTabComplete:                "TabComplete",
	KindUseEntity:                  "UseEntity",
	KindAttack:                     "Attack",
	KindArmAnimation:               "ArmAnimation",
	KindHeldItemSlot:               "HeldItemSlot",
	KindEntityAction:               "EntityAction",
	KindAbilities:                  "Abilities",
	KindClientCommand:              "ClientCommand",
	KindEditBook:                   "EditBook",
	KindUpdateSign:                 "UpdateSign",
	KindCreativeSlot:               "CreativeSlot",
	KindWindowClick:                "WindowClick",
	KindCloseWindow:                "CloseWindow",
	KindNameItem:                   "NameItem",
	KindTransaction:                "Transaction",
	KindBlockDig:                   "BlockDig",
	KindBlockPlace:                 "BlockPlace",
	KindUseItem:                    "UseItem",
	KindJoinGame:                   "JoinGame",
	KindRespawn:                    "Respawn",
	KindSyncPlayerPosition:         "SyncPlayerPosition",
	KindPlayerRotation:             "PlayerRotation",
	KindSpawnEntity:                "SpawnEntity",
	KindSpawnLivingEntity:          "SpawnLivingEntity",
	KindSpawnPlayer:                "SpawnPlayer",
	KindEntityRelMove:              "EntityRelMove",
	KindEntityMoveLook:             "EntityMoveLook",
	KindEntityLook:                 "EntityLook",
	KindEntityTeleport:             "EntityTeleport",
	KindEntityPositionSync:         "EntityPositionSync",
	KindEntityVelocity:             "EntityVelocity",
	KindEntityDestroy:              "EntityDestroy",
	KindExplosion:                  "Explosion",
	KindGameStateChange:            "GameStateChange",
	KindPlayerAbilitiesClientbound: "PlayerAbilitiesClientbound",
	KindUpdateHealth:               "UpdateHealth",
	KindClientboundChat:            "ClientboundChat",
	KindPlayerChat:                 "PlayerChat",
	KindProfilelessChat:            "ProfilelessChat",
	KindPlayerInfo:                 "PlayerInfo",
	KindBundleDelimiter:            "BundleDelimiter",
	KindEntityEffect:               "EntityEffect",
	KindRemoveEntityEffect:         "RemoveEntityEffect",
	KindEntityAttributes:           "EntityAttributes",
	KindOpenWindow:                 "OpenWindow",
	KindOpenHorseWindow:            "OpenHorseWindow",
	KindMapChunk:                   "MapChunk",
	KindMapChunkBulk:               "MapChunkBulk",
	KindUnloadChunk:                "UnloadChunk",
	KindBlockChange:                "BlockChange",
	KindMultiBlockChange:           "MultiBlockChange",
	KindWorldBorder:                "WorldBorder",
	KindInitializeWorldBorder:      "InitializeWorldBorder",
	KindWorldBorderCenter:          "WorldBorderCenter",
	KindWorldBorderLerpSize:        "WorldBorderLerpSize",
	KindWorldBorderSize:            "WorldBorderSize",
	KindAcknowledgePlayerDigging:   "AcknowledgePlayerDigging",
}

// String returns the Go name of k without the Kind prefix.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// kindName says that minecraft-data calls Kind k name in one state and
// direction. A name may be absent from some versions; it must exist in at
// least one, and a Kind may have at most one id per version, state and
// direction (both checked at init).
type kindName struct {
	state mcproto.State
	dir   mcproto.Direction
	name  string
	kind  Kind
}

// kindMapping is the hand-written bridge from minecraft-data's names to
// Kinds. Names changed over the years (chat → chat_message, entity_destroy
// was destroy_entity in 1.17 only); each rename is one more row. It is a
// function so that its short aliases stay out of the package scope, which
// the play decoders share.
func kindMapping() []kindName {
	const (
		hs   = mcproto.StateHandshake
		st   = mcproto.StateStatus
		lg   = mcproto.StateLogin
		cf   = mcproto.StateConfiguration
		pl   = mcproto.StatePlay
		toSv = mcproto.Serverbound
		toCl = mcproto.Clientbound
	)
	return []kindName{
		{hs, toSv, "set_protocol", KindHandshake},

		{st, toSv, "ping_start", KindStatusRequest},
		{st, toSv, "ping", KindPingRequest},
		{st, toCl, "server_info", KindStatusResponse},
		{st, toCl, "ping", KindPingResponse},

		{lg, toSv, "login_start", KindLoginStart},
		{lg, toSv, "encryption_begin", KindEncryptionResponse},
		{lg, toSv, "login_plugin_response", KindLoginPluginResponse},
		{lg, toSv, "login_acknowledged", KindLoginAcknowledged},
		{lg, toSv, "cookie_response", KindCookieResponse},
		{lg, toCl, "disconnect", KindDisconnect},
		{lg, toCl, "encryption_begin", KindEncryptionRequest},
		{lg, toCl, "success", KindLoginSuccess},
		{lg, toCl, "compress", KindSetCompression},
		{lg, toCl, "login_plugin_request", KindLoginPluginRequest},
		{lg, toCl, "cookie_request", KindCookieRequest},

		{cf, toSv, "settings", KindClientSettings},
		{cf, toSv, "cookie_response", KindCookieResponse},
		{cf, toSv, "custom_payload", KindPluginMessage},
		{cf, toSv, "finish_configuration", KindFinishConfiguration},
		{cf, toSv, "keep_alive", KindKeepAlive},
		{cf, toSv, "pong", KindPong},
		{cf, toSv, "resource_pack_receive", KindResourcePackStatus},
		{cf, toSv, "select_known_packs", KindSelectKnownPacks},
		{cf, toCl, "cookie_request", KindCookieRequest},
		{cf, toCl, "custom_payload", KindPluginMessage},
		{cf, toCl, "disconnect", KindDisconnect},
		{cf, toCl, "finish_configuration", KindFinishConfiguration},
		{cf, toCl, "keep_alive", KindKeepAlive},
		{cf, toCl, "ping", KindPing},
		{cf, toCl, "registry_data", KindRegistryData},
		{cf, toCl, "store_cookie", KindStoreCookie},
		{cf, toCl, "transfer", KindTransfer},
		{cf, toCl, "select_known_packs", KindSelectKnownPacks},

		{pl, toSv, "keep_alive", KindKeepAlive},
		{pl, toSv, "pong", KindPong},
		{pl, toSv, "ping_request", KindPingRequest},
		{pl, toSv, "configuration_acknowledged", KindConfigurationAcknowledged},
		{pl, toSv, "cookie_response", KindCookieResponse},
		{pl, toSv, "custom_payload", KindPluginMessage},
		{pl, toSv, "settings", KindClientSettings},
		{pl, toSv, "resource_pack_receive", KindResourcePackStatus},
		{pl, toSv, "teleport_confirm", KindTeleportConfirm},
		{pl, toSv, "position", KindPlayerPosition},
		{pl, toSv, "position_look", KindPlayerPositionLook},
		{pl, toSv, "look", KindPlayerLook},
		{pl, toSv, "flying", KindPlayerOnGround},
		{pl, toSv, "vehicle_move", KindVehicleMove},
		{pl, toSv, "steer_vehicle", KindSteerVehicle},
		{pl, toSv, "player_input", KindPlayerInput},
		{pl, toSv, "tick_end", KindTickEnd},
		{pl, toSv, "player_loaded", KindPlayerLoaded},
		{pl, toSv, "chat", KindChat},
		{pl, toSv, "chat_message", KindChat},
		{pl, toSv, "chat_command", KindChatCommand},
		{pl, toSv, "chat_command_signed", KindChatCommandSigned},
		{pl, toSv, "chat_session_update", KindChatSessionUpdate},
		{pl, toSv, "message_acknowledgement", KindMessageAcknowledgement},
		{pl, toSv, "tab_complete", KindTabComplete},
		{pl, toSv, "use_entity", KindUseEntity},
		{pl, toSv, "attack", KindAttack},
		{pl, toSv, "arm_animation", KindArmAnimation},
		{pl, toSv, "held_item_slot", KindHeldItemSlot},
		{pl, toSv, "entity_action", KindEntityAction},
		{pl, toSv, "abilities", KindAbilities},
		{pl, toSv, "client_command", KindClientCommand},
		{pl, toSv, "edit_book", KindEditBook},
		{pl, toSv, "update_sign", KindUpdateSign},
		{pl, toSv, "set_creative_slot", KindCreativeSlot},
		{pl, toSv, "window_click", KindWindowClick},
		{pl, toSv, "close_window", KindCloseWindow},
		{pl, toSv, "name_item", KindNameItem},
		{pl, toSv, "transaction", KindTransaction},
		{pl, toSv, "block_dig", KindBlockDig},
		{pl, toSv, "block_place", KindBlockPlace},
		{pl, toSv, "use_item", KindUseItem},

		{pl, toCl, "keep_alive", KindKeepAlive},
		{pl, toCl, "ping", KindPing},
		{pl, toCl, "ping_response", KindPingResponse},
		{pl, toCl, "kick_disconnect", KindDisconnect},
		{pl, toCl, "start_configuration", KindStartConfiguration},
		{pl, toCl, "set_compression", KindSetCompression},
		{pl, toCl, "cookie_request", KindCookieRequest},
		{pl, toCl, "store_cookie", KindStoreCookie},
		{pl, toCl, "transfer", KindTransfer},
		{pl, toCl, "custom_payload", KindPluginMessage},
		{pl, toCl, "login", KindJoinGame},
		{pl, toCl, "respawn", KindRespawn},
		{pl, toCl, "position", KindSyncPlayerPosition},
		{pl, toCl, "player_rotation", KindPlayerRotation},
		{pl, toCl, "vehicle_move", KindVehicleMove},
		{pl, toCl, "tab_complete", KindTabComplete},
		{pl, toCl, "held_item_slot", KindHeldItemSlot},
		{pl, toCl, "update_sign", KindUpdateSign},
		{pl, toCl, "close_window", KindCloseWindow},
		{pl, toCl, "transaction", KindTransaction},
		{pl, toCl, "spawn_entity", KindSpawnEntity},
		{pl, toCl, "spawn_entity_living", KindSpawnLivingEntity},
		{pl, toCl, "named_entity_spawn", KindSpawnPlayer},
		{pl, toCl, "rel_entity_move", KindEntityRelMove},
		{pl, toCl, "entity_move_look", KindEntityMoveLook},
		{pl, toCl, "entity_look", KindEntityLook},
		{pl, toCl, "entity_teleport", KindEntityTeleport},
		{pl, toCl, "sync_entity_position", KindEntityPositionSync},
		{pl, toCl, "entity_velocity", KindEntityVelocity},
		{pl, toCl, "entity_destroy", KindEntityDestroy},
		{pl, toCl, "destroy_entity", KindEntityDestroy}, // 1.17 only: one id per packet
		{pl, toCl, "explosion", KindExplosion},
		{pl, toCl, "game_state_change", KindGameStateChange},
		{pl, toCl, "abilities", KindPlayerAbilitiesClientbound},
		{pl, toCl, "update_health", KindUpdateHealth},
		{pl, toCl, "chat", KindClientboundChat},
		{pl, toCl, "system_chat", KindClientboundChat},
		{pl, toCl, "player_chat", KindPlayerChat},
		{pl, toCl, "profileless_chat", KindProfilelessChat},
		{pl, toCl, "player_info", KindPlayerInfo},
		{pl, toCl, "bundle_delimiter", KindBundleDelimiter},
		{pl, toCl, "entity_effect", KindEntityEffect},
		{pl, toCl, "remove_entity_effect", KindRemoveEntityEffect},
		{pl, toCl, "entity_update_attributes", KindEntityAttributes},
		{pl, toCl, "update_attributes", KindEntityAttributes},
		{pl, toCl, "open_window", KindOpenWindow},
		{pl, toCl, "open_horse_window", KindOpenHorseWindow},
		{pl, toCl, "map_chunk", KindMapChunk},
		{pl, toCl, "map_chunk_bulk", KindMapChunkBulk},
		{pl, toCl, "unload_chunk", KindUnloadChunk},
		{pl, toCl, "block_change", KindBlockChange},
		{pl, toCl, "multi_block_change", KindMultiBlockChange},
		{pl, toCl, "world_border", KindWorldBorder},
		{pl, toCl, "initialize_world_border", KindInitializeWorldBorder},
		{pl, toCl, "world_border_center", KindWorldBorderCenter},
		{pl, toCl, "world_border_lerp_size", KindWorldBorderLerpSize},
		{pl, toCl, "world_border_size", KindWorldBorderSize},
		{pl, toCl, "acknowledge_player_digging", KindAcknowledgePlayerDigging},
	}
}

package limbo

import (
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// The few packets the limbo writes itself, because a field varies per
// connection (teleport and keep-alive ids, the fall height, the transfer
// address). Everything else comes precomputed from world.bin.
// encode_test.go checks every encoder, for every protocol, byte for byte
// against minecraft-protocol's serialiser (testdata/encoders.json).

// Protocol boundaries of the Synchronize Player Position layout
// (minecraft-data's packet_position, checked by encode_test.go).
const (
	// protocol1_17 added dismountVehicle after the teleport id.
	protocol1_17 = 755
	// protocol1_19_4 removed dismountVehicle again.
	protocol1_19_4 = 762
)

// appendTeleport appends Synchronize Player Position (id and data) putting
// the player at x, y, z with no rotation, all coordinates absolute (so the
// client also zeroes its velocity) and the given teleport id (ignored by
// 1.8, which has none).
func appendTeleport(dst []byte, protocol int32, teleportID int32, x, y, z float64) []byte {
	dst = mcproto.AppendVarInt(dst, packets.Lookup(protocol).ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindSyncPlayerPosition))
	if protocol >= mcproto.Protocol1_21_2 {
		// 1.21.2: id first, then position, velocity, rotation and an int of
		// relative-flags.
		dst = mcproto.AppendVarInt(dst, teleportID)
		dst = appendXYZ(dst, x, y, z)
		dst = appendXYZ(dst, 0, 0, 0)
		dst = mcproto.AppendFloat32(dst, 0)
		dst = mcproto.AppendFloat32(dst, 0)
		return mcproto.AppendInt32(dst, 0)
	}
	dst = appendXYZ(dst, x, y, z)
	dst = mcproto.AppendFloat32(dst, 0) // yaw
	dst = mcproto.AppendFloat32(dst, 0) // pitch
	dst = append(dst, 0)                // flags: nothing relative
	if protocol < mcproto.Protocol1_9 {
		return dst
	}
	dst = mcproto.AppendVarInt(dst, teleportID)
	if protocol >= protocol1_17 && protocol < protocol1_19_4 {
		dst = mcproto.AppendBool(dst, false) // dismount vehicle
	}
	return dst
}

func appendXYZ(dst []byte, x, y, z float64) []byte {
	dst = mcproto.AppendFloat64(dst, x)
	dst = mcproto.AppendFloat64(dst, y)
	return mcproto.AppendFloat64(dst, z)
}

// appendKeepAlive appends a clientbound keep-alive of the configuration or
// play state.
func appendKeepAlive(dst []byte, protocol int32, state mcproto.State, id int64) []byte {
	dst = mcproto.AppendVarInt(dst, packets.Lookup(protocol).ID(state, mcproto.Clientbound, packets.KindKeepAlive))
	return packets.KeepAlive{ID: id}.AppendData(dst, protocol)
}

// appendTransfer appends the play-state Transfer (1.20.5+): the client
// disconnects and logs in again at host:port with handshake intent 3.
func appendTransfer(dst []byte, protocol int32, host string, port int) []byte {
	dst = mcproto.AppendVarInt(dst, packets.Lookup(protocol).ID(mcproto.StatePlay, mcproto.Clientbound, packets.KindTransfer))
	dst = mcproto.AppendString(dst, host)
	return mcproto.AppendVarInt(dst, int32(port))
}

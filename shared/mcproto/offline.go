package mcproto

import "crypto/md5"

// offlinePrefix is what vanilla hashes in front of a name for its offline
// UUID (UUIDUtil.createOfflinePlayerUUID).
const offlinePrefix = "OfflinePlayer:"

// maxOfflineName is the longest name OfflineUUID hashes without allocating:
// Login Start carries at most 16 characters (String(16)), 64 bytes of UTF-8.
const maxOfflineName = 64

// OfflineUUID is the UUID an offline-mode server gives a player name: a
// version 3 (MD5) UUID of "OfflinePlayer:"+name, as vanilla's
// UUIDUtil.createOfflinePlayerUUID and Java's UUID.nameUUIDFromBytes
// compute it. It is what an offline backend knows the player by, whatever
// UUID the client claimed in Login Start, so it is the only UUID the edge
// may key anything on when the player is not authenticated. It allocates
// nothing for names of up to 64 bytes.
func OfflineUUID(name string) UUID {
	var buf [len(offlinePrefix) + maxOfflineName]byte
	var b []byte
	if len(name) <= maxOfflineName {
		b = append(append(buf[:0], offlinePrefix...), name...)
	} else {
		b = []byte(offlinePrefix + name)
	}
	u := UUID(md5.Sum(b))
	u[6] = u[6]&0x0f | 0x30 // version 3
	u[8] = u[8]&0x3f | 0x80 // IETF variant
	return u
}

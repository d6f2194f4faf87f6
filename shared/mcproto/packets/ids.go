package packets

// Fixed packet ids of the handshake, status and login states. They have not
// changed since 1.7 (docs/PROTOCOL.md, Login and Status and the legacy ping); tables_test.go checks them against
// every generated table. Writing them without a table lets the edge answer
// clients whose protocol it does not support.
const (
	idHandshake = 0x00

	idStatusRequest  = 0x00
	idPingRequest    = 0x01
	idStatusResponse = 0x00
	idPingResponse   = 0x01

	idLoginStart          = 0x00
	idEncryptionResponse  = 0x01
	idLoginPluginResponse = 0x02
	idLoginAcknowledged   = 0x03 // 1.20.2+
	idLoginCookieResponse = 0x04 // 1.20.5+

	idLoginDisconnect    = 0x00
	idEncryptionRequest  = 0x01
	idLoginSuccess       = 0x02
	idSetCompression     = 0x03
	idLoginPluginRequest = 0x04 // 1.13+
	idLoginCookieRequest = 0x05 // 1.20.5+
)

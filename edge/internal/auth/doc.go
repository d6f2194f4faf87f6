// Package auth authenticates a player the way an online-mode server does,
// so that the edge can own the client leg's encryption and know who is
// playing (docs/PROTOCOL.md, "Online mode").
//
// Data enters as the client's Login Start and Encryption Response, read by
// edge/internal/conn, and leaves as the shared secret the client leg's
// cipher is keyed with and the account's profile (UUID, name, signed
// properties) that the session server confirmed. The package does no
// Minecraft I/O itself: conn asks it for the Encryption Request to send,
// hands it the response, and calls Authenticate with the server-id hash.
//
// The session server is a shared, rate-limited dependency (about one
// request per second per source address is reported for Mojang's), so
// Authenticator bounds how many requests are in flight, how long one may
// take, and remembers recent confirmations for use under attack.
package auth

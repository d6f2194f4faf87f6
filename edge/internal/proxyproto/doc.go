// Package proxyproto reads and writes PROXY protocol headers (HAProxy's
// proxy-protocol.txt, versions 1 and 2), the line a TCP load balancer puts in
// front of a connection to say which player it is really relaying.
//
// Data enters through Read or ReadConn on a freshly accepted connection from
// a trusted load balancer: they return the decoded Header and the bytes that
// arrived after it, which belong to the Minecraft stream and must be fed to
// the frame reader first (TCP has no "unread", so Read cannot give them
// back to the socket). Parse does the same on a byte slice. Data leaves
// through AppendV2, which builds the v2 header the edge writes first on a
// backend connection so the backend (Paper accepts v2) sees the player's
// address instead of the edge's.
//
// Why trust matters: a PROXY header is a claim, not a fact. Anyone who can
// open a TCP connection can write "PROXY TCP4 <any address> ..." as their
// first bytes. If the edge believed that line from every peer, an attacker
// could pick a fresh source address per connection and walk straight past
// per-IP quotas and bans, or frame an innocent address for their traffic.
// So the caller checks the socket's peer against Trust first and only then
// parses a header; peers outside the trusted prefixes never get their first
// bytes read as PROXY protocol at all. The spec says the same: a receiver
// must not guess whether a header is present, and must restrict the protocol
// to trusted proxies. An empty Trust trusts nobody, so forgetting to
// configure it fails closed.
//
// Everything parsed here comes from the network and is treated as hostile
// even from a trusted peer (a misconfigured or compromised balancer): the v1
// line is capped at 107 bytes, the v2 payload at maxV2Payload, the number of
// TLVs at maxTLVs, and nothing is allocated from an announced length.
package proxyproto

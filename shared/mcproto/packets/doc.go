// Package packets knows which packet an id means in which protocol version,
// and decodes and builds the packets the edge handles itself.
//
// Ids: tables_gen.go is generated (go generate) from minecraft-data and
// lists, for every release protocol from 1.8 (47) to MaxProtocol, the packet
// names by state, direction and id. kind.go maps those names to Kind, our
// version-independent name. At init every protocol gets a Table with dense
// id→Kind and Kind→id arrays, so Table.Kind and Table.ID cost an index and
// allocate nothing. Building fails loudly (panic at init) when the mapping
// and the data disagree.
//
// Packets: Decode* functions take a packet body after its id, with the
// client's protocol number, and return a typed value or an error wrapping an
// mcproto sentinel. Bytes left after a known packet are an error
// (mcproto.ErrTrailingBytes) except where the protocol allows them. Byte
// slices in decoded packets alias the body. AppendTo methods append the
// packet id and data, ready for mcproto framing. The legacy 0xFE ping is not
// framed and has its own parser (legacy.go).
//
// Handshake, status and login ids have never changed; their packets are
// written with fixed ids and work for any protocol number, even unsupported
// ones (the edge must still be able to refuse those clients politely).
// Configuration and play packets take their ids from the table; asking for a
// packet the version lacks is a programming error and panics.
package packets

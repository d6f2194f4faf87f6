package packets

import "github.com/rustguard/rustguard/shared/mcproto"

// Liveness and round-trip packets. The edge injects its own keep-alives,
// pings and (before 1.17) window transactions as latency probes and drops
// the answers, so these decode and encode in both directions.

// KeepAlive is the play keep-alive, same layout both ways (and in the
// configuration state, 1.20.2+). The id is a VarInt up to 1.12.1 and an
// i64 from 1.12.2 (protocol 340); older ids are widened to int64 and must
// fit an int32 to encode.
type KeepAlive struct {
	ID int64
}

// DecodeKeepAlive decodes a keep-alive of either direction.
func DecodeKeepAlive(body []byte, protocol int32) (KeepAlive, error) {
	r := mcproto.NewReader(body)
	var k KeepAlive
	if protocol >= mcproto.Protocol1_12_2 {
		k.ID = r.Int64()
	} else {
		k.ID = int64(r.VarInt())
	}
	if err := finish(&r, "keep alive"); err != nil {
		return KeepAlive{}, err
	}
	return k, nil
}

// AppendData appends the packet data.
func (k KeepAlive) AppendData(dst []byte, protocol int32) []byte {
	if protocol >= mcproto.Protocol1_12_2 {
		return mcproto.AppendInt64(dst, k.ID)
	}
	return mcproto.AppendVarInt(dst, int32(k.ID))
}

// Ping is the clientbound play ping (1.17+, i32; also the configuration
// ping), which the client answers with a Pong carrying the same id. It replaced window transactions as the
// way servers and anti-cheats time the client.
type Ping struct {
	ID int32
}

// DecodePing decodes the clientbound ping.
func DecodePing(body []byte, protocol int32) (Ping, error) {
	if protocol < playProto1_17 {
		return Ping{}, notIn("ping", protocol)
	}
	r := mcproto.NewReader(body)
	p := Ping{ID: r.Int32()}
	if err := finish(&r, "ping"); err != nil {
		return Ping{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p Ping) AppendData(dst []byte, _ int32) []byte { return mcproto.AppendInt32(dst, p.ID) }

// Pong is the serverbound answer to a Ping (1.17+, i32).
type Pong struct {
	ID int32
}

// DecodePong decodes the serverbound pong.
func DecodePong(body []byte, protocol int32) (Pong, error) {
	if protocol < playProto1_17 {
		return Pong{}, notIn("pong", protocol)
	}
	r := mcproto.NewReader(body)
	p := Pong{ID: r.Int32()}
	if err := finish(&r, "pong"); err != nil {
		return Pong{}, err
	}
	return p, nil
}

// AppendData appends the packet data.
func (p Pong) AppendData(dst []byte, _ int32) []byte { return mcproto.AppendInt32(dst, p.ID) }

// Transaction is the 1.8–1.16.5 "Confirm Transaction" packet, the
// same layout in both directions: window id i8, action number i16,
// accepted bool. A server that sends one with accepted=false forces the
// client to answer, which is how pre-1.17 anti-cheats measure latency.
type Transaction struct {
	WindowID int8
	Action   int16
	Accepted bool
}

// DecodeTransaction decodes a transaction of either direction.
func DecodeTransaction(body []byte, protocol int32) (Transaction, error) {
	if protocol >= playProto1_17 {
		return Transaction{}, notIn("window confirmation", protocol)
	}
	r := mcproto.NewReader(body)
	w := Transaction{WindowID: r.Int8(), Action: r.Int16(), Accepted: r.Bool()}
	if err := finish(&r, "window confirmation"); err != nil {
		return Transaction{}, err
	}
	return w, nil
}

// AppendData appends the packet data.
func (w Transaction) AppendData(dst []byte, _ int32) []byte {
	dst = appendInt8(dst, w.WindowID)
	dst = appendInt16(dst, w.Action)
	return mcproto.AppendBool(dst, w.Accepted)
}

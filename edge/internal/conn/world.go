package conn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/edge/internal/world"
	"github.com/rustguard/rustguard/edge/internal/world/chunk"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// proto1_19 is where the server settles a player's own block edits with an
// acknowledgement sequence; before it, its block change at that position
// does (world.View.Apply's confirmsEdits).
const proto1_19 = 759

// worldFeed hands one player's clientbound world packets to the edge's
// world replica (docs/WORLD.md, "Data flow"): the dimension types and the
// view are this player's, the decoder is borrowed for each packet. The
// clientbound pump owns it (a View is not safe for concurrent use); the
// session closes it when the connection ends.
type worldFeed struct {
	s        *session
	store    *world.Store
	decoders *world.Decoders
	protocol int32
	dec      *chunk.Decoder // borrowed from decoders while a packet is fed
	sc       *worldScratch  // borrowed from the handler while a packet is fed
	backend  string         // the backend's address: columns are shared per backend
	types    chunk.DimensionTypes
	// view is nil until join game, and for the whole session when the
	// store refused the player (refused): then the world-free checks only.
	view    *world.View
	refused bool
	// dim is the player's dimension; inWorld is false while nobody
	// described it (the player then gets no world there).
	dim     chunk.Dimension
	inWorld bool
}

// worldScratch is what feeding one packet needs besides the decoder: the
// inflated packet and the decoded block changes. Borrowed per packet from
// the handler's pool (Handler.worldScratch), like the decoder, so an idle
// player keeps none of it: a 1.21 chunk packet inflates to over 40 KiB.
type worldScratch struct {
	buf     []byte
	changes []chunk.Change
}

// Past these a borrowed buffer is dropped rather than pooled: the largest
// packets a vanilla server sends often (a full 1.18+ chunk with light,
// ≈ 45 KiB inflated, and a 1.16.2+ section's 4096 changes, 64 KiB) stay
// pooled; a 2 MiB chunk or an explosion's list is not kept for the next.
const (
	maxPooledWorldBuf     = 256 << 10
	maxPooledWorldChanges = chunk.SectionBlocks
)

// newWorldFeed returns the world feed of a relayed session, or nil when the
// edge keeps no replica or has no block table for the protocol.
func newWorldFeed(s *session) *worldFeed {
	st := s.h.o.World
	if st == nil || !s.h.o.InspectPlay {
		return nil
	}
	decs, err := st.Decoders(s.hs.Protocol)
	if err != nil {
		s.debug("no world replica for this protocol", "err", err)
		return nil
	}
	backend := ""
	if s.backend != nil {
		backend = s.backend.RemoteAddr().String()
	}
	return &worldFeed{s: s, store: st, decoders: decs, protocol: s.hs.Protocol, backend: backend}
}

// close releases the player's columns.
func (w *worldFeed) close() {
	if w.view != nil {
		w.view.Close()
	}
}

// isWorldKind reports whether a clientbound packet shapes the replica.
// The relay asks for every packet, so this is a switch and nothing else.
func isWorldKind(k packets.Kind) bool {
	switch k {
	case packets.KindRegistryData, packets.KindJoinGame, packets.KindRespawn,
		packets.KindMapChunk, packets.KindMapChunkBulk, packets.KindUnloadChunk,
		packets.KindBlockChange, packets.KindMultiBlockChange, packets.KindExplosion,
		packets.KindWorldBorder, packets.KindInitializeWorldBorder, packets.KindWorldBorderCenter,
		packets.KindWorldBorderLerpSize, packets.KindWorldBorderSize, packets.KindAcknowledgePlayerDigging:
		return true
	}
	return false
}

// feedWorld feeds one clientbound world packet to the replica. pkt is the
// packet as far as inspect decoded it (id included, n bytes long): whole,
// or only peeked when inflated > 0 (payload is then the compressed form).
// A malformed world packet means a broken or hostile backend: its
// connection is closed (the player is told the server is unavailable),
// never the edge.
func (p *pump) feedWorld(kind packets.Kind, pkt []byte, n int, payload []byte, inflated int) (decision, error) {
	w := p.wf
	if w.refused || (w.view == nil && kind != packets.KindJoinGame && kind != packets.KindRegistryData) {
		return decision{}, nil
	}
	if w.view != nil && !w.inWorld && kind != packets.KindJoinGame && kind != packets.KindRespawn && kind != packets.KindRegistryData {
		return decision{}, nil // nobody described this dimension: no world here
	}
	h := p.s.h
	w.dec = w.decoders.Get()
	w.sc, _ = h.worldScratch.Get().(*worldScratch)
	if w.sc == nil {
		w.sc = &worldScratch{}
	}
	d, err := p.feedWorldWith(kind, pkt, n, payload, inflated)
	w.decoders.Put(w.dec)
	if cap(w.sc.buf) > maxPooledWorldBuf {
		w.sc.buf = nil
	}
	if cap(w.sc.changes) > maxPooledWorldChanges {
		w.sc.changes = nil
	}
	h.worldScratch.Put(w.sc)
	w.dec, w.sc = nil, nil
	return d, err
}

// feedWorldWith is feedWorld with a decoder borrowed.
func (p *pump) feedWorldWith(kind packets.Kind, pkt []byte, n int, payload []byte, inflated int) (decision, error) {
	w := p.wf
	var err error
	if kind == packets.KindMapChunk && inflated > 0 && len(pkt) >= n+8 {
		// A server compresses one column to the same bytes for every
		// player: a column already stored from this frame costs neither
		// the inflate nor the decode.
		x, z := int32(binary.BigEndian.Uint32(pkt[n:])), int32(binary.BigEndian.Uint32(pkt[n+4:]))
		h := w.store.Hash(payload)
		if w.view.TryReference(x, z, h) {
			return decision{}, nil
		}
		var body []byte
		if body, err = p.inflateWorld(payload, inflated); err != nil {
			return decision{}, err
		}
		err = w.view.LoadColumnHashed(w.dec, body[n:], w.dim, h)
	} else {
		if inflated > 0 {
			if pkt, err = p.inflateWorld(payload, inflated); err != nil {
				return decision{}, err
			}
		}
		err = w.apply(kind, pkt[n:])
	}
	if err == nil {
		return decision{}, nil
	}
	if !errors.Is(err, chunk.ErrMalformed) {
		return decision{}, err
	}
	s := p.s
	if m := s.h.o.Metrics; m != nil {
		m.WorldMalformed.Inc()
	}
	s.logger().Warn("backend sent a malformed world packet: closing its connection",
		"packet", kind.String(), "backend", w.backend, "err", err)
	return decision{verdict: kickFrame, kickMsg: reason.BackendUnavailable.PlayerMessage(s.h.messages()),
		kickWhy: reason.BackendUnavailable}, nil
}

// inflateWorld inflates a world packet whole into the borrowed buffer.
func (p *pump) inflateWorld(payload []byte, inflated int) ([]byte, error) {
	sc := p.wf.sc
	out, err := p.inflater.Inflate(sc.buf[:0], payload, inflated)
	if err != nil {
		return nil, fmt.Errorf("world packet: %w", err)
	}
	sc.buf = out
	return out, nil
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// apply decodes one world packet body (after the id) into the replica.
func (w *worldFeed) apply(kind packets.Kind, body []byte) error {
	d := w.dec
	switch kind {
	case packets.KindRegistryData:
		if w.protocol < 764 { // 1.20.2: registries move to configuration
			return nil
		}
		return d.RegistryData(body, &w.types)
	case packets.KindJoinGame:
		r, err := d.JoinGame(body, &w.types)
		if err != nil {
			return err
		}
		w.enter(r)
	case packets.KindRespawn:
		r, err := d.Respawn(body)
		if err != nil {
			return err
		}
		w.enter(r)
	case packets.KindMapChunk:
		return w.view.LoadColumn(d, body, w.dim)
	case packets.KindMapChunkBulk:
		return w.view.LoadBulk(d, body)
	case packets.KindUnloadChunk:
		x, z, err := d.UnloadChunk(body)
		if err != nil {
			return err
		}
		w.view.Unload(x, z)
	case packets.KindBlockChange:
		c, err := d.BlockChange(body)
		if err != nil {
			return err
		}
		sc := w.sc
		sc.changes = append(sc.changes[:0], c)
		w.view.Apply(sc.changes, w.protocol < proto1_19)
	case packets.KindMultiBlockChange, packets.KindExplosion:
		sc := w.sc
		var err error
		if kind == packets.KindExplosion {
			sc.changes, err = d.Explosion(body, sc.changes[:0])
		} else {
			sc.changes, err = d.MultiBlockChange(body, sc.changes[:0])
		}
		if err != nil {
			return err
		}
		w.view.Apply(sc.changes, w.protocol < proto1_19)
	case packets.KindAcknowledgePlayerDigging:
		// From 1.19 the server settles the player's own edits (recorded
		// by detection from the dig and place packets, View.Predict) with
		// this sequence; before, its block change at the position does.
		if w.protocol < proto1_19 {
			return nil
		}
		seq, _, err := mcproto.ReadVarInt(body)
		if err != nil {
			return fmt.Errorf("block changed ack: %w: %w", chunk.ErrMalformed, err)
		}
		w.view.Acknowledge(seq)
	default:
		return w.view.WorldBorder(d, borderPacket(kind), body)
	}
	return nil
}

func borderPacket(k packets.Kind) chunk.BorderPacket {
	switch k {
	case packets.KindInitializeWorldBorder:
		return chunk.BorderInit
	case packets.KindWorldBorderCenter:
		return chunk.BorderCenter
	case packets.KindWorldBorderLerpSize:
		return chunk.BorderLerp
	case packets.KindWorldBorderSize:
		return chunk.BorderSize
	}
	return chunk.BorderLegacy
}

// enter puts the player into the world a join game or respawn named: the
// first one joins the store (which may refuse, past its budget); every one
// after starts a new world, as the client does.
func (w *worldFeed) enter(r chunk.Respawn) {
	w.dim, w.inWorld = w.dec.Resolve(&w.types, r)
	key := world.Dim{Backend: w.backend, Name: worldName(r)}
	if w.view != nil {
		w.view.SetDimension(key)
		return
	}
	v, err := w.store.Join(key)
	if err != nil {
		// Past the budget: this player plays on, checked by the
		// world-free bounds only, for the rest of the session.
		w.refused = true
		if m := w.s.h.o.Metrics; m != nil {
			m.WorldRefused.Inc()
		}
		w.s.debug("no world replica for this player", "err", err)
		return
	}
	w.view = v
	// Detection reads the view from the serverbound relay while this
	// pump feeds it: the view has its own lock for that (docs/WORLD.md,
	// "Readers"). Until this point the player's checks had no world, and
	// the world-free bounds judged alone.
	if det := w.s.det; det != nil {
		w.s.detMu.Lock()
		det.SetWorld(v, w.decoders.Table())
		w.s.detMu.Unlock()
	}
}

// worldName names a world among the backend's: its own name from 1.16,
// else the dimension number (-1, 0, 1) before it.
func worldName(r chunk.Respawn) string {
	switch {
	case r.World != "":
		return r.World
	case r.Name != "":
		return r.Name
	}
	return strconv.Itoa(int(r.ID))
}

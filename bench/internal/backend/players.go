package backend

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rustguard/rustguard/bench/internal/mc18"
	"github.com/rustguard/rustguard/bench/internal/mcconn"
	"github.com/rustguard/rustguard/shared/mcproto"
)

// PlayersPrefix starts the name of a moving player (the players workload):
// the backend spawns a few other players around it, streams the mixed
// clientbound stream of Mix at it once per tick and checks each of its
// movements against Walk.
const PlayersPrefix = "players"

// Mix is the clientbound stream each moving player receives, per second.
// Zero rates send nothing of that kind.
type Mix struct {
	// EntityMoves are relative moves and move-and-looks of the players
	// around (small frames, 11–13 bytes on the wire).
	EntityMoves int
	// Chunks are Chunk Data frames: the bulk frame, Config.BulkPacket
	// bytes before compression.
	Chunks int
	// Chat are chat lines, each stamped with its send time (ChatLine).
	Chat int
}

const (
	// DefaultEntityMoves: five players in sight, each moving every tick
	// (vanilla sends a visible player's movement every tick it moves).
	DefaultEntityMoves = 100
	// DefaultChunks: a player walking at ~2.3 blocks/s with view
	// distance 10 crosses a chunk border every 7 s and loads a row of
	// 21 columns, three a second.
	DefaultChunks = 3
	// DefaultChat is one line a second: a busy server's chat.
	DefaultChat = 1
	// MaxMixRate bounds each rate of Mix: twenty packets per tick is far
	// beyond any real per-player stream and keeps one tick's batch small.
	MaxMixRate = 400
	// TickInterval is a server tick (20 per second). The backend flushes
	// each moving player's stream once per tick, as vanilla flushes its
	// connections at the end of a tick; a client sends one movement per
	// tick.
	TickInterval   = 50 * time.Millisecond
	ticksPerSecond = int(time.Second / TickInterval)
	// mixEntities is how many other players the backend spawns around a
	// moving player; the entity moves cycle through them.
	mixEntities = 8
	// entityStep is an entity's move along x, in 1/32 block: back and
	// forth by 1/8 block, a slow walk.
	entityStep = 4

	// walkPeriod is how many movements a walk back and forth takes
	// (8 s at 20 per second); walkStep is one movement's distance in
	// blocks: 2 blocks/s, half of vanilla's walking speed.
	walkPeriod = 160
	walkStep   = 0.1
	// walkY is the ground the walk stays on (feet at y 64, on ground).
	walkY = 64
	// walkPitch is where the walking player looks: slightly down.
	walkPitch = 10
)

// Walk is the seq-th movement (from 0) of a moving player: walking slowly
// back and forth along x on flat ground, on ground all along, turning its
// head a little every tick. An honest client could send exactly this, and
// the edge's movement checks accept it. Both ends compute it, so the
// backend can tell a movement a proxy lost, reordered or altered.
func Walk(seq int64) mc18.PositionLook {
	k := seq % walkPeriod
	d := k
	if k > walkPeriod/2 {
		d = walkPeriod - k
	}
	return mc18.PositionLook{
		X:        0.5 + float64(d)*walkStep,
		Y:        walkY,
		Z:        0.5,
		Yaw:      float32(k)*(360.0/walkPeriod) - 180,
		Pitch:    walkPitch,
		OnGround: true,
	}
}

// chatPrefix starts every stamped chat line's JSON.
const chatPrefix = `{"text":"rgload `

// ChatLine is the chat JSON the backend sends at sent: the send time in
// Unix nanoseconds, so a player (in the same process, on the same clock)
// can time the line's delivery.
func ChatLine(sent time.Time) string {
	return chatPrefix + strconv.FormatInt(sent.UnixNano(), 10) + `"}`
}

// ParseChatLine returns the send time of a ChatLine.
func ParseChatLine(json string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(json, chatPrefix)
	if !ok {
		return time.Time{}, false
	}
	num, ok := strings.CutSuffix(rest, `"}`)
	if !ok {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// MoveObserver learns of every movement of a moving player as it
// arrives: the player's name, the movement's number (from 0) and when the
// backend read it. It is called from the player's connection goroutine.
type MoveObserver interface {
	Moved(name string, seq int64, at time.Time)
}

// moveHook boxes a MoveObserver for an atomic pointer.
type moveHook struct{ o MoveObserver }

// ObserveMoves sends every checked movement to o from now on; nil stops.
func (s *Server) ObserveMoves(o MoveObserver) {
	if o == nil {
		s.moveObs.Store(nil)
		return
	}
	s.moveObs.Store(&moveHook{o})
}

// walker checks one moving player's movements in order.
type walker struct {
	name string
	next int64
}

// move checks a Player Position And Look against Walk and reports it.
func (s *Server) move(w *walker, data []byte) error {
	at := time.Now()
	got, err := mc18.ParsePositionLook(data)
	if err != nil {
		return err
	}
	if want := Walk(w.next); got != want {
		return fmt.Errorf("movement %d of %s is %+v, want %+v (lost, reordered or altered): %w",
			w.next, w.name, got, want, mcconn.ErrUnexpectedPacket)
	}
	s.moves.Add(1)
	if h := s.moveObs.Load(); h != nil {
		h.o.Moved(w.name, w.next, at)
	}
	w.next++
	return nil
}

// spawnAround writes the other players a moving player sees and returns
// their entity ids.
func (s *Server) spawnAround(c *mcconn.Conn) ([]int32, error) {
	ids := make([]int32, mixEntities)
	first := s.nextEntity.Add(mixEntities) - mixEntities + 1
	var batch, pkt []byte
	for i := range ids {
		ids[i] = first + int32(i)
		pkt = mc18.AppendSpawnPlayer(pkt[:0], ids[i], mc18.OfflineUUID(fmt.Sprintf("npc%d", i)), 2.5+float64(i), walkY, 4.5)
		batch = s.frame(batch, pkt, c.Threshold())
	}
	if _, err := c.Write(batch); err != nil {
		return nil, fmt.Errorf("spawn players: %w", err)
	}
	return ids, nil
}

// frame appends pkt framed for threshold. Only the chunk frame (built in
// New) is large enough to compress, so this never runs zlib.
func (s *Server) frame(dst, pkt []byte, threshold int) []byte {
	var none mcproto.Compressor // below the threshold it only writes headers
	return none.AppendFrame(dst, pkt, threshold)
}

// mix streams cfg.Mix at a moving player, one batch per tick, until done
// closes or a write fails. Rates are kept in credits of 1/20 packet so a
// rate that is not a multiple of 20 per second still averages out.
func (s *Server) mix(c *mcconn.Conn, wmu *sync.Mutex, ents []int32, done <-chan struct{}) {
	t := time.NewTicker(TickInterval)
	defer t.Stop()
	m := s.cfg.Mix
	// Players start at different points of the second, so that the chunk
	// frames and chat lines of players who logged in together do not all
	// land in the same tick.
	phase := int(ents[0]) % ticksPerSecond
	var (
		batch, pkt []byte
		moves      int
	)
	moveCredit, chunkCredit, chatCr := phase, phase, phase
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		batch = batch[:0]
		th := c.Threshold()
		for moveCredit += m.EntityMoves; moveCredit >= ticksPerSecond; moveCredit -= ticksPerSecond {
			id := ents[moves%len(ents)]
			// Each entity steps +x then −x on its next move: it stays put
			// on average.
			dx := int8(entityStep)
			if (moves/len(ents))%2 == 1 {
				dx = -entityStep
			}
			if moves%2 == 0 {
				pkt = mc18.AppendEntityRelMove(pkt[:0], id, dx, 0, 0, true)
			} else {
				pkt = mc18.AppendEntityMoveLook(pkt[:0], id, dx, 0, 0, byte(moves), 0, true)
			}
			batch = s.frame(batch, pkt, th)
			moves++
		}
		for chatCr += m.Chat; chatCr >= ticksPerSecond; chatCr -= ticksPerSecond {
			pkt = mc18.AppendChat(pkt[:0], ChatLine(time.Now()), 0)
			batch = s.frame(batch, pkt, th)
		}
		for chunkCredit += m.Chunks; chunkCredit >= ticksPerSecond; chunkCredit -= ticksPerSecond {
			batch = append(batch, s.bulkFrame...)
		}
		if len(batch) == 0 {
			continue
		}
		wmu.Lock()
		_, err := c.Write(batch)
		wmu.Unlock()
		if err != nil {
			return
		}
	}
}

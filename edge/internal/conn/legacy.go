package conn

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/rustguard/rustguard/edge/internal/reason"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// legacyPing answers a 1.3–1.6 server-list ping (first byte 0xFE) in the
// legacy kick format, from the same status cache as modern pings.
func (s *session) legacyPing(ctx context.Context, l *leg) (reason.Reason, error) {
	var ping packets.LegacyPing
	for {
		p, _, err := packets.ParseLegacyPing(l.f.Buffered())
		if err != nil && !errors.Is(err, mcproto.ErrShort) {
			return reason.Malformed, fmt.Errorf("legacy ping: %w", err)
		}
		if len(l.f.Buffered()) > maxLegacyPing {
			return reason.FrameTooLarge, fmt.Errorf("legacy ping over %d bytes", maxLegacyPing)
		}
		if err == nil && p.Form == packets.LegacyForm16 {
			ping = p
			break
		}
		// FE and FE 01 are complete pings of 1.3 and 1.4–1.5 clients, but
		// also the start of a 1.6 ping, which may arrive in pieces. Wait a
		// moment for more before answering what we have; never past the
		// handshake deadline, or a byte every moment would hold the
		// connection forever.
		s.readWithin(legacyPingWait)
		if ferr := l.fill(); ferr != nil {
			if isTimeout(ferr) && err == nil {
				ping = p
				break
			}
			return classify(ferr), ferr
		}
	}
	// Ask the backend as the newest client would: a legacy client cannot
	// join anyway, it only shows the MOTD and player counts. Only the
	// routed host goes to the cache, as for modern pings.
	host := packets.ParseHost(ping.Host).Host
	hs := packets.Handshake{Protocol: packets.MaxProtocol, Host: host, Port: uint16(ping.Port), Intent: mcproto.IntentStatus}
	st, err := packets.ParseStatusJSON(string(s.h.o.Status.Status(ctx, s.statusBackend(host), hs)))
	if err != nil {
		return reason.None, fmt.Errorf("legacy ping: status json: %w", err)
	}
	online, maxPlayers := 0, 0
	if st.Players != nil {
		online, maxPlayers = st.Players.Online, st.Players.Max
	}
	out := packets.AppendLegacyKick(nil, ping.Form, strconv.Itoa(int(st.Version.Protocol)), st.Version.Name, st.DescriptionText(), online, maxPlayers)
	_, err = s.client.Write(out)
	return reason.None, err
}

// legacyPingWait is how long we wait for more bytes of a legacy ping before
// answering what we have.
const legacyPingWait = 150 * time.Millisecond

// writeLegacyKick sends a pre-1.7 disconnect: 0xFF, u16 length in UTF-16
// units, UTF-16BE text.
func (s *session) writeLegacyKick(msg string) {
	units := utf16.Encode([]rune(msg))
	out := make([]byte, 3, 3+2*len(units))
	out[0] = 0xFF
	binary.BigEndian.PutUint16(out[1:], uint16(len(units)))
	for _, u := range units {
		out = binary.BigEndian.AppendUint16(out, u)
	}
	_, _ = s.client.Write(out)
}

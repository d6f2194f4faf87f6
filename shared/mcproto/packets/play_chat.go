package packets

import "github.com/rustguard/rustguard/shared/mcproto"

// Serverbound chat, commands and tab completion. Text fields alias the
// packet body as []byte: convert (and so copy) only what a check keeps.

// Caps of chat fields, from the vanilla readers.
const (
	// maxChatCharsOld is 1.8–1.10's chat limit (C01PacketChatMessage).
	maxChatCharsOld = 100
	// maxChatChars is the limit since 1.11 for messages, and for commands
	// up to 1.20.4.
	maxChatChars = 256
	// maxCommandChars is 1.20.5+'s command limit: some releases keep 256,
	// later ones read an unbounded readUtf() (32767). We take the larger so
	// no release's legal command is refused; the backend enforces its own.
	maxCommandChars = 32767
	// maxSignatureBytes bounds the 1.19–1.19.2 VarInt-prefixed signatures
	// (vanilla reads them unbounded, but an RSA-2048 signature is 256
	// bytes and nothing longer can verify).
	maxSignatureBytes = 256
	// signatureLen is the fixed signature size since 1.19.3
	// (MessageSignature.BYTES).
	signatureLen = 256
	// maxArgSignatures is ArgumentSignatures.MAX_ARGUMENT_COUNT.
	maxArgSignatures = 8
	// maxArgNameChars is ArgumentSignatures.MAX_ARGUMENT_NAME_LENGTH.
	maxArgNameChars = 16
	// maxLastSeenEntries is the 1.19.1–1.19.2 LastSeenMessages cap.
	maxLastSeenEntries = 5
	// acknowledgedLen is the 20-bit FixedBitSet of 1.19.3+ last-seen
	// updates: ceil(20/8) bytes.
	acknowledgedLen = 3
	// minLastSeenEntryLen is one 1.19.1 entry at its smallest: a UUID and
	// an empty signature.
	minLastSeenEntryLen = 16 + 1
	// maxTabTextCharsOld is the 1.8–1.12.2 tab-complete limit.
	maxTabTextCharsOld = 32767
	// maxTabTextChars is the 1.13+ limit (ServerboundCommandSuggestion).
	maxTabTextChars = 32500
)

// LastSeen is the acknowledgement block that 1.19.1+ chat messages and
// signed commands carry.
type LastSeen struct {
	// Raw is the 1.19.1–1.19.2 block (entries of sender UUID and signature,
	// then an optional last-received entry), validated and kept raw.
	Raw []byte
	// Offset (1.19.3+) is the message offset (a count for commands).
	Offset int32
	// Acknowledged (1.19.3+) is the 20-bit set of acknowledged messages.
	Acknowledged [acknowledgedLen]byte
	// Checksum (1.21.5+) is the last-seen checksum byte.
	Checksum uint8
}

func readLastSeen(r *mcproto.Reader, body []byte, protocol int32) LastSeen {
	var l LastSeen
	switch {
	case protocol >= mcproto.Protocol1_19_3:
		l.Offset = r.VarInt()
		copy(l.Acknowledged[:], r.Bytes(acknowledgedLen))
		if protocol >= playProto1_21_5 {
			l.Checksum = r.Byte()
		}
	case protocol >= mcproto.Protocol1_19_1:
		start := r.Offset()
		n := r.VarInt()
		if checkCount(r, n, maxLastSeenEntries, minLastSeenEntryLen) {
			for i := int32(0); i < n && r.Err() == nil; i++ {
				r.UUID()
				r.ByteArray(maxSignatureBytes)
			}
		}
		if r.Bool() { // last received
			r.UUID()
			r.ByteArray(maxSignatureBytes)
		}
		if r.Err() == nil {
			l.Raw = rawSince(body, r, start)
		}
	}
	return l
}

func (l LastSeen) appendTo(dst []byte, protocol int32) []byte {
	switch {
	case protocol >= mcproto.Protocol1_19_3:
		dst = mcproto.AppendVarInt(dst, l.Offset)
		dst = append(dst, l.Acknowledged[:]...)
		if protocol >= playProto1_21_5 {
			dst = append(dst, l.Checksum)
		}
	case protocol >= mcproto.Protocol1_19_1:
		dst = append(dst, l.Raw...)
	}
	return dst
}

// rawSince returns the part of body that r (reading body) consumed since
// offset start, capped so an append to it cannot overwrite what follows.
func rawSince(body []byte, r *mcproto.Reader, start int) []byte {
	end := r.Offset()
	return body[start:end:end]
}

// Chat is the serverbound chat message. Before 1.19 it is the text
// alone; 1.19 adds a timestamp, salt and signature, 1.19.1 the last-seen
// block, 1.19.3 a fixed-size optional signature and the compact
// acknowledgement, 1.21.5 a checksum.
type Chat struct {
	Message   []byte
	Timestamp int64 // 1.19+, milliseconds since the epoch
	Salt      int64 // 1.19+
	// Signature is VarInt-prefixed (possibly empty) in 1.19–1.19.2 and
	// either nil (absent) or exactly 256 bytes since 1.19.3.
	Signature     []byte
	SignedPreview bool // 1.19–1.19.2
	LastSeen      LastSeen
}

func maxChatFor(protocol int32) int {
	if protocol < playProto1_11 {
		return maxChatCharsOld
	}
	return maxChatChars
}

// DecodeChat decodes the serverbound chat message.
func DecodeChat(body []byte, protocol int32) (Chat, error) {
	r := mcproto.NewReader(body)
	m := Chat{Message: r.StringBytes(maxChatFor(protocol))}
	if protocol >= mcproto.Protocol1_19 {
		m.Timestamp = r.Int64()
		m.Salt = r.Int64()
		if protocol >= mcproto.Protocol1_19_3 {
			if r.Bool() {
				m.Signature = r.Bytes(signatureLen)
			}
		} else {
			m.Signature = r.ByteArray(maxSignatureBytes)
			m.SignedPreview = r.Bool()
		}
		m.LastSeen = readLastSeen(&r, body, protocol)
	}
	if err := finish(&r, "chat message"); err != nil {
		return Chat{}, err
	}
	return m, nil
}

// AppendData appends the packet data. Since 1.19.3 a Signature that is not
// nil must be 256 bytes.
func (m Chat) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendByteArray(dst, m.Message)
	if protocol < mcproto.Protocol1_19 {
		return dst
	}
	dst = mcproto.AppendInt64(dst, m.Timestamp)
	dst = mcproto.AppendInt64(dst, m.Salt)
	if protocol >= mcproto.Protocol1_19_3 {
		dst = mcproto.AppendBool(dst, m.Signature != nil)
		dst = append(dst, m.Signature...)
	} else {
		dst = mcproto.AppendByteArray(dst, m.Signature)
		dst = mcproto.AppendBool(dst, m.SignedPreview)
	}
	return m.LastSeen.appendTo(dst, protocol)
}

// ChatCommand is the serverbound command packet (1.19+). From 1.19 to
// 1.20.4 it carries argument signatures and the last-seen block; since
// 1.20.5 it is the command alone and signed commands travel in
// ChatCommandSigned.
type ChatCommand struct {
	Command   []byte
	Timestamp int64
	Salt      int64
	// ArgSignatures holds ArgCount (name, signature) entries, validated and
	// kept raw: name String(16), then a VarInt-prefixed signature
	// (1.19–1.19.2) or a fixed 256-byte one (1.19.3+).
	ArgSignatures []byte
	ArgCount      int32
	SignedPreview bool // 1.19–1.19.2
	LastSeen      LastSeen
}

// ChatCommandSigned is "Signed Chat Command" (1.20.5+): the signed layout
// that ChatCommand had from 1.19.3 to 1.20.4.
type ChatCommandSigned ChatCommand

func readArgSignatures(r *mcproto.Reader, body []byte, protocol int32) ([]byte, int32) {
	n := r.VarInt()
	minEntry := 1 + 1 // empty name, empty signature
	if protocol >= mcproto.Protocol1_19_3 {
		minEntry = 1 + signatureLen
	}
	if !checkCount(r, n, maxArgSignatures, minEntry) {
		return nil, 0
	}
	start := r.Offset()
	for i := int32(0); i < n && r.Err() == nil; i++ {
		r.StringBytes(maxArgNameChars)
		if protocol >= mcproto.Protocol1_19_3 {
			r.Bytes(signatureLen)
		} else {
			r.ByteArray(maxSignatureBytes)
		}
	}
	if r.Err() != nil {
		return nil, 0
	}
	return rawSince(body, r, start), n
}

func (c *ChatCommand) readSigned(r *mcproto.Reader, body []byte, protocol int32) {
	c.Timestamp = r.Int64()
	c.Salt = r.Int64()
	c.ArgSignatures, c.ArgCount = readArgSignatures(r, body, protocol)
	if protocol < mcproto.Protocol1_19_3 {
		c.SignedPreview = r.Bool()
	}
	c.LastSeen = readLastSeen(r, body, protocol)
}

func (c ChatCommand) appendSigned(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendInt64(dst, c.Timestamp)
	dst = mcproto.AppendInt64(dst, c.Salt)
	dst = mcproto.AppendVarInt(dst, c.ArgCount)
	dst = append(dst, c.ArgSignatures...)
	if protocol < mcproto.Protocol1_19_3 {
		dst = mcproto.AppendBool(dst, c.SignedPreview)
	}
	return c.LastSeen.appendTo(dst, protocol)
}

// DecodeChatCommand decodes the command packet of 1.19+.
func DecodeChatCommand(body []byte, protocol int32) (ChatCommand, error) {
	if protocol < mcproto.Protocol1_19 {
		return ChatCommand{}, notIn("chat command", protocol)
	}
	r := mcproto.NewReader(body)
	var c ChatCommand
	if protocol >= mcproto.Protocol1_20_5 {
		c.Command = r.StringBytes(maxCommandChars)
	} else {
		c.Command = r.StringBytes(maxChatChars)
		c.readSigned(&r, body, protocol)
	}
	if err := finish(&r, "chat command"); err != nil {
		return ChatCommand{}, err
	}
	return c, nil
}

// AppendData appends the packet data.
func (c ChatCommand) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendByteArray(dst, c.Command)
	if protocol >= mcproto.Protocol1_20_5 {
		return dst
	}
	return c.appendSigned(dst, protocol)
}

// DecodeChatCommandSigned decodes "Signed Chat Command" (1.20.5+).
func DecodeChatCommandSigned(body []byte, protocol int32) (ChatCommandSigned, error) {
	if protocol < mcproto.Protocol1_20_5 {
		return ChatCommandSigned{}, notIn("signed chat command", protocol)
	}
	r := mcproto.NewReader(body)
	var c ChatCommand
	c.Command = r.StringBytes(maxCommandChars)
	c.readSigned(&r, body, protocol)
	if err := finish(&r, "signed chat command"); err != nil {
		return ChatCommandSigned{}, err
	}
	return ChatCommandSigned(c), nil
}

// AppendData appends the packet data.
func (s ChatCommandSigned) AppendData(dst []byte, protocol int32) []byte {
	dst = mcproto.AppendByteArray(dst, s.Command)
	return ChatCommand(s).appendSigned(dst, protocol)
}

// TabComplete is the serverbound command-suggestion request. Before 1.13
// it carries the text and an optional looked-at block (plus assumeCommand
// from 1.9); since 1.13 a transaction id and the text.
type TabComplete struct {
	TransactionID int32 // 1.13+
	Text          []byte
	AssumeCommand bool // 1.9–1.12.2
	HasBlock      bool // before 1.13
	Block         mcproto.Position
}

// DecodeTabComplete decodes the serverbound tab-complete request.
func DecodeTabComplete(body []byte, protocol int32) (TabComplete, error) {
	r := mcproto.NewReader(body)
	var t TabComplete
	if protocol >= mcproto.Protocol1_13 {
		t.TransactionID = r.VarInt()
		t.Text = r.StringBytes(maxTabTextChars)
	} else {
		t.Text = r.StringBytes(maxTabTextCharsOld)
		if protocol >= mcproto.Protocol1_9 {
			t.AssumeCommand = r.Bool()
		}
		t.HasBlock = r.Bool()
		if t.HasBlock {
			t.Block = r.Position(protocol)
		}
	}
	if err := finish(&r, "tab complete"); err != nil {
		return TabComplete{}, err
	}
	return t, nil
}

// AppendData appends the packet data.
func (t TabComplete) AppendData(dst []byte, protocol int32) []byte {
	if protocol >= mcproto.Protocol1_13 {
		dst = mcproto.AppendVarInt(dst, t.TransactionID)
		return mcproto.AppendByteArray(dst, t.Text)
	}
	dst = mcproto.AppendByteArray(dst, t.Text)
	if protocol >= mcproto.Protocol1_9 {
		dst = mcproto.AppendBool(dst, t.AssumeCommand)
	}
	dst = mcproto.AppendBool(dst, t.HasBlock)
	if t.HasBlock {
		dst = appendPosition(dst, t.Block, protocol)
	}
	return dst
}

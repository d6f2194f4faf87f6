package conn

import (
	"testing"

	"github.com/rustguard/rustguard/edge/internal/detect"
	"github.com/rustguard/rustguard/shared/mcproto"
	"github.com/rustguard/rustguard/shared/mcproto/packets"
)

// TestBodyNeeded is the table of docs/PROTOCOL.md, "Large frames": which
// clientbound bodies the edge reads (and so never splices), by state,
// with the world replica and the detection engine on or off.
func TestBodyNeeded(t *testing.T) {
	eng, err := detect.New(detect.Config{}, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	det := eng.NewPlayer(detect.PlayerInfo{Protocol: 47, Name: "Table", UUID: "00000000-0000-0000-0000-000000000001"})
	const (
		login  = mcproto.StateLogin
		config = mcproto.StateConfiguration
		play   = mcproto.StatePlay
	)
	for _, tc := range []struct {
		state       mcproto.State
		kind        packets.Kind
		world, dete bool
		want        bool
	}{
		// The protocol state reads these whatever else is on.
		{login, packets.KindLoginPluginRequest, false, false, true},
		{login, packets.KindSetCompression, false, false, true},
		{config, packets.KindFinishConfiguration, false, false, true},
		{play, packets.KindStartConfiguration, false, false, true},
		{play, packets.KindSetCompression, false, false, true},
		// The world replica's packets, when it is on.
		{play, packets.KindMapChunk, true, false, true},
		{play, packets.KindMapChunkBulk, true, false, true},
		{play, packets.KindBlockChange, true, false, true},
		{play, packets.KindMultiBlockChange, true, false, true},
		{play, packets.KindExplosion, true, false, true},
		{config, packets.KindRegistryData, true, false, true},
		{play, packets.KindMapChunk, false, false, false},
		{play, packets.KindMultiBlockChange, false, false, false},
		{config, packets.KindRegistryData, false, false, false},
		// The detection engine's, in play, when it is on.
		{play, packets.KindExplosion, false, true, true},
		{play, packets.KindSpawnEntity, false, true, true},
		{play, packets.KindEntityTeleport, false, true, true},
		{play, packets.KindJoinGame, false, true, true},
		{play, packets.KindSpawnEntity, false, false, false},
		// Nobody's.
		{play, packets.KindPluginMessage, true, true, false},
		{config, packets.KindPluginMessage, true, true, false},
		{play, packets.KindMapChunk, false, true, false},
		{play, packets.KindUnknown, true, true, false},
	} {
		p := &pump{s: &session{}, dir: mcproto.Clientbound, state: tc.state}
		if tc.world {
			p.wf = &worldFeed{}
		}
		if tc.dete {
			p.s.det = det
		}
		if got := p.bodyNeeded(tc.kind); got != tc.want {
			t.Errorf("%s %s (world %v, detection %v): body needed %v, want %v", tc.state, tc.kind, tc.world, tc.dete, got, tc.want)
		}
	}
}

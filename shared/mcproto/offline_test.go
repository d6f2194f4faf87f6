package mcproto

import (
	"strings"
	"testing"
)

func TestOfflineUUID(t *testing.T) {
	// Offline-mode UUIDs as vanilla and every offline proxy compute them
	// (UUID.nameUUIDFromBytes("OfflinePlayer:" + name)).
	for name, want := range map[string]string{
		"Notch": "b50ad385-829d-3141-a216-7e7d7539ba7f",
	} {
		if got := OfflineUUID(name).String(); got != want {
			t.Errorf("OfflineUUID(%q) = %s, want %s", name, got, want)
		}
	}
	// Names are hashed as given: case matters, as in vanilla.
	if OfflineUUID("notch") == OfflineUUID("Notch") {
		t.Error("OfflineUUID folded case")
	}
	long := strings.Repeat("x", 100)
	if OfflineUUID(long) == OfflineUUID(long[:maxOfflineName]) {
		t.Error("a long name was cut")
	}
}

func TestOfflineUUIDAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = OfflineUUID("Sixteen_Chars_16") }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

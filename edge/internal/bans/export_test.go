package bans

// MaxLocalBans is maxLocalBans for the external tests.
const MaxLocalBans = maxLocalBans

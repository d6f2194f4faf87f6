package bans

// SetLocalCap lowers l's cap, so a test can fill it quickly; call it
// before the first Add.
func SetLocalCap(l *Local, n int) { l.max = n }

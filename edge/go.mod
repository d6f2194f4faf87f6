module github.com/rustguard/rustguard/edge

go 1.26.0

require (
	github.com/prometheus/client_golang v1.23.2 // indirect
	github.com/rustguard/rustguard/shared v0.0.0
	golang.org/x/sync v0.25.0 // indirect
)

replace github.com/rustguard/rustguard/shared => ../shared

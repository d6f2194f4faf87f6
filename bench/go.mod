module github.com/rustguard/rustguard/bench

go 1.26.7

require github.com/rustguard/rustguard/shared v0.0.0

require (
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/rustguard/rustguard/shared => ../shared

module github.com/rustguard/rustguard/bench

go 1.26

require github.com/rustguard/rustguard/shared v0.0.0

replace github.com/rustguard/rustguard/shared => ../shared

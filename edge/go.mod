module github.com/rustguard/rustguard/edge

go 1.26

module github.com/rustguard/rustguard/shared

go 1.26

module github.com/rustguard/rustguard/test/e2e

go 1.26.0

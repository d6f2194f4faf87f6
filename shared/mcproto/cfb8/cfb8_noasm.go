//go:build !amd64 || purego

package cfb8

// haveAsm reports false: this build has no assembly, every stream uses the
// crypto/aes implementation in generic.go.
func haveAsm() bool { return false }

// The functions below exist so the package compiles; haveAsm keeps them from
// being called.

const errNoAsm = "cfb8: assembly called in a build without it"

func expandKey(*[KeySize]byte, *[scheduleSize]byte) { panic(errNoAsm) }

func encryptBlock(*[scheduleSize]byte, *[BlockSize]byte, *[BlockSize]byte) { panic(errNoAsm) }

func encryptCFB8(*[scheduleSize]byte, *[BlockSize]byte, []byte, []byte) { panic(errNoAsm) }

func decryptCFB8(*[scheduleSize]byte, *[BlockSize]byte, []byte, []byte) { panic(errNoAsm) }

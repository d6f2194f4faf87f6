package cfb8

// Impl is one implementation of the package, for tests that must hold every
// implementation the machine can run to the same bytes.
type Impl struct {
	Name string
	asm  bool
}

// Impls lists the implementations this machine runs: the generic one always,
// the assembly when the CPU has what it needs.
func Impls() []Impl {
	impls := []Impl{{Name: "generic"}}
	if haveAsm() {
		impls = append(impls, Impl{Name: "asm", asm: true})
	}
	return impls
}

// HaveAsm is haveAsm for the external tests.
func HaveAsm() bool { return haveAsm() }

// NewEncrypter is NewEncrypter with this implementation.
func (i Impl) NewEncrypter(key, iv []byte) (*Encrypter, error) {
	e := new(Encrypter)
	if err := e.s.init(key, iv, i.asm); err != nil {
		return nil, err
	}
	return e, nil
}

// NewDecrypter is NewDecrypter with this implementation.
func (i Impl) NewDecrypter(key, iv []byte) (*Decrypter, error) {
	d := new(Decrypter)
	if err := d.s.init(key, iv, i.asm); err != nil {
		return nil, err
	}
	return d, nil
}

// EncryptBlockAsm encrypts one block with the assembly's own key schedule.
func EncryptBlockAsm(key, block []byte) []byte {
	var ks [scheduleSize]byte
	expandKey((*[KeySize]byte)(key), &ks)
	var out [BlockSize]byte
	encryptBlock(&ks, &out, (*[BlockSize]byte)(block))
	return out[:]
}

// ScheduleAsm returns the assembly's expanded key.
func ScheduleAsm(key []byte) []byte {
	var ks [scheduleSize]byte
	expandKey((*[KeySize]byte)(key), &ks)
	return ks[:]
}

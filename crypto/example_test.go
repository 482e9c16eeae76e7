package crypto_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/lpse/cadang/crypto"
)

func Example() {
	key, err := crypto.NewRandomKey()
	if err != nil {
		panic(err)
	}
	// The associated data binds the object to its name: the same sealed
	// bytes presented under another name do not open.
	ad := []byte("snapshots/1234")
	sealed, err := key.Seal(nil, []byte("hello, repository"), ad)
	if err != nil {
		panic(err)
	}
	fmt.Println("overhead:", len(sealed)-len("hello, repository"))

	plain, err := key.Open(nil, sealed, ad)
	fmt.Printf("%s %v\n", plain, err)

	_, err = key.Open(nil, sealed, []byte("snapshots/5678"))
	fmt.Println(errors.Is(err, crypto.ErrAuth))

	sealed[len(sealed)/2] ^= 1
	_, err = key.Open(nil, sealed, ad)
	fmt.Println(errors.Is(err, crypto.ErrAuth))
	// Output:
	// overhead: 41
	// hello, repository <nil>
	// true
	// true
}

func ExampleNewKeyFile() {
	key, _ := crypto.NewRandomKey()
	// Real key files use crypto.DefaultKDFParams(); these are cheap for the example.
	params := crypto.KDFParams{Time: 1, Memory: 8 << 10, Threads: 1}
	kf, err := crypto.NewKeyFile(key, []byte("correct horse"), params, "host", "user", time.Unix(1700000000, 0))
	if err != nil {
		panic(err)
	}
	b, _ := kf.Marshal()

	parsed, err := crypto.ParseKeyFile(b)
	if err != nil {
		panic(err)
	}
	_, err = parsed.Unwrap([]byte("wrong horse"))
	fmt.Println(err)
	k2, err := parsed.Unwrap([]byte("correct horse"))
	fmt.Println(err, k2.ID == key.ID)
	// Output:
	// wrong password
	// <nil> true
}

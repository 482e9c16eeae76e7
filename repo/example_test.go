package repo_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/mem"
)

func Example() {
	ctx := context.Background()
	be := mem.New() // local.Create(ctx, path) for a directory

	// crypto.CheapKDFParams() keeps the example fast; leave InitOptions.KDF zero for
	// the default argon2id cost.
	r, err := repo.Init(ctx, be, []byte("correct horse"), repo.InitOptions{KDF: crypto.CheapKDFParams()})
	if err != nil {
		panic(err)
	}
	data := []byte("INSERT INTO paket VALUES (1, 'Pengadaan laptop');\n")
	id, isNew, err := r.SaveBlob(ctx, repo.DataBlob, data)
	fmt.Println("new:", isNew, err)
	_, isNew, _ = r.SaveBlob(ctx, repo.DataBlob, data)
	fmt.Println("saved again, new:", isNew)

	// Flush writes the open packs and the index; until then the blob lives
	// only in memory.
	if err := r.Flush(ctx); err != nil {
		panic(err)
	}
	r.Close()

	r, err = repo.Open(ctx, be, []byte("correct horse"), repo.Options{})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	got, err := r.LoadBlob(ctx, repo.DataBlob, id, nil)
	fmt.Printf("%q %v\n", got, err)

	_, err = repo.Open(ctx, be, []byte("wrong horse"), repo.Options{})
	fmt.Println(errors.Is(err, repo.ErrWrongPassword))
	// Output:
	// new: true <nil>
	// saved again, new: false
	// "INSERT INTO paket VALUES (1, 'Pengadaan laptop');\n" <nil>
	// true
}

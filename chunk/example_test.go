package chunk_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/lpse/cadang/chunk"
)

func Example() {
	// A repository keeps a random polynomial in its config (chunk.RandomPol
	// at init); a fixed one makes this example reproducible.
	pol := chunk.Pol(0x3DA3358B4DC173)
	params := chunk.Params{Min: 8 << 10, Avg: 16 << 10, Max: 64 << 10}
	c, err := chunk.New(pol, params)
	if err != nil {
		panic(err)
	}

	data := make([]byte, 256<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}

	c.Reset(bytes.NewReader(data))
	buf := make([]byte, params.Max) // reused for every chunk
	var total, n int
	for {
		ch, err := c.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		total += len(ch)
		n++
		buf = ch
	}
	fmt.Printf("%d bytes in %d chunks\n", total, n)
	// Output:
	// 262144 bytes in 13 chunks
}

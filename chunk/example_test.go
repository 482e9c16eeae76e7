package chunk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"

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

// Parallel cuts one long stream (a database dump read from a pipe, say) on
// several cores into exactly the chunks a Chunker would.
func ExampleParallel_Stream() {
	pol := chunk.Pol(0x3DA3358B4DC173)
	params := chunk.Params{Min: 8 << 10, Avg: 16 << 10, Max: 64 << 10}
	data := make([]byte, 4<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}

	// Sequential chunking, for comparison.
	c, err := chunk.New(pol, params)
	if err != nil {
		panic(err)
	}
	c.Reset(bytes.NewReader(data))
	var seq []int
	for {
		ch, err := c.Next(nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		seq = append(seq, len(ch))
	}

	// Four goroutines chunk segments of 256 KiB; emit sees the chunks in
	// order, on this goroutine.
	pc, err := chunk.NewParallel(pol, params, 4, 256<<10)
	if err != nil {
		panic(err)
	}
	var par []int
	err = pc.Stream(context.Background(), bytes.NewReader(data), func(ch []byte) error {
		par = append(par, len(ch)) // ch is valid only during the call: copy what you keep
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d chunks, identical to sequential chunking: %v\n", len(par), slices.Equal(seq, par))
	// Output:
	// 180 chunks, identical to sequential chunking: true
}

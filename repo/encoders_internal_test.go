package repo

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestEncodersConcurrent: more goroutines than encoders compress at once;
// each output decodes to its input, whatever slot it got.
func TestEncodersConcurrent(t *testing.T) {
	e, err := newEncoders(2, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithZeroFrames(true), zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				src := bytes.Repeat([]byte(fmt.Sprintf("goroutine %d blob %d; ", g, i)), 200+i*100)
				out, err := dec.DecodeAll(e.EncodeAll(src, nil), nil)
				if err != nil || !bytes.Equal(out, src) {
					errs <- fmt.Errorf("goroutine %d blob %d: %v (%d bytes back of %d)", g, i, err, len(out), len(src))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if cpu, ok := currentCPU(); !ok || cpu < 0 {
		t.Logf("currentCPU: %d, %v", cpu, ok)
	}
}

package harness

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/restic/chunker"
)

// ChunkParams are the size bounds of a content-defined chunker.
type ChunkParams struct {
	Min, Avg, Max uint
}

func (p ChunkParams) String() string {
	return fmt.Sprintf("%s/%s/%s", kib(p.Min), kib(p.Avg), kib(p.Max))
}

func kib(n uint) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%dM", n>>20)
	}
	return fmt.Sprintf("%dK", n>>10)
}

// StudyParams are the chunker settings the chunk-size study compares:
// min = avg/2, max = avg*8 (capped at 12 MiB), for averages 64 KiB .. 4 MiB.
// The 1 MiB row is restic's default (512K/1M/8M).
func StudyParams() []ChunkParams {
	var ps []ChunkParams
	for avg := uint(64 << 10); avg <= 4<<20; avg *= 2 {
		ps = append(ps, ChunkParams{Min: avg / 2, Avg: avg, Max: min(avg*8, 12<<20)})
	}
	return ps
}

// StudyResult is the outcome for one ChunkParams, averaged over polynomials.
type StudyResult struct {
	Params      ChunkParams
	Pols        int
	Chunks0     float64 // chunks of the day-0 dump
	Chunks1     float64 // chunks of the day-1 dump
	NewChunks   float64 // day-1 chunks not found among day-0 chunks (nor earlier in day 1)
	NewBytes    float64 // their bytes
	NewBytesMin float64 // over polynomials
	NewBytesMax float64
	NewZstd     float64 // their bytes after zstd (default level), each chunk alone
	Day0Zstd    float64 // all day-0 chunks after zstd, each alone (first polynomial only)
	Day0Bytes   int64
	Day1Bytes   int64
	ChunkCPU    float64 // CPU seconds (thread time) to chunk the day-0 dump once; best over polynomials
	ChunkMBps   float64 // day-0 bytes / ChunkCPU
}

// NewPct is NewBytes as a share of the day-1 dump, in percent.
func (r StudyResult) NewPct() float64 { return 100 * r.NewBytes / float64(r.Day1Bytes) }

// threadCPU returns the CPU time used by the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD (Linux)
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type polReader struct{ r uint64 }

func (p *polReader) Read(b []byte) (int, error) {
	for i := range b {
		p.r ^= p.r << 13
		p.r ^= p.r >> 7
		p.r ^= p.r << 17
		b[i] = byte(p.r)
	}
	return len(b), nil
}

// StudyPolynomial returns a deterministic random irreducible polynomial for
// study run k (so that the study is reproducible).
func StudyPolynomial(k int) (chunker.Pol, error) {
	return chunker.DerivePolynomial(&polReader{r: 0x9e3779b97f4a7c15 ^ uint64(k+1)*0xbf58476d1ce4e5b9})
}

// ChunkStudy chunks day0 and then day1 with each parameter set and each of
// `pols` polynomials, and reports how many bytes of day1 are new, i.e. not
// deduplicated (by sha256 of the chunk bytes) against day0. It also reports
// the single-thread CPU cost of chunking. progress, if not nil, gets a line
// per step.
func ChunkStudy(day0, day1 []byte, params []ChunkParams, pols int, progress io.Writer) ([]StudyResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	// Warm up (page in the inputs, grow the heap) so that the first
	// parameter set is not measured cold.
	if len(params) > 0 {
		if pol, err := StudyPolynomial(0); err == nil {
			c := chunker.NewWithBoundaries(bytes.NewReader(day0), pol, params[0].Min, params[0].Max)
			buf := make([]byte, params[0].Max)
			for {
				if _, err := c.Next(buf); err != nil {
					break
				}
			}
		}
	}
	var out []StudyResult
	for _, p := range params {
		res := StudyResult{Params: p, Pols: pols, Day0Bytes: int64(len(day0)), Day1Bytes: int64(len(day1)), NewBytesMin: -1}
		cpu := time.Duration(-1)
		for k := 0; k < pols; k++ {
			pol, err := StudyPolynomial(k)
			if err != nil {
				return nil, err
			}
			c := chunker.NewWithBoundaries(bytes.NewReader(day0), pol, p.Min, p.Max)
			c.SetAverageBits(avgBits(p.Avg))
			buf := make([]byte, p.Max)
			seen := map[[32]byte]struct{}{}
			var n0 int
			var ck time.Duration
			var zbuf0 []byte
			for {
				t := threadCPU()
				ch, err := c.Next(buf)
				ck += threadCPU() - t
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, err
				}
				seen[sha256.Sum256(ch.Data)] = struct{}{}
				n0++
				if k == 0 {
					zbuf := enc.EncodeAll(ch.Data, zbuf0[:0])
					res.Day0Zstd += float64(min(len(zbuf), len(ch.Data)))
					zbuf0 = zbuf
				}
			}
			if cpu < 0 || ck < cpu {
				cpu = ck
			}
			c.ResetWithBoundaries(bytes.NewReader(day1), pol, p.Min, p.Max)
			c.SetAverageBits(avgBits(p.Avg))
			var n1, nNew int
			var newBytes, newZ int64
			var zbuf []byte
			for {
				ch, err := c.Next(buf)
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, err
				}
				n1++
				h := sha256.Sum256(ch.Data)
				if _, ok := seen[h]; ok {
					continue
				}
				seen[h] = struct{}{}
				nNew++
				newBytes += int64(len(ch.Data))
				zbuf = enc.EncodeAll(ch.Data, zbuf[:0])
				newZ += int64(min(len(zbuf), len(ch.Data)))
			}
			res.Chunks0 += float64(n0)
			res.Chunks1 += float64(n1)
			res.NewChunks += float64(nNew)
			res.NewBytes += float64(newBytes)
			res.NewZstd += float64(newZ)
			if res.NewBytesMin < 0 || float64(newBytes) < res.NewBytesMin {
				res.NewBytesMin = float64(newBytes)
			}
			res.NewBytesMax = max(res.NewBytesMax, float64(newBytes))
			if progress != nil {
				fmt.Fprintf(progress, "  %-14s pol %d: %d chunks, %d new, %.1f MB new, chunking %.2fs CPU\n",
					p, k, n1, nNew, float64(newBytes)/1e6, ck.Seconds())
			}
		}
		f := float64(pols)
		res.Chunks0 /= f
		res.Chunks1 /= f
		res.NewChunks /= f
		res.NewBytes /= f
		res.NewZstd /= f
		res.ChunkCPU = cpu.Seconds()
		if res.ChunkCPU > 0 {
			res.ChunkMBps = float64(len(day0)) / 1e6 / res.ChunkCPU
		}
		out = append(out, res)
	}
	return out, nil
}

func avgBits(avg uint) int {
	n := 0
	for avg > 1 {
		avg >>= 1
		n++
	}
	return n
}

// StudyTable renders results as Markdown.
func StudyTable(rs []StudyResult) string {
	var b strings.Builder
	b.WriteString("| min/avg/max | chunks (day 1) | mean chunk | new chunks | new bytes (MB) | new % of dump | range over pols (MB) | new after zstd (MB) | day-0 dump after zstd (MB) | chunking CPU (s, 1 core) | chunker MB/s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %.0f | %.0f KiB | %.0f | %.1f | %.2f%% | %.1f–%.1f | %.1f | %.1f | %.2f | %.0f |\n",
			r.Params, r.Chunks1, float64(r.Day1Bytes)/r.Chunks1/1024, r.NewChunks, r.NewBytes/1e6, r.NewPct(),
			r.NewBytesMin/1e6, r.NewBytesMax/1e6, r.NewZstd/1e6, r.Day0Zstd/1e6, r.ChunkCPU, r.ChunkMBps)
	}
	return b.String()
}

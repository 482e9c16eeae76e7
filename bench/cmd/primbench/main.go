// Command primbench measures how close cadang's first backup comes to the
// cost of its primitives (issue 16): in one invocation, for each run, it
// computes on one core what a first backup of the dataset must do at the
// least (content-defined chunking, keyed BLAKE3 of every chunk, zstd of
// what compresses, AES-256-GCM, SHA-256 of the packs), timing each stage by
// the CPU time of its own thread, and it runs a real first backup into a
// fresh repository, taking its CPU time (user + system) from the kernel.
// zstd counts only on chunks that end up compressed ("zstd on what
// compresses"); the time the compressibility test spends on the others is
// reported beside it, as overhead. The ratio of the two is the backup's overhead: syscalls, scheduling,
// allocation, GC and bookkeeping. Absolute CPU seconds drift by a third
// between runs on shared VMs; the ratio, measured back to back and in
// rotated order, is what to compare.
//
//	go run ./bench/cmd/primbench -scale 1 -runs 5
//
// File content is read into memory before a file's stages are timed, so
// reading (a syscall and a copy) counts as overhead, not as a primitive;
// so does the key derivation (argon2id) of opening the repository, which
// is reported on its own line.
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/lpse/cadang/bench/internal/dataset"
	"github.com/lpse/cadang/bench/internal/harness"
	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/crypto"
)

// stages is the CPU time of each primitive over the whole dataset.
type stages struct {
	chunk, blobID, zstd, seal, packHash time.Duration
	// zstdVain is zstd time spent on chunks stored uncompressed in the
	// end (the sample test, or a whole small chunk that did not shrink):
	// not a primitive of the backup, which needs zstd only on what
	// compresses, but what the repository's test costs.
	zstdVain                          time.Duration
	bytes, chunks, unique, compressed int64
	stored                            int64
}

func (s stages) total() time.Duration { return s.chunk + s.blobID + s.zstd + s.seal + s.packHash }

// threadCPU is the CPU time of the calling thread (locked to it).
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// primitives runs every stage over the files of src, one file at a time,
// each stage timed on its own.
func primitives(src string) (stages, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st stages
	pol, err := chunk.RandomPol()
	if err != nil {
		return st, err
	}
	params := chunk.DefaultParams()
	ch, err := chunk.New(pol, params)
	if err != nil {
		return st, err
	}
	key, err := crypto.NewRandomKey()
	if err != nil {
		return st, err
	}
	// The repository's encoder: fastest level, no CRC, 1 MiB window
	// (repo/init.go), used from one goroutine here.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(1<<20))
	if err != nil {
		return st, err
	}
	var files []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return st, err
	}
	slices.Sort(files)
	seen := map[[32]byte]struct{}{}
	chunkBuf := make([]byte, params.Max)
	var zbuf, sealed []byte
	pack := sha256.New()
	// process runs the stages after chunking over one chunk.
	process := func(c []byte) error {
		st.chunks++
		t0 := threadCPU()
		id := key.BlobID(c)
		st.blobID += threadCPU() - t0
		if _, dup := seen[id]; dup {
			return nil
		}
		seen[id] = struct{}{}
		st.unique++
		payload := c
		t0 = threadCPU()
		if compressible(enc, c) {
			zbuf = enc.EncodeAll(c, zbuf[:0])
			if len(zbuf) < len(c)-len(c)/32 {
				payload = zbuf
				st.compressed++
			}
		}
		if len(payload) != len(c) {
			st.zstd += threadCPU() - t0
		} else {
			st.zstdVain += threadCPU() - t0
		}
		t0 = threadCPU()
		var err error
		if sealed, err = key.Seal(sealed[:0], payload, id[:]); err != nil {
			return err
		}
		st.seal += threadCPU() - t0
		st.stored += int64(len(sealed)) + 1
		t0 = threadCPU()
		pack.Write(sealed)
		st.packHash += threadCPU() - t0
		return nil
	}
	// Each file is read into one buffer, sized for the largest file and
	// touched before any stage is timed. A buffer fresh from the kernel
	// (os.ReadFile's, one per file) made the first pass of every stage
	// over it about 1 ns a byte slower here: the chunker took 1.2-1.4 s
	// instead of 0.6 s over the same bytes. The backup reads into pooled
	// buffers it reuses, so a fresh one would overstate the primitives.
	var largest int64
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			return st, err
		}
		largest = max(largest, fi.Size())
	}
	fileBuf := make([]byte, largest+1) // one byte more: a file that grew since is noticed
	for i := range fileBuf {
		fileBuf[i] = 1
	}
	for _, p := range files {
		data, err := readInto(p, fileBuf)
		if err != nil {
			return st, err
		}
		st.bytes += int64(len(data))
		// Small files are one chunk without running the chunker, as in
		// the archiver.
		if uint(len(data)) < params.Min {
			if err := process(data); err != nil {
				return st, err
			}
			continue
		}
		t0 := threadCPU()
		ch.Reset(bytes.NewReader(data))
		st.chunk += threadCPU() - t0
		for {
			t0 := threadCPU()
			c, err := ch.Next(chunkBuf)
			st.chunk += threadCPU() - t0
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return st, err
			}
			if err := process(c); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// readInto reads the file at p into buf, which must be large enough.
func readInto(p string, buf []byte) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	} else if err == nil {
		err = fmt.Errorf("%s: larger than when it was listed", p)
	}
	return buf[:n], err
}

// compressible is the repository's test (repo/save.go shouldCompress): an
// 8 KiB sample from the middle of a larger blob must shrink by 10%.
func compressible(enc *zstd.Encoder, data []byte) bool {
	const sample = 8 << 10
	if len(data) < 64 {
		return false
	}
	if len(data) <= 4*sample {
		return true
	}
	mid := len(data) / 2
	var tmp [sample + 512]byte
	return len(enc.EncodeAll(data[mid-sample/2:mid+sample/2], tmp[:0])) < sample-sample/10
}

type proc struct{ wall, user, sys time.Duration }

func (p proc) cpu() time.Duration { return p.user + p.sys }

// runProc runs a command (harness.Timed) and returns its wall and CPU time.
func runProc(env []string, argv ...string) (proc, error) {
	t, err := harness.Timed(env, argv...)
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	return proc{wall: sec(t.Wall), user: sec(t.User), sys: sec(t.Sys)}, err
}

func main() {
	scale := flag.Float64("scale", 1, "dataset scale (1.0 is about 1 GB)")
	runs := flag.Int("runs", 5, "runs")
	work := flag.String("work", "", "work directory (default: a temporary one, removed at the end)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the last run's backup to `FILE`")
	flag.Parse()
	dir := *work
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "primbench-"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
	}
	src := filepath.Join(dir, "lpse")
	if _, err := os.Stat(src); err != nil {
		if _, err := dataset.Generate(src, dataset.Config{Seed: 1, Scale: *scale}); err != nil {
			fail(err)
		}
	}
	bin := filepath.Join(dir, "cadang")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/cadang").CombinedOutput(); err != nil {
		fail(fmt.Errorf("build cadang: %v\n%s", err, out))
	}
	fmt.Printf("| run | order | primitives CPU s (chunk / BLAKE3 / zstd / AES-GCM / SHA-256) | backup wall s | backup CPU s (user + sys) | of which key derivation s | backup CPU / primitives | without key derivation | zstd tried in vain s |\n|---|---|---|---|---|---|---|---|---|\n")
	for r := range *runs {
		var st stages
		var bk, kdf proc
		var err error
		primFirst := r%2 == 0
		doPrim := func() {
			if err == nil {
				st, err = primitives(src)
			}
		}
		doBackup := func() {
			if err != nil {
				return
			}
			repoDir := filepath.Join(dir, "repo")
			os.RemoveAll(repoDir)
			defer os.RemoveAll(repoDir)
			env := append(os.Environ(), "CADANG_PASSWORD=bench", "CADANG_LOG="+filepath.Join(dir, "runlog"),
				"XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
			if _, err = runProc(env, bin, "-r", repoDir, "init"); err != nil {
				return
			}
			// The key derivation alone: a command that only opens the repository.
			if kdf, err = runProc(env, bin, "-r", repoDir, "snapshots"); err != nil {
				return
			}
			benv := env
			if *profile != "" && r == *runs-1 {
				benv = append(benv, "CADANG_CPUPROFILE="+*profile)
			}
			bk, err = runProc(benv, bin, "-r", repoDir, "backup", "-q", src)
		}
		order := "primitives, backup"
		if primFirst {
			doPrim()
			doBackup()
		} else {
			order = "backup, primitives"
			doBackup()
			doPrim()
		}
		if err != nil {
			fail(err)
		}
		s := func(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }
		fmt.Printf("| %d | %s | %s (%s / %s / %s / %s / %s) | %s | %s (%s + %s) | %s | %.2f | %.2f | %s |\n", r+1, order,
			s(st.total()), s(st.chunk), s(st.blobID), s(st.zstd), s(st.seal), s(st.packHash),
			s(bk.wall), s(bk.cpu()), s(bk.user), s(bk.sys), s(kdf.cpu()),
			bk.cpu().Seconds()/st.total().Seconds(), (bk.cpu()-kdf.cpu()).Seconds()/st.total().Seconds(), s(st.zstdVain))
		if r == 0 {
			fmt.Fprintf(os.Stderr, "dataset %.1f MB, %d chunks, %d unique, %d compressed, %.1f MB stored\n",
				float64(st.bytes)/1e6, st.chunks, st.unique, st.compressed, float64(st.stored)/1e6)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "primbench:", err)
	os.Exit(1)
}

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
// With -two-cores each run also times the primitives on two threads at
// once (the same work, both cores busy, as in the backup) and the backup
// on one core (GOMAXPROCS=1): where the vCPUs slow each other down, the
// backup's primitives cost more than the one-thread measurement says, and
// these two show how much of the ratio is that rather than the backup's
// own overhead.
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
	"strings"
	"sync"
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

// listFiles returns the regular files under src, sorted.
func listFiles(src string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	slices.Sort(files)
	return files, err
}

// shared is what the threads of one measurement share, so that two
// threads cut the same chunks and store each unique one once, as the
// backup does: the chunker's polynomial, the key and the set of blob IDs
// already stored.
type shared struct {
	pol chunk.Pol
	key *crypto.Key
	mu  sync.Mutex
	ids map[[32]byte]struct{}
}

func newShared() (*shared, error) {
	pol, err := chunk.RandomPol()
	if err != nil {
		return nil, err
	}
	key, err := crypto.NewRandomKey()
	if err != nil {
		return nil, err
	}
	return &shared{pol: pol, key: key, ids: map[[32]byte]struct{}{}}, nil
}

// add reports whether id is new, adding it.
func (s *shared) add(id [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.ids[id]; dup {
		return false
	}
	s.ids[id] = struct{}{}
	return true
}

// primitives runs every stage over files on one thread, one file at a time,
// each stage timed on its own.
func primitives(files []string) (stages, error) {
	sh, err := newShared()
	if err != nil {
		return stages{}, err
	}
	return primitivesOn(files, sh, nil, nil)
}

// primitivesPair runs the stages on two threads at once, each over every
// other file, with one set of stored IDs, and sums their CPU time: the
// same work as primitives, but with both cores busy, as they are in the
// backup. On a VM whose vCPUs share a physical core's caches, execution
// units or memory bandwidth, each primitive costs more CPU time this way;
// the difference is what two busy cores cost, not overhead of the backup.
func primitivesPair(files []string) (stages, error) {
	var halves [2][]string
	for i, f := range files {
		halves[i%2] = append(halves[i%2], f)
	}
	sh, err := newShared()
	if err != nil {
		return stages{}, err
	}
	var sts [2]stages
	var errs [2]error
	// Both threads start their files together, once each has its
	// buffers, so that they overlap for as long as the smaller half lasts.
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			sts[i], errs[i] = primitivesOn(halves[i], sh, &ready, start)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	a, b := sts[0], sts[1]
	a.chunk += b.chunk
	a.blobID += b.blobID
	a.zstd += b.zstd
	a.seal += b.seal
	a.packHash += b.packHash
	a.zstdVain += b.zstdVain
	a.bytes += b.bytes
	a.chunks += b.chunks
	a.unique += b.unique
	a.compressed += b.compressed
	a.stored += b.stored
	return a, errors.Join(errs[0], errs[1])
}

// primitivesOn is primitives over files with what sh holds. When
// start is not nil it marks ready done once its buffers are ready and
// waits for start before the first file; it marks ready done on every
// return, so that a failing thread does not leave the other waiting.
func primitivesOn(files []string, sh *shared, ready *sync.WaitGroup, start <-chan struct{}) (stages, error) {
	markReady := func() {}
	if ready != nil {
		markReady = sync.OnceFunc(ready.Done)
		defer markReady()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st stages
	params := chunk.DefaultParams()
	ch, err := chunk.New(sh.pol, params)
	if err != nil {
		return st, err
	}
	key := sh.key
	// The repository's encoder: fastest level, no CRC, 1 MiB window
	// (repo/init.go), used from one goroutine here.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(1<<20))
	if err != nil {
		return st, err
	}
	chunkBuf := make([]byte, params.Max)
	var zbuf, sealed []byte
	pack := sha256.New()
	// process runs the stages after chunking over one chunk.
	process := func(c []byte) error {
		st.chunks++
		t0 := threadCPU()
		id := key.BlobID(c)
		st.blobID += threadCPU() - t0
		if !sh.add(id) {
			return nil
		}
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
	if start != nil {
		markReady()
		<-start
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
	twoCores := flag.Bool("two-cores", false, "also measure the primitives on two threads at once and the backup on one core (GOMAXPROCS=1), to tell what two busy cores cost from what the backup adds")
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
	files, err := listFiles(src)
	if err != nil {
		fail(err)
	}
	fmt.Printf("| run | order | primitives CPU s (chunk / BLAKE3 / zstd / AES-GCM / SHA-256) | backup wall s | backup CPU s (user + sys) | of which key derivation s | backup CPU / primitives | without key derivation | user time without key derivation / primitives | zstd tried in vain s |\n|---|---|---|---|---|---|---|---|---|---|\n")
	var diag []string
	// Per-run ratios, for the medians printed at the end.
	var ratio, ratioNoKDF, ratioUser []float64
	for r := range *runs {
		var st, pair stages
		var bk, bk1, kdf, kdf1 proc
		var err error
		doPrim := func() {
			if err == nil {
				st, err = primitives(files)
			}
		}
		doPair := func() {
			if err == nil {
				pair, err = primitivesPair(files)
			}
		}
		// backup runs a first backup into a fresh repository, with extra
		// environment, returning its times and those of a command that
		// only opens the repository (the key derivation).
		backup := func(extra ...string) (bk, kdf proc) {
			if err != nil {
				return
			}
			repoDir := filepath.Join(dir, "repo")
			os.RemoveAll(repoDir)
			defer os.RemoveAll(repoDir)
			env := append(os.Environ(), "CADANG_PASSWORD=bench", "CADANG_LOG="+filepath.Join(dir, "runlog"),
				"XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
			env = append(env, extra...)
			if _, err = runProc(env, bin, "-r", repoDir, "init"); err != nil {
				return
			}
			if kdf, err = runProc(env, bin, "-r", repoDir, "snapshots"); err != nil {
				return
			}
			bk, err = runProc(env, bin, "-r", repoDir, "backup", "-q", src)
			return
		}
		doBackup := func() {
			var extra []string
			if *profile != "" && r == *runs-1 {
				extra = append(extra, "CADANG_CPUPROFILE="+*profile)
			}
			bk, kdf = backup(extra...)
		}
		doBackup1 := func() { bk1, kdf1 = backup("GOMAXPROCS=1") }
		type step struct {
			name string
			do   func()
		}
		steps := []step{{"primitives", doPrim}, {"backup", doBackup}}
		if *twoCores {
			steps = append(steps, step{"primitives on 2 threads", doPair}, step{"backup on 1 core", doBackup1})
		}
		// Rotate the order, so that no measurement always follows the
		// same one.
		var names []string
		for i := range steps {
			step := steps[(i+r)%len(steps)]
			names = append(names, step.name)
			step.do()
		}
		if err != nil {
			fail(err)
		}
		order := strings.Join(names, ", ")
		s := func(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }
		ratio = append(ratio, bk.cpu().Seconds()/st.total().Seconds())
		ratioNoKDF = append(ratioNoKDF, (bk.cpu()-kdf.cpu()).Seconds()/st.total().Seconds())
		// The kernel's share (walking and reading the files, writing
		// packs) is work the primitives, which read from memory, do not
		// do: this ratio leaves it out, to tell it from the backup's own.
		ratioUser = append(ratioUser, (bk.user-kdf.user).Seconds()/st.total().Seconds())
		fmt.Printf("| %d | %s | %s (%s / %s / %s / %s / %s) | %s | %s (%s + %s) | %s | %.2f | %.2f | %.2f | %s |\n", r+1, order,
			s(st.total()), s(st.chunk), s(st.blobID), s(st.zstd), s(st.seal), s(st.packHash),
			s(bk.wall), s(bk.cpu()), s(bk.user), s(bk.sys), s(kdf.cpu()),
			ratio[r], ratioNoKDF[r], ratioUser[r], s(st.zstdVain))
		if *twoCores {
			diag = append(diag, fmt.Sprintf("| %d | %s (%s / %s / %s / %s / %s) | %.2f | %.2f | %s (%s + %s) | %.2f | %.2f |", r+1,
				s(pair.total()), s(pair.chunk), s(pair.blobID), s(pair.zstd), s(pair.seal), s(pair.packHash),
				pair.total().Seconds()/st.total().Seconds(),
				(bk.cpu()-kdf.cpu()).Seconds()/pair.total().Seconds(),
				s(bk1.cpu()), s(bk1.user), s(bk1.sys),
				bk1.cpu().Seconds()/st.total().Seconds(), (bk1.cpu()-kdf1.cpu()).Seconds()/st.total().Seconds()))
		}
		if r == 0 {
			fmt.Fprintf(os.Stderr, "dataset %.1f MB, %d chunks, %d unique, %d compressed, %.1f MB stored\n",
				float64(st.bytes)/1e6, st.chunks, st.unique, st.compressed, float64(st.stored)/1e6)
		}
	}
	fmt.Printf("\nMedians over %d runs: backup CPU / primitives %.2f; without key derivation %.2f; user time without key derivation / primitives %.2f\n",
		*runs, median(ratio), median(ratioNoKDF), median(ratioUser))
	if *twoCores {
		fmt.Printf("\nWhat two busy cores cost (-two-cores): the primitives on two threads at once, and the backup with GOMAXPROCS=1\n\n")
		fmt.Printf("| run | primitives on 2 threads, CPU s (chunk / BLAKE3 / zstd / AES-GCM / SHA-256) | of the primitives on 1 | backup CPU without key derivation / primitives on 2 threads | backup on 1 core CPU s (user + sys) | backup on 1 core / primitives | without key derivation |\n|---|---|---|---|---|---|---|\n")
		for _, d := range diag {
			fmt.Println(d)
		}
	}
}

// median returns the median of xs (the mean of the middle two for an even
// count); xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "primbench:", err)
	os.Exit(1)
}

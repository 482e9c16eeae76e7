package runlog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
	"github.com/lpse/cadang/internal/sop/sigkey"
	"github.com/lpse/cadang/repo"
)

// The signed run log reads and checks every record on each append (Sync
// and the head's local verification) and on each verify: these measure
// that at ten years of daily runs.
func benchLog(b *testing.B, n int) (*Log, *runlogtest.MemStore) {
	b.Helper()
	l, clk := newLogT(b)
	key, err := l.SigningKey()
	if err != nil {
		b.Fatal(err)
	}
	// Written as Append writes them, without Append's read of the whole
	// log for each record.
	var buf bytes.Buffer
	prev := ""
	for i := 1; i <= n; i++ {
		clk.Advance(24 * time.Hour)
		r := Record{Chain: "0123456789abcdef", Seq: uint64(i), Prev: prev, ID: fmt.Sprint(i), Logged: clk.Now(), Op: OpBackup,
			RepositoryID: repoA, Result: OK, Start: clk.Now(), End: clk.Now(), Signer: sigkey.EncodePublic(sigkey.Public(key))}
		line, h, err := encode(&r, key)
		if err != nil {
			b.Fatal(err)
		}
		buf.Write(append(line, '\n'))
		prev = h
	}
	os.MkdirAll(filepath.Dir(l.Path()), 0o700)
	if err := os.WriteFile(l.Path(), buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	s := runlogtest.NewID(repoA)
	if _, err := l.Sync(context.Background(), s); err != nil {
		b.Fatal(err)
	}
	return l, s
}

func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{365, 3650} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, s := benchLog(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rep, err := l.Verify(context.Background(), s)
				if err != nil || !rep.OK() {
					b.Fatalf("%v %v", err, findings(rep))
				}
			}
		})
	}
}

func BenchmarkAppendSync(b *testing.B) {
	l, s := benchLog(b, 3650)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(context.Background(), Record{Op: OpCheck, RepositoryID: repoA, Result: OK}, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommand is what a command that records its run spends on the
// run log: it opens the log afresh, as a new process does, checks the
// repository's copy when the repository is opened, and appends and syncs
// its record at the end.
func BenchmarkCommand(b *testing.B) {
	for _, n := range []int{365, 3650} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, s := benchLog(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				recordedCommand(b, l, s)
			}
		})
	}
}

// recordedCommand does a recorded command's run-log work on s with the
// log l opened afresh.
func recordedCommand(b *testing.B, l *Log, s RecordStore) {
	ctx := context.Background()
	c := Open(l.Path(), l.opt)
	if fs, err := c.CheckRepository(ctx, s, nil); err != nil || len(fs) > 0 {
		b.Fatalf("%v %v", err, fs)
	}
	if _, err := c.Append(ctx, Record{Op: OpCheck, RepositoryID: repoA, Result: OK}, s); err != nil {
		b.Fatal(err)
	}
}

// slowStore counts the record files loaded at once.
type slowStore struct {
	*runlogtest.MemStore
	delay         time.Duration
	mu            sync.Mutex
	now, most, of int
}

func (s *slowStore) LoadFile(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error) {
	s.mu.Lock()
	s.now++
	s.of++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	time.Sleep(s.delay) // a remote repository's round trip
	defer func() { s.mu.Lock(); s.now--; s.mu.Unlock() }()
	return s.MemStore.LoadFile(ctx, t, id)
}

// BenchmarkCommandRemote is BenchmarkCommand on a repository that takes
// 2 ms to load a file, a nearby remote one.
func BenchmarkCommandRemote(b *testing.B) {
	l, mem := benchLog(b, 365)
	s := &slowStore{MemStore: mem, delay: 2 * time.Millisecond}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		recordedCommand(b, l, s)
	}
	b.ReportMetric(float64(s.of)/float64(b.N), "loads/op")
}

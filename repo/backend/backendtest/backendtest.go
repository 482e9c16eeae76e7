// Package backendtest is the conformance suite every backend must pass, and
// a benchmark helper. A backend's test calls
//
//	func TestSuite(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backend.Backend { return newEmptyBackend(t) })
//	}
//
// The rules it checks, beyond the Backend interface's comments:
//   - Save does not keep data, Load returns memory the caller owns.
//   - Saving a name again with the same bytes succeeds (a retry); with other
//     bytes it fails with an error wrapping fs.ErrExist and changes nothing.
//     Of concurrent saves of one name with different bytes, exactly one wins.
//   - Load with a range past the end fails with an error wrapping
//     io.ErrUnexpectedEOF; a missing file gives backend.ErrNotExist. Errors
//     name the file.
//   - Invalid handles (unknown type, a name on the config, no name, a path
//     separator, a leading '.') are refused.
//   - A cancelled context fails every method with an error wrapping
//     context.Canceled, and a cancelled Save leaves no file.
package backendtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/lpse/cadang/repo/backend"
)

// Types lists the file types that have names (all but the config).
var Types = []backend.FileType{
	backend.KeyFile, backend.PackFile, backend.IndexFile,
	backend.SnapshotFile, backend.LockFile, backend.RecordFile, backend.ObsoleteFile,
	backend.ProtectFile, backend.ForgottenFile,
}

// Run runs the conformance suite. newBackend must return a new, empty
// backend for each call; Run closes it when the subtest ends.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, backend.Backend)
	}{
		{"SaveLoad", testSaveLoad},
		{"Config", testConfig},
		{"Ranges", testRanges},
		{"LoadInto", testLoadInto},
		{"LoadMax", testLoadMax},
		{"List", testList},
		{"ListStop", testListStop},
		{"ListRemoveWhileListing", testListRemove},
		{"Remove", testRemove},
		{"NotExist", testNotExist},
		{"SaveExisting", testSaveExisting},
		{"InvalidHandle", testInvalidHandle},
		{"ConcurrentSaves", testConcurrentSaves},
		{"ConcurrentSameName", testConcurrentSameName},
		{"Large", testLarge},
		{"Cancel", testCancel},
		{"ListCancel", testListCancel},
		{"Stage", testStage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t)
			t.Cleanup(func() {
				if err := be.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			if be.Location() == "" {
				t.Error("Location is empty")
			}
			tc.fn(t, be)
		})
	}
}

// Name returns a random 64-digit hex name, the form the repository uses.
func Name(rng *rand.Rand) string {
	var b [32]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return hex.EncodeToString(b[:])
}

// Data returns n random bytes.
func Data(rng *rand.Rand, n int) []byte {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(rng.Uint32())
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

func newRand(t testing.TB) *rand.Rand {
	var h uint64
	for _, c := range t.Name() {
		h = h*31 + uint64(c)
	}
	return rand.New(rand.NewPCG(h, 0x9e3779b97f4a7c15))
}

func mustSave(t testing.TB, be backend.Backend, h backend.Handle, data []byte) {
	t.Helper()
	if err := be.Save(context.Background(), h, data); err != nil {
		t.Fatalf("Save %v: %v", h, err)
	}
}

func mustLoad(t testing.TB, be backend.Backend, h backend.Handle, offset, length int64) []byte {
	t.Helper()
	b, err := be.Load(context.Background(), h, offset, length)
	if err != nil {
		t.Fatalf("Load %v %d+%d: %v", h, offset, length, err)
	}
	return b
}

func checkNotExist(t *testing.T, what string, h backend.Handle, err error) {
	t.Helper()
	if !backend.IsNotExist(err) {
		t.Errorf("%s %v: want an error wrapping ErrNotExist, got %v", what, h, err)
		return
	}
	if !mentions(err, h) {
		t.Errorf("%s %v: error does not name the file: %v", what, h, err)
	}
}

// mentions reports whether err's message names h.
func mentions(err error, h backend.Handle) bool {
	name := h.Name
	if h.Type == backend.ConfigFile {
		name = "config"
	}
	return strings.Contains(err.Error(), name)
}

func listAll(t *testing.T, be backend.Backend, ft backend.FileType) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	err := be.List(context.Background(), ft, func(fi backend.FileInfo) error {
		if _, dup := m[fi.Name]; dup {
			t.Errorf("List %s: %q listed twice", ft, fi.Name)
		}
		m[fi.Name] = fi.Size
		return nil
	})
	if err != nil {
		t.Fatalf("List %s: %v", ft, err)
	}
	return m
}

func testSaveLoad(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	for _, ft := range Types {
		for _, size := range []int{0, 1, 17, 4096, 65537, 1<<20 + 3} {
			h := backend.Handle{Type: ft, Name: Name(rng)}
			data := Data(rng, size)
			want := bytes.Clone(data)
			mustSave(t, be, h, data)
			for i := range data { // the backend must not keep the caller's buffer
				data[i] ^= 0xff
			}
			got := mustLoad(t, be, h, 0, 0)
			if !bytes.Equal(got, want) {
				t.Fatalf("Load %v (%d bytes): content differs", h, size)
			}
			for i := range got { // nor hand out its own
				got[i] ^= 0xff
			}
			if again := mustLoad(t, be, h, 0, 0); !bytes.Equal(again, want) {
				t.Fatalf("Load %v: changed after the caller modified an earlier result", h)
			}
			fi, err := be.Stat(context.Background(), h)
			if err != nil {
				t.Fatalf("Stat %v: %v", h, err)
			}
			if fi.Name != h.Name || fi.Size != int64(size) {
				t.Errorf("Stat %v = %+v, want size %d", h, fi, size)
			}
		}
	}
}

func testConfig(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	h := backend.Handle{Type: backend.ConfigFile}
	if got := listAll(t, be, backend.ConfigFile); len(got) != 0 {
		t.Errorf("List config on an empty backend: %v", got)
	}
	data := Data(rng, 300)
	mustSave(t, be, h, data)
	if got := mustLoad(t, be, h, 0, 0); !bytes.Equal(got, data) {
		t.Error("config: content differs")
	}
	fi, err := be.Stat(context.Background(), h)
	if err != nil || fi.Size != 300 || fi.Name != "" {
		t.Errorf("Stat config = %+v, %v", fi, err)
	}
	got := listAll(t, be, backend.ConfigFile)
	if len(got) != 1 || got[""] != 300 {
		t.Errorf("List config = %v, want one entry with an empty name and size 300", got)
	}
	other := Data(rng, 300)
	if err := be.Save(context.Background(), h, other); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Save over the config with other bytes: want fs.ErrExist, got %v", err)
	}
	// The config does not show up as any other type.
	for _, ft := range Types {
		if got := listAll(t, be, ft); len(got) != 0 {
			t.Errorf("List %s: %v", ft, got)
		}
	}
}

func testRanges(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	const size = 100_000
	data := Data(rng, size)
	h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	mustSave(t, be, h, data)

	type rg struct{ off, n int64 }
	ok := []rg{{0, 0}, {0, 1}, {0, size}, {size - 1, 1}, {size - 1, 0}, {size, 0}, {1000, 5000}, {12345, 0}}
	for range 50 {
		off := rng.Int64N(size)
		ok = append(ok, rg{off, 1 + rng.Int64N(size-off)})
	}
	for _, r := range ok {
		got := mustLoad(t, be, h, r.off, r.n)
		end := r.off + r.n
		if r.n == 0 {
			end = size
		}
		if !bytes.Equal(got, data[r.off:end]) {
			t.Errorf("Load %d+%d: content differs (got %d bytes)", r.off, r.n, len(got))
		}
	}

	for _, r := range []rg{{size + 1, 0}, {size - 10, 11}, {0, size + 1}, {size, 1}, {1 << 40, 1}} {
		_, err := be.Load(context.Background(), h, r.off, r.n)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Load %d+%d past the end: want io.ErrUnexpectedEOF, got %v", r.off, r.n, err)
		} else if !mentions(err, h) {
			t.Errorf("Load %d+%d past the end: error does not name the file: %v", r.off, r.n, err)
		}
	}
	for _, r := range []rg{{-1, 0}, {0, -1}, {-5, 10}} {
		if _, err := be.Load(context.Background(), h, r.off, r.n); err == nil {
			t.Errorf("Load %d+%d: want an error", r.off, r.n)
		}
	}

	empty := backend.Handle{Type: backend.IndexFile, Name: Name(rng)}
	mustSave(t, be, empty, nil)
	if got := mustLoad(t, be, empty, 0, 0); len(got) != 0 {
		t.Errorf("Load of an empty file: %d bytes", len(got))
	}
	if _, err := be.Load(context.Background(), empty, 0, 1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Load 0+1 of an empty file: want io.ErrUnexpectedEOF, got %v", err)
	}
}

// plainBackend hides every optional interface of the backend it wraps,
// so that backend.LoadMax takes its Stat-then-Load path.
type plainBackend struct{ backend.Backend }

// testLoadMax checks backend.LoadMax, through the backend's MaxLoader
// where it has one and through Stat and Load otherwise: a file within the
// bound is returned whole, a larger one is refused with a
// *backend.TooLargeError that names it (repositories bound the files they
// load by ID so, against a server that answers with gigabytes).
func testLoadMax(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	rng := newRand(t)
	const size = 10_000
	data := Data(rng, size)
	h := backend.Handle{Type: backend.SnapshotFile, Name: Name(rng)}
	mustSave(t, be, h, data)
	empty := backend.Handle{Type: backend.LockFile, Name: Name(rng)}
	mustSave(t, be, empty, nil)
	missing := backend.Handle{Type: backend.KeyFile, Name: Name(rng)}
	for _, b := range []struct {
		name string
		be   backend.Backend
	}{{"as is", be}, {"without MaxLoader", plainBackend{be}}} {
		for _, max := range []int64{size, size + 1, 1 << 40} {
			got, err := backend.LoadMax(ctx, b.be, h, max)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s: LoadMax of %d bytes, bound %d: %d bytes, %v", b.name, size, max, len(got), err)
			}
		}
		for _, max := range []int64{size - 1, 1} {
			_, err := backend.LoadMax(ctx, b.be, h, max)
			var tl *backend.TooLargeError
			switch {
			case !errors.Is(err, backend.ErrTooLarge) || !errors.As(err, &tl):
				t.Errorf("%s: LoadMax of %d bytes, bound %d: want a *TooLargeError, got %v", b.name, size, max, err)
			case tl.Size != size || tl.Max != max || tl.File != h:
				t.Errorf("%s: LoadMax of %d bytes, bound %d: error says %+v", b.name, size, max, *tl)
			case !mentions(err, h):
				t.Errorf("%s: LoadMax's error does not name the file: %v", b.name, err)
			}
		}
		if got, err := backend.LoadMax(ctx, b.be, empty, 1); err != nil || len(got) != 0 {
			t.Errorf("%s: LoadMax of an empty file: %d bytes, %v", b.name, len(got), err)
		}
		_, err := backend.LoadMax(ctx, b.be, missing, size)
		checkNotExist(t, b.name+": LoadMax", missing, err)
	}
}

// testLoadInto checks backend.LoadInto, which goes through BufferLoader
// where the backend has it: the same bytes as Load, and the same errors.
func testLoadInto(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	const size = 50_000
	data := Data(rng, size)
	h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	mustSave(t, be, h, data)
	ctx := context.Background()
	for _, r := range [][2]int64{{0, size}, {0, 1}, {size - 1, 1}, {777, 30_000}} {
		buf := bytes.Repeat([]byte{0xAA}, int(r[1]))
		if err := backend.LoadInto(ctx, be, h, r[0], buf); err != nil {
			t.Fatalf("LoadInto %d+%d: %v", r[0], r[1], err)
		}
		if !bytes.Equal(buf, data[r[0]:r[0]+r[1]]) {
			t.Errorf("LoadInto %d+%d: content differs", r[0], r[1])
		}
	}
	for _, r := range [][2]int64{{size - 10, 11}, {size, 1}, {1 << 40, 1}} {
		err := backend.LoadInto(ctx, be, h, r[0], make([]byte, r[1]))
		if !errors.Is(err, io.ErrUnexpectedEOF) || !mentions(err, h) {
			t.Errorf("LoadInto %d+%d past the end: want io.ErrUnexpectedEOF naming the file, got %v", r[0], r[1], err)
		}
	}
	missing := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	if err := backend.LoadInto(ctx, be, missing, 0, make([]byte, 10)); !backend.IsNotExist(err) {
		t.Errorf("LoadInto of a missing file: want ErrNotExist, got %v", err)
	}
}

// saveSet saves a few files of every type, packs spread over many prefixes,
// and returns what each type should list.
func saveSet(t *testing.T, be backend.Backend, rng *rand.Rand) map[backend.FileType]map[string]int64 {
	counts := map[backend.FileType]int{
		backend.KeyFile: 3, backend.PackFile: 40, backend.IndexFile: 5,
		backend.SnapshotFile: 4, backend.LockFile: 2, backend.RecordFile: 0, backend.ObsoleteFile: 1,
		backend.ProtectFile: 2, backend.ForgottenFile: 1,
	}
	want := map[backend.FileType]map[string]int64{}
	for _, ft := range Types {
		want[ft] = map[string]int64{}
		for range counts[ft] {
			h := backend.Handle{Type: ft, Name: Name(rng)}
			n := rng.IntN(3000)
			mustSave(t, be, h, Data(rng, n))
			want[ft][h.Name] = int64(n)
		}
	}
	return want
}

func testList(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	want := saveSet(t, be, rng)
	for _, ft := range Types {
		got := listAll(t, be, ft)
		if len(got) != len(want[ft]) {
			t.Errorf("List %s: %d files, want %d", ft, len(got), len(want[ft]))
		}
		for name, size := range want[ft] {
			if gs, ok := got[name]; !ok {
				t.Errorf("List %s: %s missing", ft, name)
			} else if gs != size {
				t.Errorf("List %s: %s has size %d, want %d", ft, name, gs, size)
			}
		}
	}
	if err := be.List(context.Background(), "bogus", func(backend.FileInfo) error { return nil }); err == nil {
		t.Error("List of an unknown type: want an error")
	}
}

func testListStop(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	saveSet(t, be, rng)
	errStop := errors.New("stop")
	calls := 0
	err := be.List(context.Background(), backend.PackFile, func(backend.FileInfo) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Errorf("List: want the callback's error, got %v", err)
	}
	if calls != 1 {
		t.Errorf("List called fn %d times after it returned an error", calls)
	}
}

func testListRemove(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	want := saveSet(t, be, rng)
	// Removing files from the callback (as prune does) must work and must
	// not make List fail or report a file twice.
	seen := 0
	err := be.List(context.Background(), backend.PackFile, func(fi backend.FileInfo) error {
		seen++
		return be.Remove(context.Background(), backend.Handle{Type: backend.PackFile, Name: fi.Name})
	})
	if err != nil {
		t.Fatalf("List with Remove in the callback: %v", err)
	}
	if seen != len(want[backend.PackFile]) {
		t.Errorf("List saw %d files, want %d", seen, len(want[backend.PackFile]))
	}
	if got := listAll(t, be, backend.PackFile); len(got) != 0 {
		t.Errorf("%d packs left after removing all", len(got))
	}
}

func testRemove(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	ctx := context.Background()
	for _, ft := range append([]backend.FileType{backend.ConfigFile}, Types...) {
		h := backend.Handle{Type: ft}
		if ft != backend.ConfigFile {
			h.Name = Name(rng)
		}
		mustSave(t, be, h, Data(rng, 100))
		if err := be.Remove(ctx, h); err != nil {
			t.Fatalf("Remove %v: %v", h, err)
		}
		_, err := be.Stat(ctx, h)
		checkNotExist(t, "Stat after Remove", h, err)
		_, err = be.Load(ctx, h, 0, 0)
		checkNotExist(t, "Load after Remove", h, err)
		checkNotExist(t, "second Remove", h, be.Remove(ctx, h))
		if got := listAll(t, be, ft); len(got) != 0 {
			t.Errorf("List %s after Remove: %v", ft, got)
		}
		// The name is free again.
		data := Data(rng, 200)
		mustSave(t, be, h, data)
		if got := mustLoad(t, be, h, 0, 0); !bytes.Equal(got, data) {
			t.Errorf("%v: content differs after remove and save", h)
		}
	}
}

func testNotExist(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	ctx := context.Background()
	for _, ft := range append([]backend.FileType{backend.ConfigFile}, Types...) {
		h := backend.Handle{Type: ft}
		if ft != backend.ConfigFile {
			h.Name = Name(rng)
		}
		_, err := be.Load(ctx, h, 0, 0)
		checkNotExist(t, "Load", h, err)
		_, err = be.Load(ctx, h, 10, 10)
		checkNotExist(t, "Load range", h, err)
		_, err = be.Stat(ctx, h)
		checkNotExist(t, "Stat", h, err)
		checkNotExist(t, "Remove", h, be.Remove(ctx, h))
	}
}

func testSaveExisting(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	for _, ft := range Types {
		h := backend.Handle{Type: ft, Name: Name(rng)}
		a := Data(rng, 1000)
		mustSave(t, be, h, a)
		if err := be.Save(context.Background(), h, bytes.Clone(a)); err != nil {
			t.Errorf("Save %v again with the same bytes: %v", h, err)
		}
		for _, b := range [][]byte{Data(rng, 1000), Data(rng, 999), nil} {
			err := be.Save(context.Background(), h, b)
			if !errors.Is(err, fs.ErrExist) {
				t.Errorf("Save %v over different bytes (%d): want fs.ErrExist, got %v", h, len(b), err)
			} else if !mentions(err, h) {
				t.Errorf("Save %v over different bytes: error does not name the file: %v", h, err)
			}
		}
		if got := mustLoad(t, be, h, 0, 0); !bytes.Equal(got, a) {
			t.Errorf("%v changed by a refused Save", h)
		}
		if got := listAll(t, be, ft); len(got) != 1 {
			t.Errorf("List %s after refused saves: %v", ft, got)
		}
	}
}

func testInvalidHandle(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	bad := []backend.Handle{
		{Type: "bogus", Name: "abcd"},
		{Type: "", Name: "abcd"},
		{Type: backend.ConfigFile, Name: "x"},
		{Type: backend.KeyFile, Name: ""},
		{Type: backend.PackFile, Name: ""},
		{Type: backend.KeyFile, Name: "../config"},
		{Type: backend.IndexFile, Name: "ab/cd"},
		{Type: backend.IndexFile, Name: ".."},
		{Type: backend.IndexFile, Name: ".hidden"},
		{Type: backend.SnapshotFile, Name: "a\x00b"},
		{Type: backend.LockFile, Name: strings.Repeat("a", 300)},
	}
	for _, h := range bad {
		if err := be.Save(ctx, h, []byte("x")); err == nil {
			t.Errorf("Save %q/%q: want an error", h.Type, h.Name)
		}
		if _, err := be.Load(ctx, h, 0, 0); err == nil || backend.IsNotExist(err) {
			t.Errorf("Load %q/%q: want an invalid-handle error, got %v", h.Type, h.Name, err)
		}
		if _, err := be.Stat(ctx, h); err == nil || backend.IsNotExist(err) {
			t.Errorf("Stat %q/%q: want an invalid-handle error, got %v", h.Type, h.Name, err)
		}
		if err := be.Remove(ctx, h); err == nil || backend.IsNotExist(err) {
			t.Errorf("Remove %q/%q: want an invalid-handle error, got %v", h.Type, h.Name, err)
		}
	}
	for _, ft := range append([]backend.FileType{backend.ConfigFile}, Types...) {
		if got := listAll(t, be, ft); len(got) != 0 {
			t.Errorf("List %s after refused saves: %v", ft, got)
		}
	}
}

func testConcurrentSaves(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	const n = 64
	type file struct {
		h    backend.Handle
		data []byte
	}
	files := make([]file, n)
	for i := range files {
		files[i] = file{backend.Handle{Type: Types[i%len(Types)], Name: Name(rng)}, Data(rng, rng.IntN(200_000))}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for _, f := range files {
		wg.Go(func() {
			if err := be.Save(context.Background(), f.h, f.data); err != nil {
				errs <- err
				return
			}
			got, err := be.Load(context.Background(), f.h, 0, 0)
			if err != nil {
				errs <- err
			} else if !bytes.Equal(got, f.data) {
				errs <- fmt.Errorf("%v: content differs", f.h)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := 0
	for _, ft := range Types {
		total += len(listAll(t, be, ft))
	}
	if total != n {
		t.Errorf("listed %d files, want %d", total, n)
	}
}

func testConcurrentSameName(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	const n = 16
	for round := range 5 {
		h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
		// Half the writers carry identical bytes, half carry their own.
		same := Data(rng, 50_000)
		datas := make([][]byte, n)
		for i := range datas {
			if i%2 == 0 {
				datas[i] = same
			} else {
				datas[i] = Data(rng, 50_000)
			}
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = be.Save(context.Background(), h, datas[i])
			})
		}
		close(start)
		wg.Wait()
		got := mustLoad(t, be, h, 0, 0)
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				if !bytes.Equal(got, datas[i]) {
					t.Errorf("round %d: writer %d succeeded but its bytes are not what is stored", round, i)
				}
			case !errors.Is(err, fs.ErrExist):
				t.Errorf("round %d: writer %d: want success or fs.ErrExist, got %v", round, i, err)
			}
		}
		if wins == 0 {
			t.Errorf("round %d: no writer succeeded", round)
		}
	}
}

func testLarge(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	const size = 20<<20 + 7
	data := Data(rng, size)
	h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	mustSave(t, be, h, data)
	fi, err := be.Stat(context.Background(), h)
	if err != nil || fi.Size != size {
		t.Fatalf("Stat = %+v, %v; want size %d", fi, err, size)
	}
	if got := mustLoad(t, be, h, 0, 0); !bytes.Equal(got, data) {
		t.Error("Load of a large file: content differs")
	}
	if got := mustLoad(t, be, h, size-(1<<20), 0); !bytes.Equal(got, data[size-(1<<20):]) {
		t.Error("Load of the last MiB: content differs")
	}
	if got := mustLoad(t, be, h, 7<<20, 3<<20); !bytes.Equal(got, data[7<<20:10<<20]) {
		t.Error("Load of a middle range: content differs")
	}
}

func testCancel(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()

	h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	if err := be.Save(ctx, h, Data(rng, 1000)); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a cancelled context: want context.Canceled, got %v", err)
	}
	if _, err := be.Stat(live, h); !backend.IsNotExist(err) {
		t.Errorf("after a cancelled Save, Stat: want ErrNotExist, got %v", err)
	}

	mustSave(t, be, h, Data(rng, 1000))
	if _, err := be.Load(ctx, h, 0, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context: want context.Canceled, got %v", err)
	}
	if _, err := be.Stat(ctx, h); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat with a cancelled context: want context.Canceled, got %v", err)
	}
	if err := be.Remove(ctx, h); !errors.Is(err, context.Canceled) {
		t.Errorf("Remove with a cancelled context: want context.Canceled, got %v", err)
	}
	if _, err := be.Stat(live, h); err != nil {
		t.Errorf("a cancelled Remove removed the file: %v", err)
	}
	called := false
	err := be.List(ctx, backend.PackFile, func(backend.FileInfo) error { called = true; return nil })
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("List with a cancelled context: want context.Canceled and no calls, got %v (called %v)", err, called)
	}
}

func testListCancel(t *testing.T, be backend.Backend) {
	rng := newRand(t)
	want := saveSet(t, be, rng)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := be.List(ctx, backend.PackFile, func(backend.FileInfo) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List cancelled from its callback: want context.Canceled, got %v", err)
	}
	if calls >= len(want[backend.PackFile]) {
		t.Errorf("List went on for %d calls after cancellation", calls-1)
	}
}

// testStage checks backend.Stager, for the backends that have it: nothing
// is visible before commit, the caller's buffer is free once Stage
// returns, a commit under a cancelled context leaves nothing, and staging
// a name that exists follows Save's rules.
func testStage(t *testing.T, be backend.Backend) {
	st, ok := be.(backend.Stager)
	if !ok {
		t.Skip("the backend does not implement backend.Stager")
	}
	ctx := context.Background()
	rng := newRand(t)
	h := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	data := Data(rng, 3<<20+17)
	want := bytes.Clone(data)
	commit, err := st.Stage(ctx, h, data)
	if err != nil {
		t.Fatalf("Stage %v: %v", h, err)
	}
	if _, err := be.Stat(ctx, h); !backend.IsNotExist(err) {
		t.Errorf("Stat before commit: want ErrNotExist, got %v", err)
	}
	if got := listAll(t, be, backend.PackFile); len(got) != 0 {
		t.Errorf("List before commit: %v", got)
	}
	clear(data) // the buffer is the caller's again once Stage returns
	if err := commit(ctx); err != nil {
		t.Fatalf("commit %v: %v", h, err)
	}
	if got := mustLoad(t, be, h, 0, 0); !bytes.Equal(got, want) {
		t.Errorf("%v after commit: %d bytes, not the %d staged", h, len(got), len(want))
	}

	// The same name again: the same bytes succeed, other bytes are refused
	// (at Stage or at commit) and change nothing.
	if commit, err := st.Stage(ctx, h, bytes.Clone(want)); err != nil {
		t.Errorf("Stage %v again with the same bytes: %v", h, err)
	} else if err := commit(ctx); err != nil {
		t.Errorf("commit %v again with the same bytes: %v", h, err)
	}
	other := Data(rng, len(want))
	commit, err = st.Stage(ctx, h, other)
	if err == nil {
		err = commit(ctx)
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("staging %v over different bytes: want fs.ErrExist, got %v", h, err)
	}

	// Two writers stage the same new name before either commits.
	h2 := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	a := Data(rng, 5000)
	c1, err1 := st.Stage(ctx, h2, bytes.Clone(a))
	c2, err2 := st.Stage(ctx, h2, bytes.Clone(a))
	if err1 != nil || err2 != nil {
		t.Fatalf("Stage %v twice: %v, %v", h2, err1, err2)
	}
	if err := c2(ctx); err != nil {
		t.Errorf("first commit of %v: %v", h2, err)
	}
	if err := c1(ctx); err != nil {
		t.Errorf("second commit of %v with the same bytes: %v", h2, err)
	}
	if got := mustLoad(t, be, h2, 0, 0); !bytes.Equal(got, a) {
		t.Errorf("%v after two commits differs", h2)
	}

	// Two writers stage the same new name with different bytes: the first
	// commit wins, the second is refused and changes nothing.
	h4 := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	first, second := Data(rng, 3<<20+5), Data(rng, 3<<20+5)
	c1, err1 = st.Stage(ctx, h4, bytes.Clone(first))
	c2, err2 = st.Stage(ctx, h4, bytes.Clone(second))
	if err1 != nil || err2 != nil {
		t.Fatalf("Stage %v twice: %v, %v", h4, err1, err2)
	}
	if err := c1(ctx); err != nil {
		t.Errorf("first commit of %v: %v", h4, err)
	}
	if err := c2(ctx); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second commit of %v with other bytes: want fs.ErrExist, got %v", h4, err)
	}
	if got := mustLoad(t, be, h4, 0, 0); !bytes.Equal(got, first) {
		t.Errorf("%v changed by a refused commit", h4)
	}

	// A commit under a cancelled context leaves nothing behind.
	h3 := backend.Handle{Type: backend.PackFile, Name: Name(rng)}
	commit, err = st.Stage(ctx, h3, Data(rng, 2000))
	if err != nil {
		t.Fatalf("Stage %v: %v", h3, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := commit(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("commit with a cancelled context: want context.Canceled, got %v", err)
	}
	if _, err := be.Stat(ctx, h3); !backend.IsNotExist(err) {
		t.Errorf("after a cancelled commit, Stat: want ErrNotExist, got %v", err)
	}
	if got := listAll(t, be, backend.PackFile); len(got) != 3 {
		t.Errorf("List after a cancelled commit: %d packs, want 3: %v", len(got), got)
	}
}

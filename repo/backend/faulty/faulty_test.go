package faulty_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/backendtest"
	"github.com/lpse/cadang/repo/backend/faulty"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/mem"
)

// With no faults set, the decorator is a conforming backend.
func TestSuite(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return faulty.New(mem.New()) })
}

var ctx = context.Background()

func pack(name string) backend.Handle { return backend.Handle{Type: backend.PackFile, Name: name} }

func TestFailSave(t *testing.T) {
	be := faulty.New(mem.New())
	errBoom := errors.New("boom")
	be.FailSave(2, errBoom)
	if err := be.Save(ctx, pack("aa01"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	err := be.Save(ctx, pack("aa02"), []byte("2"))
	if !errors.Is(err, errBoom) {
		t.Fatalf("second Save: want boom, got %v", err)
	}
	if _, err := be.Stat(ctx, pack("aa02")); !backend.IsNotExist(err) {
		t.Errorf("failed Save stored the file: %v", err)
	}
	if err := be.Save(ctx, pack("aa02"), []byte("2")); err != nil {
		t.Errorf("third Save (a retry): %v", err)
	}
	be.FailSaves(func(h backend.Handle) bool { return h.Type == backend.IndexFile }, nil)
	if err := be.Save(ctx, backend.Handle{Type: backend.IndexFile, Name: "i1"}, nil); !errors.Is(err, faulty.ErrInjected) {
		t.Errorf("index Save: want ErrInjected, got %v", err)
	}
	if err := be.Save(ctx, pack("aa03"), nil); err != nil {
		t.Errorf("pack Save with an index rule: %v", err)
	}
	be.Heal()
	if err := be.Save(ctx, backend.Handle{Type: backend.IndexFile, Name: "i1"}, nil); err != nil {
		t.Errorf("index Save after Heal: %v", err)
	}
	c := be.Counts()
	if c.Saves != 6 || c.SavedBytes != 2 {
		t.Errorf("Counts = %+v, want 6 saves, 2 bytes", c)
	}
	if n := be.SaveCount(pack("aa02")); n != 2 {
		t.Errorf("SaveCount = %d, want 2", n)
	}
}

func TestDiskFull(t *testing.T) {
	be := faulty.New(mem.New())
	be.DiskFullAfter(1000)
	if err := be.Save(ctx, pack("aa01"), make([]byte, 600)); err != nil {
		t.Fatal(err)
	}
	err := be.Save(ctx, pack("aa02"), make([]byte, 600))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Save past the limit: want ENOSPC, got %v", err)
	}
	if _, err := be.Stat(ctx, pack("aa02")); !backend.IsNotExist(err) {
		t.Errorf("Save that hit ENOSPC stored the file: %v", err)
	}
	if err := be.Save(ctx, pack("aa03"), make([]byte, 400)); err != nil {
		t.Errorf("Save that fits the rest: %v", err)
	}
	if err := be.Save(ctx, pack("aa04"), make([]byte, 1)); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Save on a full disk: want ENOSPC, got %v", err)
	}
}

func TestFlipBitAndTruncate(t *testing.T) {
	inner := mem.New()
	be := faulty.New(inner)
	data := bytes.Repeat([]byte{0}, 100)
	h := pack("ab01")
	if err := be.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	be.FlipBit(h, 50, 3)
	got, err := be.Load(ctx, h, 0, 0)
	if err != nil || got[50] != 8 || bytes.Count(got, []byte{0}) != 99 {
		t.Fatalf("Load with a flipped bit: %v %v", got, err)
	}
	if got, _ := be.Load(ctx, h, 40, 20); got[10] != 8 {
		t.Errorf("range Load: the flip is not at file offset 50: %v", got)
	}
	if got, _ := be.Load(ctx, h, 60, 10); !bytes.Equal(got, make([]byte, 10)) {
		t.Errorf("range Load after the flip: %v", got)
	}
	if got, _ := inner.Load(ctx, h, 0, 0); !bytes.Equal(got, data) {
		t.Error("FlipBit changed the stored file")
	}

	be.Truncate(h, 60)
	fi, err := be.Stat(ctx, h)
	if err != nil || fi.Size != 60 {
		t.Errorf("Stat of a truncated file = %+v, %v", fi, err)
	}
	if got, err := be.Load(ctx, h, 0, 0); err != nil || len(got) != 60 || got[50] != 8 {
		t.Errorf("Load of a truncated file: %d bytes, %v", len(got), err)
	}
	if _, err := be.Load(ctx, h, 50, 20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Load past the truncation: want io.ErrUnexpectedEOF, got %v", err)
	}
	var listed int64
	_ = be.List(ctx, backend.PackFile, func(fi backend.FileInfo) error { listed = fi.Size; return nil })
	if listed != 60 {
		t.Errorf("List size of a truncated file = %d", listed)
	}

	be.FailLoads(func(x backend.Handle) bool { return x == h }, nil)
	if _, err := be.Load(ctx, h, 0, 0); !errors.Is(err, faulty.ErrInjected) {
		t.Errorf("Load with FailLoads: %v", err)
	}
	be.Heal()
	if got, err := be.Load(ctx, h, 0, 0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("Load after Heal: %v", err)
	}
	if n := be.LoadCount(h); n != 7 {
		t.Errorf("LoadCount = %d, want 7", n)
	}
}

func TestDamageFileOnDisk(t *testing.T) {
	be, err := local.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	h := pack("cd" + "0123")
	data := []byte("0123456789")
	if err := be.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	path := be.Path(h)
	before, _ := os.Stat(path)

	if err := faulty.FlipByte(path, -1, 0); err != nil {
		t.Fatal(err)
	}
	got, err := be.Load(ctx, h, 0, 0)
	if err != nil || string(got) != "012345678"+string('9'^1) {
		t.Errorf("after FlipByte: %q, %v", got, err)
	}
	if err := faulty.FlipByte(path, 10, 0); err == nil {
		t.Error("FlipByte past the end: want an error")
	}
	if err := faulty.Truncate(path, -3); err != nil {
		t.Fatal(err)
	}
	if _, err := be.Load(ctx, h, 0, 10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Load of a truncated file: want io.ErrUnexpectedEOF, got %v", err)
	}
	after, _ := os.Stat(path)
	if after.Mode() != before.Mode() {
		t.Errorf("mode changed from %v to %v", before.Mode(), after.Mode())
	}
}

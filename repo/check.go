package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/repo/backend"
)

// CheckOptions select how much a check reads.
type CheckOptions struct {
	// ReadData decrypts and re-hashes every blob of the selected packs.
	ReadData bool
	// SubsetPart and SubsetTotal (n/t, 1 <= n <= t) read only the packs
	// whose first ID byte modulo t is n-1; repeating with n = 1..t covers
	// the whole repository.
	SubsetPart, SubsetTotal int
	// SubsetFraction (0 < f < 1) reads a random part of the packs instead.
	SubsetFraction float64
	// Progress is called after each pack whose data was read.
	Progress func(packsDone, packsTotal int, bytes int64)
}

// CheckResult summarises a check. Problems lists every finding; the check
// passed when it is empty.
type CheckResult struct {
	Packs           int      `json:"packs"`
	PacksRead       int      `json:"packs_read"`
	BytesRead       int64    `json:"bytes_read"`
	Blobs           int      `json:"blobs"`
	BlobsRead       int      `json:"blobs_read"`
	UnindexedPacks  []ID     `json:"unindexed_packs,omitempty"`
	TempFiles       []string `json:"temp_files,omitempty"` // left by killed saves, older than TempSweepAge: harmless, so not problems
	Problems        []error  `json:"-"`
	ProblemMessages []string `json:"problems,omitempty"`
}

func (c *CheckResult) add(err error) {
	c.Problems = append(c.Problems, err)
	c.ProblemMessages = append(c.ProblemMessages, err.Error())
}

// TempSweepAge is how old a temporary file must be before it counts as
// left behind: far longer than any save takes, so that a file still being
// written is never touched.
const TempSweepAge = time.Hour

// Sweeper is an optional interface of backends that write each file under a
// temporary name first (local). A save killed before it removed that name
// leaves the file behind; nothing else ever reads or removes it.
type Sweeper interface {
	// SweepTemp returns the temporary files last modified before cutoff,
	// and removes them if remove is set.
	SweepTemp(ctx context.Context, cutoff time.Time, remove bool) ([]string, error)
}

// sweepTemp lists (and with remove, removes) temporary files older than
// TempSweepAge. Backends without temporary files have none to report.
func (r *Repository) sweepTemp(ctx context.Context, remove bool) ([]string, error) {
	sw, ok := optional[Sweeper](r.be)
	if !ok {
		return nil, nil
	}
	files, err := sw.SweepTemp(ctx, r.opts.Now().Add(-TempSweepAge), remove)
	if err != nil {
		return files, fmt.Errorf("temporary files in %s: %w", r.be.Location(), err)
	}
	return files, nil
}

// selected reports whether a pack is in the requested data subset.
func (o CheckOptions) selected(id ID) bool {
	switch {
	case o.SubsetTotal > 0:
		return int(id[0])%o.SubsetTotal == o.SubsetPart-1
	case o.SubsetFraction > 0 && o.SubsetFraction < 1:
		return mrand.Float64() < o.SubsetFraction
	}
	return true
}

// Check verifies the repository's structure: every indexed blob lies in an
// existing pack whose header lists it at the same place. With ReadData it
// also reads packs, checks their SHA-256 against their names, and decrypts
// and re-hashes every blob. Trees are checked by the snapshot layer.
func (r *Repository) Check(ctx context.Context, o CheckOptions) (*CheckResult, error) {
	if o.SubsetTotal > 0 && (o.SubsetPart < 1 || o.SubsetPart > o.SubsetTotal) {
		return nil, fmt.Errorf("check: subset %d/%d: n must be between 1 and t", o.SubsetPart, o.SubsetTotal)
	}
	res := &CheckResult{}
	sizes := map[ID]int64{}
	err := r.be.List(ctx, PackFile, func(fi backend.FileInfo) error {
		if id, err := ParseID(fi.Name); err == nil {
			sizes[id] = fi.Size
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	res.Packs = len(sizes)
	if res.TempFiles, err = r.sweepTemp(ctx, false); err != nil {
		return nil, err
	}

	byPack := map[ID][]BlobLocation{}
	_ = r.idx.Each(func(b BlobLocation) error {
		byPack[b.Pack] = append(byPack[b.Pack], b)
		return nil
	})
	var mu sync.Mutex
	for pack, blobs := range byPack {
		res.Blobs += len(blobs)
		if _, ok := sizes[pack]; !ok {
			res.add(fmt.Errorf("pack %s is named by the index for %d blobs but does not exist", pack, len(blobs)))
		}
	}
	var packs []ID
	for id := range sizes {
		if _, ok := byPack[id]; !ok {
			res.UnindexedPacks = append(res.UnindexedPacks, id)
		}
		packs = append(packs, id)
	}
	sort.Slice(packs, func(i, j int) bool { return packs[i].String() < packs[j].String() })
	var toRead []ID
	if o.ReadData {
		for _, id := range packs {
			if o.selected(id) {
				toRead = append(toRead, id)
			}
		}
	}
	readSet := map[ID]bool{}
	for _, id := range toRead {
		readSet[id] = true
	}
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 2)
	for _, pack := range packs {
		g.Go(func() error {
			var problems []error
			var hdr []PackBlob
			var nRead int
			var bytesRead int64
			if readSet[pack] {
				var err error
				hdr, nRead, bytesRead, problems, err = r.readPack(gctx, pack, sizes[pack])
				if err != nil {
					return err
				}
				n := done.Add(1)
				if o.Progress != nil {
					o.Progress(int(n), len(toRead), bytesRead)
				}
			} else {
				var err error
				hdr, err = r.ReadPackHeader(gctx, pack, sizes[pack])
				if err != nil {
					if !IsDamaged(err) {
						return err
					}
					problems = append(problems, err)
				}
			}
			if hdr != nil {
				problems = append(problems, compareHeader(pack, hdr, byPack[pack])...)
			}
			mu.Lock()
			defer mu.Unlock()
			if readSet[pack] {
				res.PacksRead++
				res.BlobsRead += nRead
				res.BytesRead += bytesRead
			}
			for _, p := range problems {
				res.add(p)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	return res, nil
}

func compareHeader(pack ID, hdr []PackBlob, indexed []BlobLocation) []error {
	type key struct {
		t  BlobType
		id ID
	}
	inHdr := make(map[key]PackBlob, len(hdr))
	for _, b := range hdr {
		inHdr[key{b.Type, b.ID}] = b
	}
	var out []error
	h := backend.Handle{Type: PackFile, Name: pack.String()}
	for _, b := range indexed {
		hb, ok := inHdr[key{b.Type, b.ID}]
		if !ok {
			id := b.ID
			out = append(out, damaged(h, &id, "indexed %s blob is missing from the pack header", b.Type))
			continue
		}
		if hb.Offset != b.Offset || hb.Length != b.Length {
			id := b.ID
			out = append(out, damaged(h, &id, "index says offset %d length %d, pack header says %d/%d", b.Offset, b.Length, hb.Offset, hb.Length))
		}
	}
	return out
}

// readPack loads a whole pack, checks its name, and opens every blob.
func (r *Repository) readPack(ctx context.Context, pack ID, size int64) (hdr []PackBlob, blobs int, n int64, problems []error, err error) {
	h := backend.Handle{Type: PackFile, Name: pack.String()}
	var data []byte
	if size > 0 {
		// The listed size: read into a pooled buffer, and open the blobs in
		// place (a full check reads every byte of the repository once).
		lb := r.getLoadBuf(int(size))
		defer r.loadBufs.Put(lb)
		data = lb.pack
		err = backend.LoadInto(ctx, r.be, h, 0, data)
		if errors.Is(err, io.ErrUnexpectedEOF) { // shrank since it was listed
			data, err = r.be.Load(ctx, h, 0, 0)
		}
	} else {
		data, err = r.be.Load(ctx, h, 0, 0)
	}
	if err != nil {
		if backend.IsNotExist(err) {
			return nil, 0, 0, []error{fmt.Errorf("%s vanished during the check", h)}, nil
		}
		return nil, 0, 0, nil, fmt.Errorf("load %s: %w", h, err)
	}
	n = int64(len(data))
	if storedName(data) != pack {
		problems = append(problems, damaged(h, nil, "SHA-256 of its %d bytes does not match its name", len(data)))
	}
	if len(data) < 4 {
		return nil, 0, n, append(problems, damaged(h, nil, "pack of %d bytes is too short", len(data))), nil
	}
	hdr, err = r.parsePackTail(h, int64(len(data)), data, func(off, l int64) ([]byte, error) { return data[off : off+l], nil })
	if err != nil {
		return nil, 0, n, append(problems, err), nil
	}
	var scratch []byte
	for _, b := range hdr {
		if _, err := r.openBlobInPlace(h, b.Type, b.ID, data[b.Offset:b.Offset+b.Length], &scratch); err != nil {
			problems = append(problems, err)
			continue
		}
		blobs++
	}
	return hdr, blobs, n, problems, nil
}

// RebuildIndex reads the header of every pack and writes a fresh index from
// them alone, then removes the old index files. Packs whose headers are
// damaged are reported and left out. Hold an exclusive lock while calling it;
// when that lock was taken through r, temporary files older than
// TempSweepAge are removed too (see Sweeper).
func (r *Repository) RebuildIndex(ctx context.Context, logf func(string, ...any)) (packs, blobs int, err error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var old []ID
	if err := r.ListFiles(ctx, IndexFile, func(id ID) error { old = append(old, id); return nil }); err != nil {
		return 0, 0, err
	}
	type entry struct {
		id   ID
		size int64
	}
	var all []entry
	err = r.be.List(ctx, PackFile, func(fi backend.FileInfo) error {
		if id, err := ParseID(fi.Name); err == nil {
			all = append(all, entry{id, fi.Size})
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("list packs: %w", err)
	}
	var mu sync.Mutex
	var out []IndexPack
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 2)
	for _, e := range all {
		g.Go(func() error {
			hdr, err := r.ReadPackHeader(gctx, e.id, e.size)
			if err != nil {
				if IsDamaged(err) {
					logf("skipping pack: %v", err)
					return nil
				}
				return err
			}
			mu.Lock()
			out = append(out, IndexPack{ID: e.id, Blobs: hdr})
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.String() < out[j].ID.String() })
	// Write the new index before removing the old one, so that a crash in
	// between leaves duplicates (harmless) rather than nothing.
	const perFile = 20000
	for i := 0; i < len(out); i += perFile {
		if _, err := r.WriteIndex(ctx, out[i:min(i+perFile, len(out))]); err != nil {
			return 0, 0, err
		}
	}
	for _, id := range old {
		if err := r.RemoveFile(ctx, IndexFile, id); err != nil && !backend.IsNotExist(err) {
			return 0, 0, fmt.Errorf("remove old index %s: %w", id.Short(), err)
		}
	}
	for _, p := range out {
		blobs += len(p.Blobs)
	}
	// Build the new index apart and swap it in under the index's lock:
	// LoadBlob and HasBlob may be running meanwhile.
	fresh := NewIndex()
	if err := fresh.bulkAdd(out); err != nil {
		return 0, 0, err
	}
	r.idx.replace(fresh)
	if r.holdsExclusiveLock() {
		// No other writer can be saving now, so this is a safe moment to
		// clear away what killed writers left.
		swept, err := r.sweepTemp(ctx, true)
		if err != nil {
			logf("removing leftover temporary files: %v", err)
		} else if len(swept) > 0 {
			logf("removed %d temporary files left by interrupted saves", len(swept))
		}
	}
	return len(out), blobs, nil
}

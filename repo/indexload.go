package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// Loading every index file into an empty index (Open, and the reload that
// swaps in a fresh index) is the largest allocation most commands make.
// Decoding every file into []IndexPack and then into entries for
// buildTable held three copies of a million-blob index at once (issue 16:
// 51 MB decoded, 46 MB of entries, then the 43 MB table). Instead each file
// is decoded, as soon as it is decrypted, into one buffer of compact
// records sized up front from the files' sizes:
//
//	type (1) | ID (32) | pack number (3) | offset (4) | sealed length (3) | raw length (3)
//
// and that buffer is sorted and compacted in place into the tables'
// 43-byte records (the first three bytes, type and bucket, become the
// table and bucket the record lands in). Files are decoded in the order
// they are listed, one after another, and pack numbers are given in order
// of first appearance; the locations of one ID are ordered by pack number,
// then offset, then lengths. bulkAdd keeps them in the order listed
// instead, so the two may prefer different copies of a blob that index
// files list in several places: only the preference differs, since every
// location is kept (index.go) and readers try them all. Only a record
// equal to the one before it, the same pack listed by two index files, is
// dropped.
const loadRecSize = 1 + IDSize + 3 + 4 + 3 + 3

// maxPresizedEntries bounds the records loadIntoEmpty reserves room for up
// front (3 GiB of records, 67 million blobs): the files' listed sizes are
// not verified yet, and junk files would reserve what they claim. The room
// is reserved, not touched, so it costs address space until records fill
// it; beyond it the buffer grows as entries are decoded.
const maxPresizedEntries = 1 << 26

var errTooManyPacks = fmt.Errorf("index: more than %d packs", maxPacks)

// loadIntoEmpty loads every index file into idx if idx is empty, and
// reports whether it did; on false with a nil error the caller loads the
// usual way.
func (r *Repository) loadIntoEmpty(ctx context.Context, idx *Index) (bool, error) {
	if !idx.isEmpty() {
		return false, nil
	}
	sets, skipped, err := r.obsoleteSets(ctx, true)
	if err != nil {
		return false, err
	}
	var names []ID
	var sizes []int64
	var bound int
	err = r.be.List(ctx, IndexFile, func(fi backend.FileInfo) error {
		id, err := ParseID(fi.Name)
		if err != nil {
			return nil
		}
		names = append(names, id)
		sizes = append(sizes, fi.Size)
		if n := fi.Size - crypto.Overhead - 5; n > 0 {
			bound += int(n / indexEntrySize)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("list index: %w", err)
	}
	fresh := NewIndex()
	fresh.SetObsolete(obsoletePackIDs(sets))
	bound = min(bound, maxPresizedEntries)
	ld := indexLoader{idx: fresh, buf: make([]byte, 0, bound*loadRecSize), seen: make(map[ID]uint32)}
	// Files are read and decrypted in parallel and decoded in turn.
	turns := make([]chan struct{}, len(names)+1)
	for i := range turns {
		turns[i] = make(chan struct{})
	}
	close(turns[0])
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 2)
	errs := make([]error, len(names)) // of the files passed over
	var acquireErr error
	for i, id := range names {
		// The budget is taken here, in the files' order, and given back
		// after a file's turn: a file that waits for its turn holds its
		// share, and every file before it has one, so the turns go on.
		w, err := r.indexReads.acquire(gctx, sizes[i])
		if err != nil {
			acquireErr = err // a load failed (g.Wait says which), or ctx ended
			break
		}
		g.Go(func() error {
			defer r.indexReads.release(w)
			plain, err := r.LoadFile(gctx, IndexFile, id)
			if err != nil && !skippableIndexError(err) {
				return err
			}
			select {
			case <-turns[i]:
			case <-gctx.Done():
				return gctx.Err()
			}
			// add checks the whole file before it adds anything, so a
			// file it refuses leaves nothing behind.
			if err == nil {
				if err = ld.add(plain); err == errTooManyPacks {
					return err
				}
				if err != nil {
					err = unreadable(backend.Handle{Type: IndexFile, Name: id.String()}, nil, err) // AEAD verified it
				}
			}
			errs[i] = err
			close(turns[i+1])
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	if acquireErr != nil {
		return false, fmt.Errorf("load index: %w", acquireErr)
	}
	ld.build()
	if !idx.installIfEmpty(fresh) {
		return false, nil
	}
	var read []ID
	for i, id := range names {
		if errs[i] != nil {
			skipped[id] = errs[i]
		} else {
			read = append(read, id)
		}
	}
	r.noteIndexRead(read, skipped, true)
	return true, nil
}

// indexLoader gathers the decoded index files for loadIntoEmpty.
type indexLoader struct {
	idx   *Index
	buf   []byte // loadRecSize records
	seen  map[ID]uint32
	large []fullEntryT
}

type fullEntryT struct {
	t BlobType
	fullEntry
}

// add decodes one index file's plaintext into ld. It checks the whole
// file before it adds anything, with decodeIndexFile's checks and errors.
func (ld *indexLoader) add(b []byte) error {
	if err := walkIndexFile(b, nil, nil); err != nil {
		return err
	}
	var pack uint32
	var skip bool
	var err error
	walkIndexFile(b, func(id ID) {
		if err != nil {
			return
		}
		n, ok := ld.seen[id]
		if !ok {
			n = uint32(len(ld.idx.packs))
			if n >= maxPacks {
				err = errTooManyPacks
				skip = true
				return
			}
			ld.seen[id] = n
			ld.idx.packs = append(ld.idx.packs, id)
			ld.idx.markIfObsoleteLocked(id, n)
		}
		pack, skip = n, false
	}, func(e *PackBlob) {
		if skip {
			return
		}
		l := location{pack: pack, offset: e.Offset, length: e.Length, raw: e.RawLength}
		if e.Length > maxBlobLength || e.RawLength > maxBlobLength {
			ld.large = append(ld.large, fullEntryT{e.Type, fullEntry{e.ID, l}})
			return
		}
		ld.buf = append(ld.buf, byte(e.Type))
		ld.buf = append(ld.buf, e.ID[:]...)
		ld.buf = append(ld.buf, byte(l.pack), byte(l.pack>>8), byte(l.pack>>16))
		ld.buf = binary.LittleEndian.AppendUint32(ld.buf, l.offset)
		ld.buf = append(ld.buf, byte(l.length), byte(l.length>>8), byte(l.length>>16))
		ld.buf = append(ld.buf, byte(l.raw), byte(l.raw>>8), byte(l.raw>>16))
	})
	return err
}

// walkIndexFile checks the plaintext of an index file as decodeIndexFile
// does and calls onPack for every pack and then onBlob for each of its
// blobs (both may be nil).
func walkIndexFile(b []byte, onPack func(ID), onBlob func(*PackBlob)) error {
	if len(b) < 5 || string(b[:4]) != indexMagic {
		return fmt.Errorf("index: bad magic")
	}
	if b[4] > indexVersion {
		return fmt.Errorf("index: %w: version %d (this program reads version %d)", ErrUnsupportedVersion, b[4], indexVersion)
	}
	if b[4] != indexVersion {
		return fmt.Errorf("index: invalid version %d", b[4])
	}
	b = b[5:]
	for len(b) > 0 {
		if len(b) < IDSize+4 {
			return fmt.Errorf("index: truncated pack record (%d bytes left)", len(b))
		}
		var id ID
		copy(id[:], b)
		n := binary.LittleEndian.Uint32(b[IDSize:])
		b = b[IDSize+4:]
		if n > maxIndexPackBlobs || int(n)*indexEntrySize > len(b) {
			return fmt.Errorf("index: pack %s claims %d blobs, more than the file holds", id.Short(), n)
		}
		if onPack != nil {
			onPack(id)
		}
		var e PackBlob
		for i := range int(n) {
			e.Type = BlobType(b[0])
			if !e.Type.Valid() {
				return fmt.Errorf("index: pack %s entry %d has unknown blob type %d", id.Short(), i, b[0])
			}
			if onBlob != nil {
				e.Compression = b[1]
				e.Offset = binary.LittleEndian.Uint32(b[2:])
				e.Length = binary.LittleEndian.Uint32(b[6:])
				e.RawLength = binary.LittleEndian.Uint32(b[10:])
				copy(e.ID[:], b[14:14+IDSize])
				onBlob(&e)
			}
			b = b[indexEntrySize:]
		}
	}
	return nil
}

func loadRecPack(r []byte) uint32 {
	r = r[1+IDSize:]
	return uint32(r[0]) | uint32(r[1])<<8 | uint32(r[2])<<16
}

// build sorts ld.buf and makes it the tables of ld.idx, and adds the
// large blobs.
func (ld *indexLoader) build() {
	idx := ld.idx
	for _, e := range ld.large {
		if !slices.Contains(idx.large[e.t][e.id], e.loc) {
			idx.large[e.t][e.id] = append(idx.large[e.t][e.id], e.loc)
		}
	}
	buf := ld.buf
	ld.buf = nil
	n := len(buf) / loadRecSize
	if n == 0 {
		return
	}
	// Counting sort in place by the first three bytes (type and bucket),
	// then each bucket by the rest of the ID and the pack number.
	const nb = 3 * numBuckets
	key := func(i int) int {
		r := buf[i*loadRecSize:]
		return int(r[0])<<16 | int(r[1])<<8 | int(r[2])
	}
	start := make([]uint32, nb+1)
	for i := range n {
		start[key(i)+1]++
	}
	for b := 1; b <= nb; b++ {
		start[b] += start[b-1]
	}
	next := slices.Clone(start[:nb])
	var tmp [loadRecSize]byte
	for b := range nb {
		for next[b] < start[b+1] {
			i := int(next[b])
			c := key(i)
			if c == b {
				next[b]++
				continue
			}
			j := int(next[c])
			next[c]++
			ri, rj := buf[i*loadRecSize:(i+1)*loadRecSize], buf[j*loadRecSize:(j+1)*loadRecSize]
			copy(tmp[:], ri)
			copy(ri, rj)
			copy(rj, tmp[:])
		}
	}
	next = nil
	s := loadSorter{buf: buf}
	for b := range nb {
		lo, hi := int(start[b]), int(start[b+1])
		if hi-lo > 1 {
			s.buf = buf[lo*loadRecSize : hi*loadRecSize]
			sort.Sort(&s)
		}
	}
	// Compact into 43-byte records in place (each record moves down, never
	// up), dropping exact duplicates (adjacent, since the sort orders
	// whole records), and cut the tables from the buffer.
	out := 0
	tstart := [3]int{}
	for t := range 3 {
		tstart[t] = out
		buckets := make([]uint32, numBuckets+1)
		for bk := range numBuckets {
			b := t<<16 | bk
			first := out
			buckets[bk] = uint32(out - tstart[t])
			for i := int(start[b]); i < int(start[b+1]); i++ {
				r := buf[i*loadRecSize : (i+1)*loadRecSize]
				if out > first && bytes.Equal(buf[(out-1)*recSize:out*recSize], r[3:]) {
					continue
				}
				copy(buf[out*recSize:(out+1)*recSize], r[3:])
				out++
			}
		}
		buckets[numBuckets] = uint32(out - tstart[t])
		if out > tstart[t] {
			idx.tables[t] = &blobTable{buckets: buckets, recs: buf[tstart[t]*recSize : out*recSize : out*recSize]}
		}
	}
	// The largest table keeps the buffer; the others get their own, so
	// that merging one table lets the buffer go.
	big, most := 0, 0
	for t := range 3 {
		if idx.tables[t] != nil && idx.tables[t].len() > most {
			big, most = t, idx.tables[t].len()
		}
	}
	for t := range 3 {
		if t != big && idx.tables[t] != nil {
			idx.tables[t].recs = slices.Clone(idx.tables[t].recs)
		}
	}
}

// loadSorter sorts loadRecSize records by ID, then pack number, then
// offset (a pack lists its blobs in the order they were written, so a
// blob's copies in one pack stay in that order, as in bulkAdd's stable
// sort), then the lengths, so that equal records end up side by side.
type loadSorter struct {
	buf []byte
	tmp [loadRecSize]byte
}

func (s *loadSorter) Len() int { return len(s.buf) / loadRecSize }
func (s *loadSorter) Less(i, j int) bool {
	a, b := s.buf[i*loadRecSize:(i+1)*loadRecSize], s.buf[j*loadRecSize:(j+1)*loadRecSize]
	if c := bytes.Compare(a[:1+IDSize], b[:1+IDSize]); c != 0 {
		return c < 0
	}
	if pa, pb := loadRecPack(a), loadRecPack(b); pa != pb {
		return pa < pb
	}
	if oa, ob := binary.LittleEndian.Uint32(a[1+IDSize+3:]), binary.LittleEndian.Uint32(b[1+IDSize+3:]); oa != ob {
		return oa < ob
	}
	return bytes.Compare(a[1+IDSize+7:], b[1+IDSize+7:]) < 0
}
func (s *loadSorter) Swap(i, j int) {
	a, b := s.buf[i*loadRecSize:(i+1)*loadRecSize], s.buf[j*loadRecSize:(j+1)*loadRecSize]
	copy(s.tmp[:], a)
	copy(a, b)
	copy(b, s.tmp[:])
}

// isEmpty reports whether idx holds nothing.
func (idx *Index) isEmpty() bool {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.emptyLocked()
}

func (idx *Index) emptyLocked() bool {
	if len(idx.packs) > 0 || idx.nRecent > 0 {
		return false
	}
	for t := range idx.tables {
		if idx.tables[t] != nil || len(idx.recent[t]) > 0 || len(idx.large[t]) > 0 {
			return false
		}
	}
	return true
}

// installIfEmpty gives idx the contents of fresh if idx is still empty, and
// reports whether it did.
func (idx *Index) installIfEmpty(fresh *Index) bool {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if !idx.emptyLocked() {
		return false
	}
	idx.packs, idx.tables, idx.recent, idx.nRecent, idx.large = fresh.packs, fresh.tables, fresh.recent, fresh.nRecent, fresh.large
	idx.obsoleteIDs, idx.obsolete = fresh.obsoleteIDs, fresh.obsolete
	return true
}

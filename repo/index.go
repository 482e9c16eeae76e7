package repo

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// The in-memory index maps (blob type, blob ID) to a location in a pack.
//
// It must stay small at millions of blobs (restic spends ~60 bytes per blob
// and runs large repositories out of memory). Most entries live in a sorted,
// immutable table of fixed 43-byte records:
//
//	ID[2:32] (30 bytes) | pack number (3) | offset (4) | sealed length (3) | raw length (3)
//
// The first two bytes of the ID select one of 65536 buckets, so they need
// not be stored; the 3-byte pack number indexes a table of pack IDs, and
// lengths fit 24 bits because chunks are at most chunk.MaxChunkSize. The raw
// (plaintext) length bounds decompression (load.go). Blobs
// added during a session go to a small map first and are merged into the
// table in bulk.
//
// A blob may have several locations: concurrent writers store it twice, a
// repack copies it before the old pack is deleted, and a client holding
// the password can upload, even through an append-only server, an index
// file or a pack that names an existing blob with wrong bytes. Every
// location is kept (records of one ID lie side by side, in the order they
// were added), readers fall back from a copy that fails to verify to the
// next one (load.go), and prune deletes a copy only once another one has
// been read back intact (doc/design.md §18). Keeping only the first
// location, as this index once did, let such an upload shadow the good
// copy: restores failed, and a repack dropped the good copy for good.

const (
	recSize       = IDSize - 2 + 3 + 4 + 3 + 3
	numBuckets    = 1 << 16
	maxPacks      = 1 << 24
	maxBlobLength = 1<<24 - 1
	// mergeThreshold is the number of recent entries that triggers a merge
	// into the sorted table.
	mergeThreshold = 1 << 16
)

type location struct {
	pack   uint32
	offset uint32
	length uint32
	raw    uint32 // plaintext length
}

type blobTable struct {
	buckets []uint32 // numBuckets+1 start offsets (in records) into recs
	recs    []byte
}

func (t *blobTable) len() int { return len(t.recs) / recSize }

func (t *blobTable) lookup(id *ID) (location, bool) {
	m, ok := t.find(id)
	if !ok {
		return location{}, false
	}
	return decodeRecLoc(t.recs[m*recSize:]), true
}

// find returns the position of id's first record; the others follow it.
func (t *blobTable) find(id *ID) (int, bool) {
	if t == nil || len(t.recs) == 0 {
		return 0, false
	}
	b := int(id[0])<<8 | int(id[1])
	lo, hi := int(t.buckets[b]), int(t.buckets[b+1])
	key := id[2:]
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(t.recs[m*recSize:m*recSize+IDSize-2], key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < int(t.buckets[b+1]) && bytes.Equal(t.recs[lo*recSize:lo*recSize+IDSize-2], key) {
		return lo, true
	}
	return 0, false
}

// sameID reports whether the record at m holds id (m may be past the end).
func (t *blobTable) sameID(m int, id *ID) bool {
	if m >= t.len() || int(t.buckets[int(id[0])<<8|int(id[1])+1]) <= m {
		return false
	}
	return bytes.Equal(t.recs[m*recSize:m*recSize+IDSize-2], id[2:])
}

func decodeRecLoc(r []byte) location {
	r = r[IDSize-2:]
	return location{
		pack:   uint32(r[0]) | uint32(r[1])<<8 | uint32(r[2])<<16,
		offset: binary.LittleEndian.Uint32(r[3:7]),
		length: uint32(r[7]) | uint32(r[8])<<8 | uint32(r[9])<<16,
		raw:    uint32(r[10]) | uint32(r[11])<<8 | uint32(r[12])<<16,
	}
}

func encodeRec(dst []byte, id *ID, l location) {
	copy(dst, id[2:])
	r := dst[IDSize-2:]
	r[0], r[1], r[2] = byte(l.pack), byte(l.pack>>8), byte(l.pack>>16)
	binary.LittleEndian.PutUint32(r[3:7], l.offset)
	r[7], r[8], r[9] = byte(l.length), byte(l.length>>8), byte(l.length>>16)
	r[10], r[11], r[12] = byte(l.raw), byte(l.raw>>8), byte(l.raw>>16)
}

// fullEntry is used while building a table.
type fullEntry struct {
	id  ID
	loc location
}

// dupWindow is how many earlier records of the same ID a new record is
// compared with to drop it as an exact duplicate (the same pack listed
// twice). Runs are one or two records long; the bound keeps a crafted run
// of a million copies of one ID from costing a million squared.
const dupWindow = 8

// buildTable merges extra into old. Records of one ID keep the order they
// were added in (old's first); a record equal to one of the dupWindow
// before it is dropped.
func buildTable(old *blobTable, extra []fullEntry) *blobTable {
	n := len(extra)
	if old != nil {
		n += old.len()
	}
	counts := make([]uint32, numBuckets+1)
	if old != nil {
		for b := 0; b < numBuckets; b++ {
			counts[b+1] += old.buckets[b+1] - old.buckets[b]
		}
	}
	for i := range extra {
		counts[int(extra[i].id[0])<<8|int(extra[i].id[1])+1]++
	}
	for b := 1; b <= numBuckets; b++ {
		counts[b] += counts[b-1]
	}
	recs := make([]byte, n*recSize)
	fill := slices.Clone(counts[:numBuckets])
	if old != nil {
		for b := 0; b < numBuckets; b++ {
			lo, hi := old.buckets[b], old.buckets[b+1]
			copy(recs[fill[b]*recSize:], old.recs[lo*recSize:hi*recSize])
			fill[b] += hi - lo
		}
	}
	for i := range extra {
		b := int(extra[i].id[0])<<8 | int(extra[i].id[1])
		encodeRec(recs[fill[b]*recSize:], &extra[i].id, extra[i].loc)
		fill[b]++
	}
	// Sort each bucket and drop exact duplicates, compacting as we go.
	out := 0
	newBuckets := make([]uint32, numBuckets+1)
	var scratch []byte
	for b := 0; b < numBuckets; b++ {
		lo, hi := int(counts[b]), int(counts[b+1])
		newBuckets[b] = uint32(out)
		k := hi - lo
		if k == 0 {
			continue
		}
		seg := recs[lo*recSize : hi*recSize]
		if k > 1 {
			scratch = sortRecs(seg, k, scratch)
		}
		for i := 0; i < k; i++ {
			r := seg[i*recSize : (i+1)*recSize]
			if dupInRun(recs, int(newBuckets[b]), out, r) {
				continue
			}
			copy(recs[out*recSize:], r)
			out++
		}
	}
	newBuckets[numBuckets] = uint32(out)
	return &blobTable{buckets: newBuckets, recs: recs[: out*recSize : out*recSize]}
}

// dupInRun reports whether record r equals one of the last dupWindow
// records before out (not before first) that hold r's ID.
func dupInRun(recs []byte, first, out int, r []byte) bool {
	for j := out - 1; j >= first && j >= out-dupWindow; j-- {
		prev := recs[j*recSize : (j+1)*recSize]
		if !bytes.Equal(prev[:IDSize-2], r[:IDSize-2]) {
			return false
		}
		if bytes.Equal(prev, r) {
			return true
		}
	}
	return false
}

// sortRecs sorts k records in seg by ID; the sort is stable so that the
// locations of one blob keep the order they were added in.
func sortRecs(seg []byte, k int, scratch []byte) []byte {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return bytes.Compare(seg[a*recSize:a*recSize+IDSize-2], seg[b*recSize:b*recSize+IDSize-2])
	})
	scratch = append(scratch[:0], seg...)
	for i, j := range idx {
		copy(seg[i*recSize:], scratch[j*recSize:(j+1)*recSize])
	}
	return scratch
}

// Index is the in-memory blob index. It is safe for concurrent use.
type Index struct {
	mu     sync.RWMutex
	packs  []ID
	tables [3]*blobTable
	// recent holds the first location added this session of each blob
	// not merged yet, recentDup any further ones (rare: a blob stored
	// again, or a pack whose index file was read meanwhile).
	recent    [3]map[ID]location
	recentDup [3][]fullEntry
	nRecent   int
	// large holds the rare blobs longer (stored or raw) than the 24-bit
	// length fields of a table record (only blobs saved directly, never
	// chunks).
	large [3]map[ID][]location
	// obsoleteIDs are the packs prune marked obsolete, and obsolete their
	// numbers: their blobs stay readable, but a writer must not
	// deduplicate against them (doc/design.md, "Prune beside backups").
	obsoleteIDs map[ID]struct{}
	obsolete    map[uint32]struct{}
}

// maxRecentDup is how many further locations wait in recentDup before a
// merge: lookups scan that list.
const maxRecentDup = 1024

// SetObsolete records the packs prune marked obsolete, replacing any
// earlier set. Readers and writers prefer a blob's copies in other packs.
func (idx *Index) SetObsolete(packs []ID) {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.obsoleteIDs = make(map[ID]struct{}, len(packs))
	for _, p := range packs {
		idx.obsoleteIDs[p] = struct{}{}
	}
	idx.obsolete = make(map[uint32]struct{})
	for n, p := range idx.packs {
		if _, ok := idx.obsoleteIDs[p]; ok {
			idx.obsolete[uint32(n)] = struct{}{}
		}
	}
}

func (idx *Index) obsoleteLocked(pack uint32) bool {
	_, ok := idx.obsolete[pack]
	return ok
}

// PackIDs returns the packs the index names.
func (idx *Index) PackIDs() []ID {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return slices.Clone(idx.packs)
}

// HasPack reports whether the index names pack.
func (idx *Index) HasPack(pack ID) bool {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return slices.Contains(idx.packs, pack)
}

// IsObsolete reports whether pack is marked obsolete.
func (idx *Index) IsObsolete(pack ID) bool {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	_, ok := idx.obsoleteIDs[pack]
	return ok
}

// HasLive reports whether the index knows the blob in a pack that is not
// obsolete: whether a writer may deduplicate against it.
func (idx *Index) HasLive(t BlobType, id ID) bool {
	if !t.Valid() {
		return false
	}
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	l, ok := idx.bestLocked(t, id)
	return ok && !idx.obsoleteLocked(l.pack)
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	idx := &Index{}
	for t := range idx.recent {
		idx.recent[t] = make(map[ID]location)
		idx.large[t] = make(map[ID][]location)
	}
	return idx
}

// Len returns the number of locations of blobs of type t in the index: a
// blob stored in two packs counts twice.
func (idx *Index) Len(t BlobType) int {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	n := len(idx.recent[t]) + len(idx.recentDup[t])
	for _, ls := range idx.large[t] {
		n += len(ls)
	}
	if idx.tables[t] != nil {
		n += idx.tables[t].len()
	}
	return n
}

// Packs returns the number of packs the index refers to.
func (idx *Index) Packs() int {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return len(idx.packs)
}

// addPackID appends a pack to the pack table. No map from pack ID to
// number is kept: it would cost more than the table itself (a pack ID is
// 32 bytes for ~30 blobs; a map entry twice that). Packs a session writes
// are new by construction; bulkAdd dedups across index files with a map
// that lives only while it runs.
func (idx *Index) addPackID(pack ID) (uint32, error) {
	if len(idx.packs) >= maxPacks {
		return 0, fmt.Errorf("index: more than %d packs", maxPacks)
	}
	idx.packs = append(idx.packs, pack)
	n := uint32(len(idx.packs) - 1)
	idx.markIfObsoleteLocked(pack, n)
	return n, nil
}

func (idx *Index) markIfObsoleteLocked(pack ID, n uint32) {
	if _, ok := idx.obsoleteIDs[pack]; ok {
		if idx.obsolete == nil {
			idx.obsolete = make(map[uint32]struct{})
		}
		idx.obsolete[n] = struct{}{}
	}
}

// copiesLocked calls fn for each location of the blob, in the order they
// were added, until fn returns false.
func (idx *Index) copiesLocked(t BlobType, id *ID, fn func(location) bool) {
	if tb := idx.tables[t]; tb != nil {
		if m, ok := tb.find(id); ok {
			for ; tb.sameID(m, id); m++ {
				if !fn(decodeRecLoc(tb.recs[m*recSize:])) {
					return
				}
			}
		}
	}
	idx.untabledLocked(t, id, fn)
}

// untabledLocked is copiesLocked for the locations not in the table yet
// (those follow the table's); it reports whether fn asked for more.
func (idx *Index) untabledLocked(t BlobType, id *ID, fn func(location) bool) bool {
	if l, ok := idx.recent[t][*id]; ok {
		if !fn(l) {
			return false
		}
		for _, e := range idx.recentDup[t] {
			if e.id == *id && !fn(e.loc) {
				return false
			}
		}
	}
	for _, l := range idx.large[t][*id] {
		if !fn(l) {
			return false
		}
	}
	return true
}

// bestLocked returns the location to try first: the first one in a pack
// that is not obsolete, else the first one. It is copiesLocked written out
// for the backup's and the restore's lookup of every chunk: it returns at
// the first live record, usually the table's, without the map lookups.
func (idx *Index) bestLocked(t BlobType, id ID) (best location, found bool) {
	if tb := idx.tables[t]; tb != nil {
		if m, ok := tb.find(&id); ok {
			for ; tb.sameID(m, &id); m++ {
				l := decodeRecLoc(tb.recs[m*recSize:])
				if !idx.obsoleteLocked(l.pack) {
					return l, true
				}
				if !found {
					best, found = l, true
				}
			}
		}
	}
	idx.untabledLocked(t, &id, func(l location) bool {
		if !found {
			best, found = l, true
		}
		if idx.obsoleteLocked(l.pack) {
			return true
		}
		best = l
		return false
	})
	return best, found
}

// Has reports whether the index knows the blob.
func (idx *Index) Has(t BlobType, id ID) bool {
	if !t.Valid() {
		return false
	}
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	_, ok := idx.bestLocked(t, id)
	return ok
}

func (idx *Index) blobLocation(t BlobType, id ID, l location) BlobLocation {
	return BlobLocation{Type: t, ID: id, Pack: idx.packs[l.pack], Offset: l.offset, Length: l.length}
}

// Lookup returns where a blob is stored: of several copies, the first in a
// pack that is not obsolete. Locations returns them all.
func (idx *Index) Lookup(t BlobType, id ID) (BlobLocation, bool) {
	if !t.Valid() {
		return BlobLocation{}, false
	}
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	l, ok := idx.bestLocked(t, id)
	if !ok {
		return BlobLocation{}, false
	}
	return idx.blobLocation(t, id, l), true
}

// Locations returns every location of a blob, those in packs that are not
// obsolete first, each group in the order the copies were indexed.
func (idx *Index) Locations(t BlobType, id ID) []BlobLocation {
	cs := idx.copies(t, id)
	out := make([]BlobLocation, len(cs))
	for i, c := range cs {
		out[i] = c.loc
	}
	return out
}

// blobCopy is one indexed location of a blob with the raw length recorded
// for it there.
type blobCopy struct {
	loc BlobLocation
	raw uint32
}

// copies returns every location of a blob with its raw length, in the
// order of Locations.
func (idx *Index) copies(t BlobType, id ID) []blobCopy {
	if !t.Valid() {
		return nil
	}
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var live, obsolete []blobCopy
	idx.copiesLocked(t, &id, func(l location) bool {
		c := blobCopy{loc: idx.blobLocation(t, id, l), raw: l.raw}
		if idx.obsoleteLocked(l.pack) {
			obsolete = append(obsolete, c)
		} else {
			live = append(live, c)
		}
		return true
	})
	return append(live, obsolete...)
}

// Duplicates returns the blobs the index has at more than one location.
// The table's records of one blob lie side by side, so this is one pass
// over it.
func (idx *Index) Duplicates() []BlobHandle {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	var out []BlobHandle
	for t := range idx.tables {
		n := map[ID]int{} // locations outside the table
		for id := range idx.recent[t] {
			n[id]++
		}
		for _, e := range idx.recentDup[t] {
			n[e.id]++
		}
		for id, ls := range idx.large[t] {
			n[id] += len(ls)
		}
		if tb := idx.tables[t]; tb != nil {
			for b := 0; b < numBuckets; b++ {
				for i := tb.buckets[b]; i < tb.buckets[b+1]; {
					j := i + 1
					for j < tb.buckets[b+1] && bytes.Equal(tb.recs[int(j)*recSize:int(j)*recSize+IDSize-2], tb.recs[int(i)*recSize:int(i)*recSize+IDSize-2]) {
						j++
					}
					var id ID
					id[0], id[1] = byte(b>>8), byte(b)
					copy(id[2:], tb.recs[int(i)*recSize:])
					if k := int(j-i) + n[id]; k > 1 {
						out = append(out, BlobHandle{Type: BlobType(t), ID: id})
					}
					delete(n, id)
					i = j
				}
			}
		}
		for id, k := range n {
			if k > 1 {
				out = append(out, BlobHandle{Type: BlobType(t), ID: id})
			}
		}
	}
	return out
}

// RawLength returns the plaintext length that the index records for a
// blob. A blob has one length wherever it is stored (its plaintext hashes
// to its ID), so any of its locations will do: a location that records
// another length fails to verify there, and the reader tries the next.
func (idx *Index) RawLength(t BlobType, id ID) (uint32, bool) {
	if !t.Valid() {
		return 0, false
	}
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	l, ok := idx.bestLocked(t, id)
	return l.raw, ok
}

// rawLengthsAt appends to dst the plaintext lengths recorded for the copy
// of a blob at loc: usually one, more where index files disagree (a
// crafted one can name the right place with a wrong length, and must not
// fail the good copy). Where the index does not have that location it
// appends the length RawLength gives, if any.
func (idx *Index) rawLengthsAt(loc BlobLocation, dst []int) []int {
	if !loc.Type.Valid() {
		return dst
	}
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	n := len(dst)
	idx.copiesLocked(loc.Type, &loc.ID, func(l location) bool {
		if idx.packs[l.pack] == loc.Pack && l.offset == loc.Offset && l.length == loc.Length {
			dst = append(dst, int(l.raw))
		}
		return true
	})
	if len(dst) == n {
		if l, ok := idx.bestLocked(loc.Type, loc.ID); ok {
			dst = append(dst, int(l.raw))
		}
	}
	return dst
}

// AddPack records the blobs of one pack. A blob the index already has in
// another pack gains a location; the same pack added again changes
// nothing. On error the index is unchanged.
func (idx *Index) AddPack(pack ID, blobs []PackBlob) error {
	// Check before changing anything: a pack half added would be in the
	// pack table with only some of its blobs.
	for _, b := range blobs {
		if !b.Type.Valid() {
			return fmt.Errorf("index: blob %s in pack %s has unknown type %d", b.ID.Short(), pack.Short(), b.Type)
		}
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	n, err := idx.addPackID(pack)
	if err != nil {
		return err
	}
	for _, b := range blobs {
		l := location{pack: n, offset: b.Offset, length: b.Length, raw: b.RawLength}
		known := false
		idx.copiesLocked(b.Type, &b.ID, func(o location) bool {
			known = idx.packs[o.pack] == pack && o.offset == l.offset && o.length == l.length && o.raw == l.raw
			return !known
		})
		switch {
		case known:
		case b.Length > maxBlobLength || b.RawLength > maxBlobLength:
			idx.large[b.Type][b.ID] = append(idx.large[b.Type][b.ID], l)
		default:
			if _, dup := idx.recent[b.Type][b.ID]; dup {
				idx.recentDup[b.Type] = append(idx.recentDup[b.Type], fullEntry{id: b.ID, loc: l})
			} else {
				idx.recent[b.Type][b.ID] = l
			}
			idx.nRecent++
		}
	}
	if idx.nRecent >= mergeThreshold || len(idx.recentDup[0])+len(idx.recentDup[1])+len(idx.recentDup[2]) > maxRecentDup {
		idx.mergeLocked()
	}
	return nil
}

// bulkAdd adds many packs at once (used when loading index files) and
// rebuilds the tables once at the end. Packs the index already knows are
// skipped, so loading the same index files again changes nothing. On error
// the index is unchanged.
func (idx *Index) bulkAdd(packs []IndexPack) error {
	for _, p := range packs {
		for _, b := range p.Blobs {
			if !b.Type.Valid() {
				return fmt.Errorf("index: blob %s in pack %s has unknown type %d", b.ID.Short(), p.ID.Short(), b.Type)
			}
		}
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	// The map of known packs lives only while this runs (see addPackID);
	// on the first load the index is empty and it is not built at all.
	var known map[ID]struct{}
	if len(idx.packs) > 0 {
		known = make(map[ID]struct{}, len(idx.packs))
		for _, id := range idx.packs {
			known[id] = struct{}{}
		}
	}
	// Number the new packs before touching the table, so that the pack
	// limit fails before anything is added. A pack listed in several index
	// files (a crash during repair leaves duplicates) gets one number.
	seen := make(map[ID]uint32, len(packs))
	var add []ID
	for _, p := range packs {
		if _, ok := known[p.ID]; ok {
			continue
		}
		if _, ok := seen[p.ID]; !ok {
			seen[p.ID] = uint32(len(idx.packs) + len(add))
			add = append(add, p.ID)
		}
	}
	if len(idx.packs)+len(add) > maxPacks {
		return fmt.Errorf("index: more than %d packs", maxPacks)
	}
	// Size the entry lists up front: growing them by appending costs more
	// than the rest of the build at millions of entries.
	var extra [3][]fullEntry
	var counts [3]int
	for _, p := range packs {
		if _, ok := seen[p.ID]; !ok {
			continue
		}
		for _, b := range p.Blobs {
			counts[b.Type]++
		}
	}
	for t := range extra {
		extra[t] = make([]fullEntry, 0, counts[t]+len(idx.recent[t])+len(idx.recentDup[t]))
	}
	for i, p := range add {
		idx.markIfObsoleteLocked(p, uint32(len(idx.packs)+i))
	}
	idx.packs = append(idx.packs, add...)
	// The recent locations were added before these: they go first.
	for t := range extra {
		extra[t] = idx.appendRecentLocked(BlobType(t), extra[t])
	}
	for _, p := range packs {
		n, ok := seen[p.ID]
		if !ok {
			continue
		}
		for _, b := range p.Blobs {
			l := location{pack: n, offset: b.Offset, length: b.Length, raw: b.RawLength}
			if b.Length > maxBlobLength || b.RawLength > maxBlobLength {
				if !slices.Contains(idx.large[b.Type][b.ID], l) {
					idx.large[b.Type][b.ID] = append(idx.large[b.Type][b.ID], l)
				}
				continue
			}
			extra[b.Type] = append(extra[b.Type], fullEntry{id: b.ID, loc: l})
		}
	}
	for t := range extra {
		if len(extra[t]) > 0 {
			idx.tables[t] = buildTable(idx.tables[t], extra[t])
		}
	}
	idx.nRecent = 0
	return nil
}

// appendRecentLocked appends the recent locations of type t to extra, each
// blob's first one before its further ones, and empties them.
func (idx *Index) appendRecentLocked(t BlobType, extra []fullEntry) []fullEntry {
	for id, l := range idx.recent[t] {
		extra = append(extra, fullEntry{id: id, loc: l})
	}
	extra = append(extra, idx.recentDup[t]...)
	idx.recent[t] = make(map[ID]location)
	idx.recentDup[t] = nil
	return extra
}

// replace gives idx the contents of fresh, under idx's lock, so that
// readers holding idx (Repository.Index, concurrent LoadBlob and HasBlob)
// see either the old index or the new one, never a mix. fresh must not be
// used afterwards.
func (idx *Index) replace(fresh *Index) {
	fresh.mu.Lock()
	packs, tables, recent, recentDup, nRecent, large := fresh.packs, fresh.tables, fresh.recent, fresh.recentDup, fresh.nRecent, fresh.large
	obsIDs, obs := fresh.obsoleteIDs, fresh.obsolete
	fresh.mu.Unlock()
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.packs, idx.tables, idx.recent, idx.recentDup, idx.nRecent, idx.large = packs, tables, recent, recentDup, nRecent, large
	idx.obsoleteIDs, idx.obsolete = obsIDs, obs
}

func (idx *Index) mergeLocked() {
	for t := range idx.recent {
		if len(idx.recent[t]) == 0 {
			continue
		}
		extra := idx.appendRecentLocked(BlobType(t), make([]fullEntry, 0, len(idx.recent[t])+len(idx.recentDup[t])))
		idx.tables[t] = buildTable(idx.tables[t], extra)
	}
	idx.nRecent = 0
}

// Each calls fn for every location of every blob in the index (a blob
// stored in two packs twice), in no particular order, while holding a read
// lock: fn must not call back into the index.
func (idx *Index) Each(fn func(BlobLocation) error) error {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	return idx.eachLocked(func(t BlobType, id ID, l location) error {
		return fn(idx.blobLocation(t, id, l))
	})
}

// ByPack returns the blobs of the index grouped by pack, in no particular
// order within a pack (a blob stored in several packs is in each group).
func (idx *Index) ByPack() map[ID][]BlobLocation {
	byPack := idx.byPackCopies()
	out := make(map[ID][]BlobLocation, len(byPack))
	for id, cs := range byPack {
		ls := make([]BlobLocation, len(cs))
		for i, c := range cs {
			ls[i] = c.loc
		}
		out[id] = ls
	}
	return out
}

// byPackCopies is ByPack with each location's raw length. It counts the
// blobs of each pack first and fills exact slices: grouping by Each into a
// map keyed by pack ID took 30-50 ms for the 45,729 blobs of the benchmark
// repository, before a check could read its first pack.
func (idx *Index) byPackCopies() map[ID][]blobCopy {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	count := make([]int, len(idx.packs))
	total := 0
	_ = idx.eachLocked(func(_ BlobType, _ ID, l location) error {
		count[l.pack]++
		total++
		return nil
	})
	all := make([]blobCopy, total)
	groups := make([][]blobCopy, len(idx.packs))
	at := 0
	for n, c := range count {
		groups[n] = all[at : at : at+c]
		at += c
	}
	_ = idx.eachLocked(func(t BlobType, id ID, l location) error {
		groups[l.pack] = append(groups[l.pack], blobCopy{loc: idx.blobLocation(t, id, l), raw: l.raw})
		return nil
	})
	out := make(map[ID][]blobCopy, len(idx.packs))
	for n, g := range groups {
		if len(g) > 0 {
			// A pack added twice has two numbers: one group for its ID.
			id := idx.packs[n]
			out[id] = append(out[id], g...)
		}
	}
	return out
}

// eachLocked calls fn for every location; the caller holds idx.mu.
func (idx *Index) eachLocked(fn func(BlobType, ID, location) error) error {
	for t := range idx.tables {
		for id, ls := range idx.large[t] {
			for _, l := range ls {
				if err := fn(BlobType(t), id, l); err != nil {
					return err
				}
			}
		}
		for id, l := range idx.recent[t] {
			if err := fn(BlobType(t), id, l); err != nil {
				return err
			}
		}
		for _, e := range idx.recentDup[t] {
			if err := fn(BlobType(t), e.id, e.loc); err != nil {
				return err
			}
		}
		tb := idx.tables[t]
		if tb == nil {
			continue
		}
		for b := 0; b < numBuckets; b++ {
			for i := tb.buckets[b]; i < tb.buckets[b+1]; i++ {
				r := tb.recs[int(i)*recSize:]
				var id ID
				id[0], id[1] = byte(b>>8), byte(b)
				copy(id[2:], r[:IDSize-2])
				if err := fn(BlobType(t), id, decodeRecLoc(r)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// IndexPack is one pack's entry in an index file.
type IndexPack struct {
	ID    ID         `json:"id"`
	Blobs []PackBlob `json:"blobs"`
}

// Index files are sealed; their plaintext is
//
//	"CDIX" | version (1) | then per pack: pack ID (32) | n (uint32 LE) |
//	n × [type (1) | compression (1) | offset (4) | length (4) | raw length (4) | blob ID (32)]
const (
	indexMagic        = "CDIX"
	indexVersion      = 1
	indexEntrySize    = 1 + 1 + 4 + 4 + 4 + IDSize
	maxIndexPackBlobs = maxPackHeaderEntries
)

func encodeIndexFile(packs []IndexPack) []byte {
	n := 5
	for _, p := range packs {
		n += IDSize + 4 + len(p.Blobs)*indexEntrySize
	}
	b := make([]byte, 0, n)
	b = append(b, indexMagic...)
	b = append(b, indexVersion)
	for _, p := range packs {
		b = append(b, p.ID[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Blobs)))
		for _, e := range p.Blobs {
			b = append(b, byte(e.Type), e.Compression)
			b = binary.LittleEndian.AppendUint32(b, e.Offset)
			b = binary.LittleEndian.AppendUint32(b, e.Length)
			b = binary.LittleEndian.AppendUint32(b, e.RawLength)
			b = append(b, e.ID[:]...)
		}
	}
	return b
}

// decodeIndexFile parses the plaintext of an index file.
func decodeIndexFile(b []byte) ([]IndexPack, error) {
	if len(b) < 5 || string(b[:4]) != indexMagic {
		return nil, fmt.Errorf("index: bad magic")
	}
	if b[4] > indexVersion {
		return nil, fmt.Errorf("index: %w: version %d (this program reads version %d)", ErrUnsupportedVersion, b[4], indexVersion)
	}
	if b[4] != indexVersion {
		return nil, fmt.Errorf("index: invalid version %d", b[4])
	}
	b = b[5:]
	var packs []IndexPack
	for len(b) > 0 {
		if len(b) < IDSize+4 {
			return nil, fmt.Errorf("index: truncated pack record (%d bytes left)", len(b))
		}
		var p IndexPack
		copy(p.ID[:], b)
		n := binary.LittleEndian.Uint32(b[IDSize:])
		b = b[IDSize+4:]
		if n > maxIndexPackBlobs || int(n)*indexEntrySize > len(b) {
			return nil, fmt.Errorf("index: pack %s claims %d blobs, more than the file holds", p.ID.Short(), n)
		}
		p.Blobs = make([]PackBlob, n)
		for i := range p.Blobs {
			e := &p.Blobs[i]
			e.Type = BlobType(b[0])
			if !e.Type.Valid() {
				return nil, fmt.Errorf("index: pack %s entry %d has unknown blob type %d", p.ID.Short(), i, b[0])
			}
			e.Compression = b[1]
			e.Offset = binary.LittleEndian.Uint32(b[2:])
			e.Length = binary.LittleEndian.Uint32(b[6:])
			e.RawLength = binary.LittleEndian.Uint32(b[10:])
			copy(e.ID[:], b[14:14+IDSize])
			b = b[indexEntrySize:]
		}
		packs = append(packs, p)
	}
	return packs, nil
}

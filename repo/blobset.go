package repo

// BlobSet is a set of blobs that costs one bit for every blob the index
// held when the set was made (prune marks every blob its snapshots use;
// at millions of blobs a map would cost more than the index itself).
// Blobs outside that index go to a small map. The set keeps its own view
// of the index's tables, so later changes to the index (new packs, a
// reload) do not disturb it. A BlobSet is not safe for concurrent use.
type BlobSet struct {
	tables [3]*blobTable
	bits   [3][]uint64
	extra  map[BlobHandle]struct{}
	n      int
}

// NewBlobSet returns an empty set over idx's current tables.
func (idx *Index) NewBlobSet() *BlobSet {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	s := &BlobSet{extra: make(map[BlobHandle]struct{})}
	for t, tab := range idx.tables {
		s.tables[t] = tab
		if tab != nil {
			s.bits[t] = make([]uint64, (tab.len()+63)/64)
		}
	}
	return s
}

// Add puts the blob in the set and reports whether it was not there yet.
func (s *BlobSet) Add(t BlobType, id ID) bool {
	if t.Valid() {
		if m, ok := s.tables[t].find(&id); ok {
			w, bit := m/64, uint64(1)<<(m%64)
			if s.bits[t][w]&bit != 0 {
				return false
			}
			s.bits[t][w] |= bit
			s.n++
			return true
		}
	}
	k := BlobHandle{Type: t, ID: id}
	if _, ok := s.extra[k]; ok {
		return false
	}
	s.extra[k] = struct{}{}
	s.n++
	return true
}

// Has reports whether the blob is in the set.
func (s *BlobSet) Has(t BlobType, id ID) bool {
	if t.Valid() {
		if m, ok := s.tables[t].find(&id); ok {
			return s.bits[t][m/64]&(uint64(1)<<(m%64)) != 0
		}
	}
	_, ok := s.extra[BlobHandle{Type: t, ID: id}]
	return ok
}

// Len returns the number of blobs in the set.
func (s *BlobSet) Len() int { return s.n }

// Bytes returns the memory the set holds beyond the index's tables.
func (s *BlobSet) Bytes() int {
	n := 0
	for _, b := range s.bits {
		n += 8 * len(b)
	}
	return n + len(s.extra)*(IDSize+1+48)
}

// Package runlogtest provides an in-memory record store for tests of the SOP
// layer, with hooks to tamper with stored records and to fail writes.
package runlogtest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/lpse/cadang/repo"
)

// MemStore implements runlog.RecordStore in memory. Files are named by the
// SHA-256 of their bytes, like repository files; it does not check the name
// on load, so tests can tamper with contents.
type MemStore struct {
	mu    sync.Mutex
	files map[repo.FileType]map[repo.ID][]byte
	// FailSave, when set, is returned by SaveFile.
	FailSave error
	// Saves counts successful SaveFile calls.
	Saves int
	// RepositoryID is what ID returns: the repository the store stands
	// for, which says which records are copied into it.
	RepositoryID string
	// Salted, when set, names each saved file anew, as a repository's
	// sealing (a fresh random salt) does; otherwise a file is named by
	// its contents and saving the same bytes again is a no-op.
	Salted bool
	salts  uint64
}

// New returns an empty store.
func New() *MemStore { return &MemStore{files: map[repo.FileType]map[repo.ID][]byte{}} }

// NewID returns an empty store standing for the repository id.
func NewID(id string) *MemStore { m := New(); m.RepositoryID = id; return m }

// ID returns RepositoryID.
func (m *MemStore) ID() string { return m.RepositoryID }

// Clone returns a copy of the store as it is now (a medium copied aside,
// to be put back later).
func (m *MemStore) Clone() *MemStore {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewID(m.RepositoryID)
	c.Salted, c.salts = m.Salted, m.salts
	for t, fs := range m.files {
		c.files[t] = map[repo.ID][]byte{}
		for id, b := range fs {
			c.files[t][id] = append([]byte(nil), b...)
		}
	}
	return c
}

// SaveFile stores data.
func (m *MemStore) SaveFile(_ context.Context, t repo.FileType, data []byte) (repo.ID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailSave != nil {
		return repo.ID{}, m.FailSave
	}
	id := repo.ID(sha256.Sum256(data))
	if m.Salted {
		m.salts++
		id = repo.ID(sha256.Sum256(fmt.Appendf(append([]byte(nil), data...), "\x00%d", m.salts)))
	}
	if m.files[t] == nil {
		m.files[t] = map[repo.ID][]byte{}
	}
	if _, ok := m.files[t][id]; ok {
		// The same bytes under the same name: what two processes copying
		// one record at once do (a repository's sealing would even give
		// them two names).
		return id, nil
	}
	m.files[t][id] = append([]byte(nil), data...)
	m.Saves++
	return id, nil
}

// LoadFile returns a stored file.
func (m *MemStore) LoadFile(_ context.Context, t repo.FileType, id repo.ID) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[t][id]
	if !ok {
		return nil, fmt.Errorf("%s/%s: %w", t, id, ErrNotExist)
	}
	return append([]byte(nil), b...), nil
}

// ErrNotExist is returned for a missing file.
var ErrNotExist = errors.New("file does not exist")

// ListFiles lists the files of type t in ID order.
func (m *MemStore) ListFiles(_ context.Context, t repo.FileType, fn func(repo.ID) error) error {
	for _, id := range m.IDs(t) {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// IDs returns the IDs of the files of type t, sorted.
func (m *MemStore) IDs(t repo.FileType) []repo.ID {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]repo.ID, 0, len(m.files[t]))
	for id := range m.files[t] {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	return ids
}

// Replace overwrites a file's contents in place (tampering).
func (m *MemStore) Replace(t repo.FileType, id repo.ID, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[t][id] = append([]byte(nil), data...)
}

// Remove deletes a file (tampering).
func (m *MemStore) Remove(t repo.FileType, id repo.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files[t], id)
}

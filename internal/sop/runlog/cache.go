package runlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lpse/cadang/repo"
)

// logCache spares the commands that record a run the work that grows with
// the log. Every such command checks the repository's copy of the log when
// it opens the repository, and appends and syncs when it ends; each reads
// the whole local mirror and every record file, and the sync checks every
// local signature before it writes a head. At 3,650 records (ten years of
// one daily run) that was 0.7 s per command, and an LPSE server records
// several runs a day.
//
// Within one process it keeps each local line and each record file as
// decoded, so that each is decoded once. Across processes it keeps beside
// the local mirror the digests of the entries whose signatures held
// (".verified"), so that a command checks only the signatures of what is
// new since the last one, and the repositories' record files it has
// loaded or saved (".store", see storedFile), so that it loads only the
// new ones. What an entry's signatures say is a function of its bytes
// alone (the signed record or head, the signatures, and the signers named
// inside), and the digest covers all of them.
//
// Whoever can write the digests' file can also take the host's signing
// key beside it and sign as this host. But the file would also pass by
// the checks of everyday commands a forged signature of a key that is not
// on the server (the operator's countersigning key, a key given to
// trust); so 'log verify' never uses it and checks every signature itself.
type logCache struct {
	path  string // the file of verified digests
	store string // the directory of the repositories' record files, one file each

	mu     sync.Mutex
	lines  map[string]entry              // local lines as decoded, by their bytes
	files  map[repo.ID]entry             // record files as decoded (a file's ID is the SHA-256 of its bytes)
	loaded bool                          // valid holds the file's digests
	valid  map[[32]byte]bool             // entries whose signatures held
	added  [][32]byte                    // new digests, not yet in the file
	stored map[string]map[repo.ID][]byte // by repository ID: record files known, as loaded or saved
}

func newLogCache(logPath string) *logCache {
	base := strings.TrimSuffix(logPath, ".jsonl")
	return &logCache{
		path:   base + ".verified",
		store:  base + ".store",
		stored: map[string]map[repo.ID][]byte{},
		lines:  map[string]entry{},
		files:  map[repo.ID]entry{},
		valid:  map[[32]byte]bool{},
	}
}

// decodeLine returns the line decoded, from the cache when it was before.
// A repository's copy of a record holds the same bytes as the local line,
// so record files are decoded through it too.
func (c *logCache) decodeLine(where string, line []byte) entry {
	c.mu.Lock()
	e, ok := c.lines[string(line)]
	c.mu.Unlock()
	if !ok {
		e = decode("", append([]byte(nil), line...))
		c.mu.Lock()
		c.lines[string(line)] = e
		c.mu.Unlock()
	}
	e.where = where
	return e
}

// file returns the decoded record file id, if this process read it before.
func (c *logCache) file(id repo.ID) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.files[id]
	return e, ok
}

func (c *logCache) keepFile(id repo.ID, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[id] = e
}

// remember makes the entries check their signatures through c.
func (c *logCache) remember(es []entry) {
	for i := range es {
		es[i].vc = c
	}
}

// sigDigest identifies everything an entry's signature check depends on.
func sigDigest(e *entry) [32]byte {
	h := sha256.New()
	h.Write([]byte("cadang run-log verified v1\x00"))
	if e.isHead {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	for _, b := range [][]byte{[]byte(e.sig), []byte(e.cosig), e.raw} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// check is entry.checkSignatures, answered from the digests of entries
// that held before.
func (c *logCache) check(e *entry) (sigState, error) {
	if c == nil || (e.sig == "" && e.cosig == "") {
		return e.checkSignatures() // nothing to verify, or no cache
	}
	d := sigDigest(e)
	c.mu.Lock()
	if !c.loaded {
		c.load()
	}
	ok := c.valid[d]
	c.mu.Unlock()
	if ok {
		return sigValid, nil
	}
	st, err := e.checkSignatures()
	if st == sigValid {
		c.mu.Lock()
		if !c.valid[d] {
			c.valid[d] = true
			c.added = append(c.added, d)
		}
		c.mu.Unlock()
	}
	return st, err
}

// load reads the file of digests; c.mu is held. A missing or damaged file
// only costs signature checks.
func (c *logCache) load() {
	c.loaded = true
	b, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var d [32]byte
		if len(line) == 2*len(d) {
			if _, err := hex.Decode(d[:], line); err == nil {
				c.valid[d] = true
			}
		}
	}
}

// flush appends the new digests to the file, in one write so that a
// concurrent command's lines stay whole. Best effort: it is a cache.
func (c *logCache) flush() {
	c.mu.Lock()
	added := c.added
	c.added = nil
	c.mu.Unlock()
	if len(added) == 0 {
		return
	}
	var buf bytes.Buffer
	for _, d := range added {
		buf.WriteString(hex.EncodeToString(d[:]))
		buf.WriteByte('\n')
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	_, _ = f.Write(buf.Bytes())
	_ = f.Close()
}

// The record files of each repository that this host has loaded or saved
// are kept beside the mirror (".store/REPOSITORY-ID", a line "ID SHA-256
// CONTENTS" each), so that a command reads from the repository only the
// files that are new to it: on a remote repository each file is a
// request, and a repository gains two a run (the record and a head). A
// file is named by the SHA-256 of its stored bytes, which LoadFile checks,
// so a listed file holds what was kept of it unless it was damaged since
// (in that repository, or in another copy of it that shares its config
// ID). The everyday checks take the kept copy; 'log verify' and check read
// every file, and drop the kept copy of a damaged one (ForgetStored). The
// SHA-256 of a line only finds a torn one: the copies are trusted as the
// mirror beside them is, and whoever can write them can change what the
// everyday checks see, though not what 'log verify' sees, except through
// 'repair records' (RepairStore), which saves the kept copy of a damaged
// file back into the repository, where 'log verify' checks it as any file.

// storedFile returns the record file id of the repository repoID, if it
// is known.
func (c *logCache) storedFile(repoID string, id repo.ID) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.storedLocked(repoID)[id]
	return b, ok
}

// storedLocked returns the known record files of the repository repoID,
// read from their file the first time; c.mu is held.
func (c *logCache) storedLocked(repoID string) map[repo.ID][]byte {
	if m, ok := c.stored[repoID]; ok {
		return m
	}
	m := map[repo.ID][]byte{}
	c.stored[repoID] = m
	if !validRepoID(repoID) {
		return m
	}
	b, err := os.ReadFile(filepath.Join(c.store, repoID))
	if err != nil {
		return m
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		// A torn line only costs a load of the file.
		name, rest, _ := bytes.Cut(line, []byte(" "))
		sum, data, _ := bytes.Cut(rest, []byte(" "))
		id, err := repo.ParseID(string(name))
		if err != nil || string(sum) != contentSum(data) {
			continue
		}
		m[id] = data
	}
	return m
}

// contentSum is the check of a kept file's line: the SHA-256 of its
// contents, in hex.
func contentSum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// keepStored adds record files of repoID, as loaded or saved, to the
// known ones and to their file. Best effort: it is a cache.
func (c *logCache) keepStored(repoID string, files map[repo.ID][]byte) {
	if len(files) == 0 {
		return
	}
	var buf bytes.Buffer
	c.mu.Lock()
	m := c.storedLocked(repoID)
	for id, data := range files {
		if bytes.IndexByte(data, '\n') >= 0 {
			continue // not a line; loaded each time
		}
		m[id] = data
		buf.WriteString(id.String())
		buf.WriteByte(' ')
		buf.WriteString(contentSum(data))
		buf.WriteByte(' ')
		buf.Write(data)
		buf.WriteByte('\n')
	}
	c.mu.Unlock()
	if buf.Len() == 0 {
		return
	}
	_ = c.withStoreFile(repoID, func(f *os.File, size int64) error {
		var last [1]byte
		if size > 0 {
			if _, err := f.ReadAt(last[:], size-1); err == nil && last[0] != '\n' {
				// A line torn by a crash gets its end, so that these
				// start a line of their own.
				if _, err := f.Write([]byte("\n")); err != nil {
					return err
				}
			}
		}
		_, err := f.Write(buf.Bytes())
		return err
	})
}

// withStoreFile calls fn with the kept files of repoID open for appending
// and locked against other commands, and its size. Appends and
// ForgetStored's rewrite take turns so that no drop and no append is lost.
func (c *logCache) withStoreFile(repoID string, fn func(f *os.File, size int64) error) error {
	if !validRepoID(repoID) {
		return nil
	}
	if err := os.MkdirAll(c.store, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(c.store, repoID), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return err
	}
	defer unlockFile(f)
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return fn(f, fi.Size())
}

// validRepoID reports whether id can name a file: a repository's config
// ID is hex.
func validRepoID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// ForgetStored drops the kept copies of the record files ids of the
// repository repoID (see storedFile), so that the next command loads them
// from the repository again. 'log verify' and check call it for the files
// they found damaged: the next command then finds each such record
// missing from the repository, says so, and copies it in anew. A head is
// not dropped: the next run writes a newer one anyway, and a head gone
// missing would make the repository look like an older copy.
func (l *Log) ForgetStored(repoID string, ids ...repo.ID) {
	c := l.cache
	drop := map[repo.ID]bool{}
	c.mu.Lock()
	m := c.storedLocked(repoID)
	for _, id := range ids {
		if b, ok := m[id]; ok && c.decodeKept(b).isHead {
			continue
		}
		delete(m, id)
		delete(c.files, id)
		drop[id] = true
	}
	c.mu.Unlock()
	if len(drop) == 0 {
		return
	}
	_ = c.withStoreFile(repoID, func(f *os.File, size int64) error {
		b := make([]byte, size)
		if _, err := f.ReadAt(b, 0); err != nil {
			return err
		}
		var keep bytes.Buffer
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			name, _, _ := bytes.Cut(line, []byte(" "))
			if id, err := repo.ParseID(string(name)); err == nil && drop[id] {
				continue
			}
			keep.Write(line)
		}
		if keep.Len() == len(b) {
			return nil
		}
		// Rewritten in place under the lock: a crash in between leaves a
		// torn file, whose lines fail their SHA-256 and cost loads.
		if err := f.Truncate(0); err != nil {
			return err
		}
		_, err := f.Write(keep.Bytes())
		return err
	})
}

// decodeKept decodes a kept file's contents; c.mu is held.
func (c *logCache) decodeKept(b []byte) entry {
	if e, ok := c.lines[string(b)]; ok {
		return e
	}
	return decode("", b)
}

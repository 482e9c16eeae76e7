package runlog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lpse/cadang/internal/keep"
	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/sigkey"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"golang.org/x/sync/errgroup"
)

// RecordStore is what the run log needs from a repository: append-only,
// encrypted record files, and the repository's ID, which says which
// records concern it (Record.Concerns). *repo.Repository implements it.
// A file's ID names its content: whenever LoadFile succeeds for an ID, it
// returns the same bytes. The everyday checks rely on that to load a file
// once and keep it (logCache); a file damaged after that is found by 'log
// verify' and by check, which read every file.
type RecordStore interface {
	ID() string
	SaveFile(ctx context.Context, t repo.FileType, data []byte) (repo.ID, error)
	LoadFile(ctx context.Context, t repo.FileType, id repo.ID) ([]byte, error)
	ListFiles(ctx context.Context, t repo.FileType, fn func(id repo.ID) error) error
}

// ErrNotStored is wrapped by Append and Sync when the record is safe in the
// local mirror but could not be copied into the repository; the next Sync
// (every run does one) copies it.
var ErrNotStored = errors.New("record kept locally only")

// Options configure a Log.
type Options struct {
	Clock clock.Clock // default the system clock
	Rand  io.Reader   // for chain and record IDs; default crypto/rand
	// Host and Operator are put in records that lack them; defaults: the
	// host name and the OS user (the sudo user when run through sudo).
	Host, Operator string
	// KeyFile is the host's signing key (PEM PKCS #8 ed25519, mode 0600),
	// created by the first Append; default: beside the local mirror, its
	// name with ".key" for ".jsonl" (runlog.jsonl -> runlog.key).
	KeyFile string
	// Cosign, if set, countersigns every record appended: the operator's
	// key, kept off the server (--sign-key).
	Cosign ed25519.PrivateKey
	// Trust are the public keys (64 hex digits, or fingerprints) that
	// Verify accepts besides the host key: the key of the machine this one
	// replaced, the operator's key.
	Trust []string
	// Zone is the time zone of the times in the findings of Verify and
	// CheckRepository and in the errors of Sync, which name it ("WITA",
	// "UTC"): the CLI passes the zone every other time it prints is in.
	// Default UTC. Records keep their times as written.
	Zone *time.Location
	// IDZone is the zone of the date and time in the IDs that Append gives
	// records (YYYYMMDD-HHMMSS-xxxx): the organisation's, whatever zone
	// the server's clock or the display (--utc) is in, since an ID is
	// kept for good and people read the day of the run in it (a run at
	// 04:25 WITA on 8 December must not be 20261207-...). It is apart
	// from Zone, which --utc changes. Default: the zone of the clock's
	// times.
	IDZone *time.Location
}

// Log is the run log: a local JSON-lines mirror, and copies in repositories.
//
// Each line of the mirror, and each record file in a repository, is an
// envelope {"hash": H, "record": R} where H is the hex SHA-256 of the bytes
// of R exactly as stored. R carries its chain, its sequence number and the
// hash of the record before it, so that an altered, removed or reordered
// record breaks the chain.
type Log struct {
	path  string
	opt   Options
	cache *logCache
	// beforeLine, if set, is called between a record's notes and its line
	// (tests: what a kill there leaves).
	beforeLine func()
}

// Open returns the log whose local mirror is at path. It does no I/O; the
// file is created by the first Append.
func Open(path string, opt Options) *Log {
	opt.Clock = clock.Or(opt.Clock)
	if opt.Rand == nil {
		opt.Rand = rand.Reader
	}
	if opt.Host == "" {
		opt.Host, _ = os.Hostname()
	}
	if opt.Operator == "" {
		opt.Operator = DefaultOperator()
	}
	if opt.KeyFile == "" {
		opt.KeyFile = strings.TrimSuffix(path, ".jsonl") + ".key"
	}
	if opt.Zone == nil {
		opt.Zone = time.UTC
	}
	return &Log{path: path, opt: opt, cache: newLogCache(path)}
}

// recordID is the ID of a record logged at now: its date and time in
// Options.IDZone, then suffix.
func (l *Log) recordID(now time.Time, suffix string) string {
	if l.opt.IDZone != nil {
		now = now.In(l.opt.IDZone)
	}
	return now.Format("20060102-150405") + "-" + suffix
}

// KeyFile returns the path of the host's signing key.
func (l *Log) KeyFile() string { return l.opt.KeyFile }

// SigningKey returns the host's signing key, creating it on first use.
func (l *Log) SigningKey() (ed25519.PrivateKey, error) {
	k, _, err := sigkey.LoadOrCreate(l.opt.KeyFile, l.opt.Rand)
	return k, err
}

// PublicKey returns the public half of the host's signing key, creating
// the key on first use.
func (l *Log) PublicKey() (ed25519.PublicKey, error) {
	k, err := l.SigningKey()
	if err != nil {
		return nil, err
	}
	return sigkey.Public(k), nil
}

// trusted returns the keys Verify accepts: the host key if it exists (it
// is not created by a verification) and Options.Trust.
func (l *Log) trusted() (keyring, error) {
	kr := keyring{}
	pub, _, err := sigkey.LoadPublic(l.opt.KeyFile)
	switch {
	case err == nil:
		kr.add(sigkey.EncodePublic(pub))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	for _, p := range l.opt.Trust {
		kr.add(p)
	}
	return kr, nil
}

// DefaultOperator returns the OS user, or "USER (sudo)" for a user working
// as root through sudo.
func DefaultOperator() string {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if s := os.Getenv("SUDO_USER"); s != "" && name == "root" {
		return s + " (sudo)"
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	return name
}

// Path returns the local mirror's path.
func (l *Log) Path() string { return l.path }

// Now returns the log's clock time (for callers that fill Start and End).
func (l *Log) Now() time.Time { return l.opt.Clock.Now() }

// Host returns the host name put in records.
func (l *Log) Host() string { return l.opt.Host }

// Operator returns the operator put in records.
func (l *Log) Operator() string { return l.opt.Operator }

// entry is a record or a head as stored, with its envelope.
type entry struct {
	where    string // "line N" or "file ID"
	raw      []byte // the record (or head) bytes as stored
	hash     string // the hash stored in the envelope
	computed string // the hash of raw
	sig      string // the signer's signature (base64), "" if none
	cosig    string // the countersignature, "" if none
	rec      Record
	isHead   bool // a head file (repository only), not a record
	head     Head
	err      error // the envelope or record could not be parsed
	// the result of sigState, once computed
	sigDone bool
	sigSt   sigState
	sigErr  error
	// vc, when set, answers sigState from the signatures that held before
	// (logCache); 'log verify' leaves it nil and checks every one.
	vc *logCache
	// file is the record file the entry was read from (repository copies),
	// and damaged whether that file failed its checks or is no entry.
	file    repo.ID
	damaged bool
	// storeDamaged: the file fails the repository's own checks (its name
	// or its seal, repo.IsDamaged), which 'repair records' takes out;
	// damaged also holds for a file that opens but holds no entry.
	storeDamaged bool
}

// intact reports whether a record's hash and signatures hold (whoever
// the signer is: trust is Verify's business).
func (e *entry) intact() bool {
	if e.err != nil || e.isHead || e.hash != e.computed {
		return false
	}
	st, _ := e.sigState()
	return st == sigNone || st == sigValid
}

type envelope struct {
	Hash   string          `json:"hash"`
	Record json.RawMessage `json:"record"`
	Head   json.RawMessage `json:"head"`
	Sig    string          `json:"sig"`
	Cosig  string          `json:"cosig"`
}

func hashOf(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// encode returns the envelope of r and the record's hash. keys sign the
// record's bytes: the host key, then the operator's (none: unsigned, as
// records before signing were); r.Signer and r.Cosigner must name them.
func encode(r *Record, keys ...ed25519.PrivateKey) ([]byte, string, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, "", err
	}
	e := entry{raw: raw, hash: hashOf(raw)}
	if len(keys) > 0 {
		e.sig = signRecord(keys[0], raw)
	}
	if len(keys) > 1 {
		e.cosig = signRecord(keys[1], raw)
	}
	line, _, err := envelopeOf(e)
	return line, e.hash, err
}

func decode(where string, b []byte) entry {
	e := entry{where: where}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		e.err = fmt.Errorf("not a run log entry: %v", err)
		return e
	}
	e.sig, e.cosig = env.Sig, env.Cosig
	if env.Head != nil && env.Record == nil {
		e.isHead, e.raw = true, env.Head
		if err := json.Unmarshal(env.Head, &e.head); err != nil {
			e.err = fmt.Errorf("not a run log head: %v", err)
		}
		return e
	}
	e.raw, e.hash = env.Record, env.Hash
	e.computed = hashOf(env.Record)
	if err := json.Unmarshal(env.Record, &e.rec); err != nil {
		e.err = fmt.Errorf("not a run log record: %v", err)
		return e
	}
	e.rec.Hash = e.hash
	return e
}

// readLocal reads the mirror. A missing file is an empty log.
func (l *Log) readLocal() ([]entry, error) {
	b, err := os.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run log: %w", err)
	}
	type numbered struct {
		n    int
		line []byte
	}
	lines := make([]numbered, 0, bytes.Count(b, []byte("\n"))+1)
	for n := 1; len(b) > 0; n++ {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) >= maxLine {
			return nil, fmt.Errorf("run log %s: line %d: %w", l.path, n, bufio.ErrTooLong)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines = append(lines, numbered{n, line})
	}
	// Every recorded command reads the whole mirror before its own work
	// (it checks the repository's copy when it opens it), and decoding is
	// most of that: 15-30 us a record, so tens of milliseconds on a
	// server's log after a year. It is spread over the cores, which are
	// idle at that point.
	out := make([]entry, len(lines))
	workers := min(runtime.GOMAXPROCS(0), (len(lines)+255)/256)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += workers {
				out[i] = l.cache.decodeLine(fmt.Sprintf("line %d", lines[i].n), lines[i].line)
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// maxLine bounds a line of the mirror (one as long is an error): far
// beyond any record, and a bound on what a damaged file makes a command
// decode.
const maxLine = 16 << 20

// Records returns the records of the local mirror in file order. Entries
// that cannot be parsed are left out (Verify reports them); entries whose
// hash does not match are returned as they are.
func (l *Log) Records() ([]Record, error) {
	es, err := l.readLocal()
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(es))
	for _, e := range es {
		if e.err == nil {
			out = append(out, e.rec)
		}
	}
	return out, nil
}

// Find returns the record with the given ID from the local mirror. A unique
// prefix of at least 6 characters is accepted; "latest" with op returns the
// last record of that operation.
func (l *Log) Find(id string, op Operation) (Record, error) {
	recs, err := l.Records()
	if err != nil {
		return Record{}, err
	}
	return FindRecord(recs, id, op)
}

// ErrNoRecord is wrapped by the errors of FindRecord when no record
// matches, so that a caller can say which run log it looked in.
var ErrNoRecord = errors.New("no such record")

// FindRecord looks a record up by ID, unique prefix, or "latest" (of op if
// op is not empty).
func FindRecord(recs []Record, id string, op Operation) (Record, error) {
	if id == "latest" || id == "" {
		for i := len(recs) - 1; i >= 0; i-- {
			if op == "" || recs[i].Op == op {
				return recs[i], nil
			}
		}
		return Record{}, fmt.Errorf("run log has no %s record: %w", op, ErrNoRecord)
	}
	var found []Record
	for _, r := range recs {
		if r.ID == id {
			return r, nil
		}
		if len(id) >= 6 && len(r.ID) > len(id) && r.ID[:len(id)] == id {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return Record{}, fmt.Errorf("run log has no record %q: %w", id, ErrNoRecord)
	case 1:
		return found[0], nil
	}
	return Record{}, fmt.Errorf("record ID prefix %q is ambiguous (%d records)", id, len(found))
}

// Append adds rec to the log: it sets the chain fields, the ID (unless
// set), Logged, and Host and Operator when empty, writes the record to the
// local mirror, and then, if store is not nil, copies every record the store
// lacks into it (see Sync). It returns the record as written.
//
// The local write comes first and is what counts: if it fails, Append
// returns an error and the record is lost. If only the copy into the store
// fails, the error wraps ErrNotStored and the record is still returned.
func (l *Log) Append(ctx context.Context, rec Record, store RecordStore) (Record, error) {
	storeID := ""
	if store != nil {
		storeID = store.ID()
	}
	rec, err := l.appendLocal(rec, storeID)
	if err != nil && !errors.Is(err, ErrUnsigned) {
		return rec, err
	}
	if store != nil {
		if _, serr := l.Sync(ctx, store); serr != nil {
			return rec, errors.Join(err, serr)
		}
	}
	return rec, err
}

// appendLocal writes rec to the local mirror. Before the line, under the
// log's lock, it notes the record as pending for every repository it
// concerns (see pendingNotes): storeID's, which Append copies it into next,
// and the others, which a later command that opens them does. A command
// killed before its copy then leaves a record that Verify reports as not
// copied yet, not as removed from the repository; Sync takes the note out
// once the repository holds the record.
func (l *Log) appendLocal(rec Record, storeID string) (Record, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return rec, fmt.Errorf("run log: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return rec, fmt.Errorf("run log: %w", err)
	}
	defer f.Close()
	// Concurrent cadang processes on this machine take turns, so the chain
	// stays linear.
	if err := lockFile(f); err != nil {
		return rec, fmt.Errorf("run log: lock %s: %w", l.path, err)
	}
	defer unlockFile(f)

	es, err := l.readLocal()
	if err != nil {
		return rec, err
	}
	// Continue from the entry with the highest sequence number; a damaged
	// log is reported by Verify but must not stop the recording of runs.
	var last *entry
	for i := range es {
		if es[i].err == nil && (last == nil || es[i].rec.Seq > last.rec.Seq) {
			last = &es[i]
		}
	}
	now := l.opt.Clock.Now()
	if last == nil {
		rec.Chain, err = l.randomHex(8)
		if err != nil {
			return rec, err
		}
		rec.Seq, rec.Prev = 1, ""
	} else {
		rec.Chain, rec.Seq, rec.Prev = last.rec.Chain, last.rec.Seq+1, last.hash
	}
	if rec.ID == "" {
		suffix, err := l.randomHex(2)
		if err != nil {
			return rec, err
		}
		rec.ID = l.recordID(now, suffix)
	}
	rec.Logged = now
	if rec.Host == "" {
		rec.Host = l.opt.Host
	}
	if rec.Operator == "" {
		rec.Operator = l.opt.Operator
	}
	if rec.DurationMS == 0 && !rec.Start.IsZero() && !rec.End.IsZero() {
		rec.DurationMS = rec.End.Sub(rec.Start).Milliseconds()
	}
	rec.Hash, rec.Signer, rec.Cosigner = "", "", ""
	// The record is signed under the lock, so that a key made by this
	// first use is the one every later record carries. A key that cannot
	// be had does not stop the recording of the run: the record is
	// written unsigned, which Verify reports as an error once signed
	// records exist, and the caller is warned.
	var keys []ed25519.PrivateKey
	hostKey, keyErr := l.SigningKey()
	if keyErr == nil {
		rec.Signer = sigkey.EncodePublic(sigkey.Public(hostKey))
		keys = append(keys, hostKey)
		if l.opt.Cosign != nil {
			rec.Cosigner = sigkey.EncodePublic(sigkey.Public(l.opt.Cosign))
			keys = append(keys, l.opt.Cosign)
		}
	}
	line, h, err := encode(&rec, keys...)
	if err != nil {
		return rec, fmt.Errorf("run log: %w", err)
	}
	// A note that is written for a line that then is not is inert: no
	// local record has its hash.
	l.writeNotes(pendingNotes(rec, h, storeID, es), true)
	if l.beforeLine != nil {
		l.beforeLine()
	}
	if err := l.writeLine(f, line); err != nil {
		return rec, err
	}
	rec.Hash = h
	if keyErr != nil {
		return rec, unsignedError{fmt.Errorf("run log: record %s written unsigned: %w", rec.ID, keyErr)}
	}
	return rec, nil
}

// writeLine appends line and a newline to the log file f (opened for
// appending, and locked), all or nothing: a write or sync that fails (a full
// disk) is cut back to the size the file had, so that no partial line is
// left for the next record to be glued onto, and the error says the record
// was not written. A log that does not end in a newline (torn by a crash
// outside cadang's control) gets one first, so the new record stands on a
// line of its own; the torn line stays for Verify to report.
func (l *Log) writeLine(f *os.File, line []byte) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("run log: %w", err)
	}
	start := fi.Size()
	buf := make([]byte, 0, len(line)+2)
	if start > 0 {
		last := make([]byte, 1)
		if rf, err := os.Open(l.path); err == nil {
			_, rerr := rf.ReadAt(last, start-1)
			rf.Close()
			if rerr == nil && last[0] != '\n' {
				buf = append(buf, '\n')
			}
		}
	}
	buf = append(append(buf, line...), '\n')
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		if terr := f.Truncate(start); terr != nil {
			return fmt.Errorf("run log: write %s: %w; cutting it back to %d bytes failed too: %v", l.path, err, start, terr)
		}
		_ = f.Sync()
		return fmt.Errorf("run log: write %s: %w (the record was not written; the log is as it was)", l.path, err)
	}
	return nil
}

// ErrUnsigned is matched (errors.Is) by the error of Append when the
// record was written, but without a signature, because the host's signing
// key could not be read or made. That error matches ErrNotStored too, so
// that callers that go on after a record kept locally only go on after
// this, with a warning: losing the record would be worse, and Verify
// reports an unsigned record after signed ones as an error.
var ErrUnsigned = errors.New("record written unsigned")

type unsignedError struct{ error }

func (unsignedError) Is(target error) bool { return target == ErrUnsigned || target == ErrNotStored }
func (e unsignedError) Unwrap() error      { return e.error }

func (l *Log) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(l.opt.Rand, b); err != nil {
		return "", fmt.Errorf("run log: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// readStore loads every record file of a store.
func readStore(ctx context.Context, store RecordStore) ([]entry, error) {
	return readStoreWith(ctx, store, nil)
}

// readStore is readStore through the log's cache: a record file that this
// process read before, or that this host loaded or saved before (kept
// beside the mirror), is not loaded again. (A file's ID is the SHA-256 of
// its bytes, which LoadFile checks: the same ID is the same record, unless
// the file was damaged since; see storedFile.)
func (l *Log) readStore(ctx context.Context, store RecordStore) ([]entry, error) {
	return readStoreWith(ctx, store, l.cache)
}

func readStoreWith(ctx context.Context, store RecordStore, c *logCache) ([]entry, error) {
	var ids []repo.ID
	if err := store.ListFiles(ctx, repo.RecordFile, func(id repo.ID) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, err
	}
	// Several at a time: a repository holds a file per record and per
	// head, and on a remote one each is a request (a year of daily runs
	// is some 700 files, 14 s one after another at 20 ms each). With the
	// log's cache, only the files new to this host are loaded at all.
	out := make([]entry, len(ids))
	loaded := make([][]byte, len(ids))
	var g errgroup.Group
	g.SetLimit(storeLoads)
	for i, id := range ids {
		where := "file " + id.Short()
		if c != nil {
			if e, ok := c.file(id); ok {
				out[i] = e
				continue
			}
			if b, ok := c.storedFile(store.ID(), id); ok {
				if e := c.decodeLine(where, b); e.err == nil {
					out[i] = e
					c.keepFile(id, e)
					continue
				} // a kept copy that is no entry: load the file itself
			}
		}
		g.Go(func() error {
			b, err := store.LoadFile(ctx, repo.RecordFile, id)
			if err != nil {
				d := repo.IsDamaged(err)
				out[i] = entry{where: where, file: id, damaged: d, storeDamaged: d, err: fmt.Errorf("cannot load: %v", err)}
				return nil
			}
			var e entry
			if c == nil {
				e = decode(where, b)
			} else {
				e = c.decodeLine(where, b)
			}
			e.file, e.damaged = id, e.err != nil
			out[i] = e
			if c != nil {
				c.keepFile(id, e)
				loaded[i] = b
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines return no error: a file that cannot be loaded is an entry that says so
	if c != nil {
		fresh := map[repo.ID][]byte{}
		for i, b := range loaded {
			if b != nil && out[i].err == nil {
				fresh[ids[i]] = b
			}
		}
		c.keepStored(store.ID(), fresh)
	}
	return out, nil
}

// storeLoads is how many record files are loaded at once.
const storeLoads = 8

// StoreRecords returns the records kept in a repository, ordered by chain
// and sequence number; for when the local mirror is lost.
func StoreRecords(ctx context.Context, store RecordStore) ([]Record, error) {
	es, err := readStore(ctx, store)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Record
	for _, e := range es {
		if e.err == nil && !e.isHead && !seen[e.computed] {
			seen[e.computed] = true
			out = append(out, e.rec)
		}
	}
	sortRecords(out)
	return out, nil
}

// Sync copies into store every intact record of the local mirror that
// concerns the store's repository (Record.Concerns) and that the store
// does not hold yet: the records of runs whose copy failed, and those
// made while another medium of the rotation was connected. Records of
// other repositories are not copied: whoever holds one repository's
// password must not read the paths and IDs of the others. Damaged local
// entries (altered, or signed with a signature that does not hold) are
// not copied.
//
// Then it writes a head (Head) into the store, signed with the host key:
// the last record of the local chain and the last one that concerns the
// store. It does not when the local mirror has problems (Verify), so that
// a rewritten local log is not sealed into the repository as genuine; the
// error then says so.
//
// It returns how many records were copied. Its errors wrap ErrNotStored;
// a record that could not be copied is noted in a file beside the local
// mirror (".pending"), which Verify reads to tell a copy known to have
// failed from a record removed from the repository.
func (l *Log) Sync(ctx context.Context, store RecordStore) (int, error) {
	return l.sync(ctx, store, false)
}

// AcceptRepository is Sync for a repository that is older than the run log
// says (RolledBack): it writes the head all the same, so that an older copy
// put back on purpose (the medium restored from its offsite copy) is
// accepted from now on. Sync alone leaves such a repository's head behind,
// so that every command keeps warning about it and check keeps failing.
func (l *Log) AcceptRepository(ctx context.Context, store RecordStore) (int, error) {
	return l.sync(ctx, store, true)
}

func (l *Log) sync(ctx context.Context, store RecordStore, accept bool) (int, error) {
	repoID := store.ID()
	local, err := l.readLocal()
	if err != nil {
		return 0, err
	}
	// The heads this host wrote are read before the repository, so that
	// one written by a concurrent process in between is seen in both or
	// in neither (it is noted after it is saved).
	known := l.writtenHeads(repoID)
	remote, err := l.readStore(ctx, store)
	if err != nil {
		// Which records the repository lacks is not known: the newest
		// local record is the one this sync was for.
		l.notePending(local, repoID, nil, err)
		return 0, fmt.Errorf("%w: list records in repository: %v", ErrNotStored, err)
	}
	have := make(map[string]bool, len(remote))
	for _, e := range remote {
		if e.err == nil && !e.isHead {
			have[e.computed] = true
		}
	}
	// Signatures that held before are not checked again (logCache), and
	// a record the repository has is not checked here at all.
	l.cache.remember(local)
	l.cache.remember(remote)
	defer l.cache.flush()
	concerns := concerned(repoID, local)
	n := 0
	for i := range local {
		e := &local[i]
		if have[e.computed] || !concerns(&e.rec) || !e.intact() {
			continue
		}
		line, _, err := envelopeOf(*e)
		if err != nil {
			return n, err
		}
		id, err := store.SaveFile(ctx, repo.RecordFile, line)
		if err != nil {
			// The records copied before this one are in the repository:
			// their notes go, or a later removal of one would read as a
			// copy still to come.
			l.dropPending(repoID, have)
			l.notePending(local, repoID, have, err)
			return n, fmt.Errorf("%w: save record %s (seq %d) in repository: %v", ErrNotStored, e.rec.ID, e.rec.Seq, err)
		}
		l.cache.keepStored(repoID, map[repo.ID][]byte{id: line})
		have[e.computed] = true
		n++
	}
	l.dropPending(repoID, have)
	return n, l.writeHead(ctx, store, local, remote, known, accept)
}

// writeHead writes the head of the local chain into store, unless an
// equal one is there.
func (l *Log) writeHead(ctx context.Context, store RecordStore, local, remote []entry, written map[[2]string]Head, accept bool) error {
	chain, bySeq, top := mainChain(local)
	if chain == "" {
		return nil
	}
	trusted, err := l.trusted()
	if err != nil {
		return fmt.Errorf("%w: head not written: %v", ErrNotStored, err)
	}
	// A repository whose newest head is behind the last head this host
	// wrote into it is an older copy: a new head would hide that.
	if known, ok := written[[2]string{store.ID(), chain}]; ok && !accept {
		if newest := newestHead(remote, chain, store.ID(), trusted); newest == nil || newest.Last < known.Last {
			at := uint64(0)
			if newest != nil {
				at = newest.Last
			}
			return fmt.Errorf("%w: head not written: repository %s is older than the run log (its newest head ends at seq %d; this host wrote one up to seq %d on %s); check it with 'cadang log verify' and accept it there with --accept-rollback",
				ErrNotStored, short(store.ID()), at, known.Last, stamp(known.Written, l.opt.Zone))
		}
	}
	if _, fs := checkCopy("local", local, true, trusted, l.opt.Zone); hasErrors(fs) {
		return fmt.Errorf("%w: head not written into the repository: the local run log has problems (%s); run 'cadang log verify'", ErrNotStored, fs[0])
	}
	k, err := l.SigningKey()
	if err != nil {
		return fmt.Errorf("%w: head not written: %v", ErrNotStored, err)
	}
	h := Head{Chain: chain, Seq: top, Hash: bySeq[top].hash, RepositoryID: store.ID(),
		Written: l.opt.Clock.Now(), Signer: sigkey.EncodePublic(sigkey.Public(k))}
	concerns := concerned(h.RepositoryID, local)
	for s := uint64(1); s <= top; s++ {
		if e := bySeq[s]; e != nil && concerns(&e.rec) {
			h.Last, h.Count = s, h.Count+1
		}
	}
	for _, e := range remote {
		if e.isHead && e.err == nil && e.head.Chain == h.Chain && e.head.Seq == h.Seq && e.head.Hash == h.Hash &&
			e.head.Last == h.Last && e.head.Count == h.Count && e.head.Signer == h.Signer {
			return nil
		}
	}
	b, err := encodeHead(&h, k)
	if err != nil {
		return err
	}
	id, err := store.SaveFile(ctx, repo.RecordFile, b)
	if err != nil {
		return fmt.Errorf("%w: save head (seq %d) in repository: %v", ErrNotStored, h.Seq, err)
	}
	l.cache.keepStored(store.ID(), map[repo.ID][]byte{id: b})
	l.noteHead(h)
	return nil
}

func (l *Log) headsPath() string { return strings.TrimSuffix(l.path, ".jsonl") + ".heads" }

// noteHead remembers, beside the local mirror (".heads", JSON lines of
// Head), the head written into a repository, so that a repository put back
// from an older copy is known for one: its newest head is behind this.
//
// Every recorded command writes a head, and every one reads the file
// twice, so it is compacted once it grows past headsCompactAt: to the
// line writtenHeads takes for each repository and chain. Before, it grew
// by a line a command for ever (1,170 lines, 19 ms of every command's
// time after a few hundred benchmark runs).
func (l *Log) noteHead(h Head) {
	b, err := json.Marshal(h)
	if err != nil {
		return
	}
	// Best effort, as before: a head not noted weakens the next
	// command's check for an older copy, it loses nothing.
	_ = withHeadsFile(l.headsPath(), func(f *os.File) error {
		n, err := f.Write(append(b, '\n'))
		if err != nil {
			return err
		}
		return compactHeads(f, l.headsPath(), int64(n))
	})
}

// headsCompactAt is the size of the heads file above which it is
// compacted, where that drops at least half its lines: a few hundred
// heads. It is tried when the file grows past a power of two, so that a
// file of many repositories' heads, which does not shrink, is not parsed
// again at every head.
const headsCompactAt = 64 << 10

// withHeadsFile runs fn on the heads file at path, opened for appending
// and locked against the other processes of this host. A compaction
// replaces the file by rename while holding the old one's lock, so a
// writer that got the lock on a file no longer at path opens it again:
// its line would be lost in the unlinked one.
func withHeadsFile(path string, fn func(*os.File) error) error {
	for range 8 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			return err
		}
		held, err1 := f.Stat()
		named, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, named) {
			err = fn(f)
			unlockFile(f)
			f.Close()
			return err
		}
		unlockFile(f)
		f.Close()
	}
	return fmt.Errorf("heads file %s: replaced while it was opened, 8 times", path)
}

// compactHeads rewrites the heads file f, locked, at path with only the
// line each repository and chain is known by (latestHeads), when the
// appended bytes took it past headsCompactAt or a power of two above,
// and that drops at least half of it.
func compactHeads(f *os.File, path string, appended int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size < headsCompactAt || bits.Len64(uint64(size-appended)) == bits.Len64(uint64(size)) {
		return nil
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return err
	}
	lines := bytes.Count(b, []byte("\n"))
	_, keep := latestHeads(b, "")
	if len(keep) > lines/2 {
		return nil
	}
	var out []byte
	for _, line := range keep {
		out = append(append(out, line...), '\n')
	}
	// What a compaction died before renaming (only a compaction writes
	// these, under the lock held here). Names, not a glob: the run log's
	// directory may hold pattern characters.
	dir, prefix := filepath.Dir(path), filepath.Base(path)+".tmp-"
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	tmp, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return err
	}
	err = keepAccess(tmp, fi)
	if err == nil {
		_, err = tmp.Write(out)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// keepAccess gives the new file f the mode, and the owner and group, of
// the file it replaces (old): a run log shared by a backup user and the
// administrators must not become root's alone because an administrator's
// command compacted it. A user who may not give the file away keeps its
// group (the mode's group bits are what share it); where even that is
// refused, the file is not compacted.
func keepAccess(f *os.File, old os.FileInfo) error {
	if err := f.Chmod(old.Mode().Perm()); err != nil {
		return err
	}
	want, ok1 := old.Sys().(*syscall.Stat_t)
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	have, ok2 := fi.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 || (want.Uid == have.Uid && want.Gid == have.Gid) {
		return nil
	}
	if f.Chown(int(want.Uid), int(want.Gid)) == nil {
		return nil
	}
	// Not root: the file becomes this user's, in its group.
	if want.Gid == have.Gid {
		return nil
	}
	return f.Chown(-1, int(want.Gid))
}

// latestHeads parses the heads file's bytes: the head each repository
// and chain is known by (the one with the highest Last, the later line of
// equals), and those lines in file order. Lines that are not heads are
// passed over.
//
// With repoID set, only that repository's heads are taken, and the other
// lines are not parsed.
func latestHeads(b []byte, repoID string) (map[[2]string]Head, [][]byte) {
	out := map[[2]string]Head{}
	at := map[[2]string]int{}
	type taken struct {
		k    [2]string
		line []byte
	}
	var lines []taken
	for _, line := range bytes.Split(b, []byte("\n")) {
		if repoID != "" && !bytes.Contains(line, []byte(repoID)) {
			continue
		}
		var h Head
		if json.Unmarshal(line, &h) != nil || h.RepositoryID == "" || (repoID != "" && h.RepositoryID != repoID) {
			continue
		}
		k := [2]string{h.RepositoryID, h.Chain}
		if o, ok := out[k]; !ok || h.Last >= o.Last {
			out[k] = h
			at[k] = len(lines)
			lines = append(lines, taken{k, line})
		}
	}
	keep := make([][]byte, 0, len(at))
	for i, t := range lines {
		if at[t.k] == i {
			keep = append(keep, t.line)
		}
	}
	return out, keep
}

// writtenHeads returns the last head this host wrote into the repository
// repoID, by repository ID and chain.
func (l *Log) writtenHeads(repoID string) map[[2]string]Head {
	b, err := os.ReadFile(l.headsPath())
	if err != nil || repoID == "" {
		return map[[2]string]Head{}
	}
	out, _ := latestHeads(b, repoID)
	return out
}

// concerned returns the test of the records that concern the repository
// repoID: those that Record.Concerns says are about it, and the
// follow-ups of those among es (a follow-up names its run only by ID).
func concerned(repoID string, es ...[]entry) func(*Record) bool {
	ids := map[string]bool{}
	for _, list := range es {
		for i := range list {
			if e := &list[i]; e.err == nil && !e.isHead && e.rec.Concerns(repoID) {
				ids[e.rec.ID] = true
			}
		}
	}
	return func(r *Record) bool {
		return r.Concerns(repoID) || (r.Op == OpFollowup && r.Ref != "" && ids[r.Ref])
	}
}

// mainChain returns the chain of the local mirror's newest record (a
// mirror holds one chain unless it was moved between machines), its intact
// or not entries by seq (the first of each seq), and its highest seq.
func mainChain(es []entry) (string, map[uint64]*entry, uint64) {
	var chain string
	var top uint64
	for i := range es {
		if e := &es[i]; e.err == nil && !e.isHead && (chain == "" || e.rec.Seq > top) {
			chain, top = e.rec.Chain, e.rec.Seq
		}
	}
	bySeq := map[uint64]*entry{}
	for i := range es {
		e := &es[i]
		if e.err == nil && !e.isHead && e.rec.Chain == chain && bySeq[e.rec.Seq] == nil {
			bySeq[e.rec.Seq] = e
		}
	}
	return chain, bySeq, top
}

// pendingNote is a line of the ".pending" file: a record that could not be
// copied into the repository that it concerns, and why.
type pendingNote struct {
	RepositoryID string    `json:"repository_id"`
	Seq          uint64    `json:"seq"`
	Hash         string    `json:"hash"`
	At           time.Time `json:"at"`
	Error        string    `json:"error"`
	// ReadOnly: the copy failed because the repository's storage refused
	// to be written (a medium mounted read-only, a read-only or
	// append-only server). A reader there cannot copy its own record,
	// which is expected: status does not warn of it (Health). A later
	// failed copy notes the record again without it, and that note,
	// the last, counts.
	ReadOnly bool `json:"read_only,omitempty"`
}

func (l *Log) pendingPath() string { return strings.TrimSuffix(l.path, ".jsonl") + ".pending" }

// Texts of the pending notes that Append writes before the record (the
// copy into the store that follows, and repositories not open now).
const (
	noteUncopied = "the command that recorded it stopped before copying it: killed, or the machine went down"
	noteNotOpen  = "not open when the record was made, or not the one written"
)

// pendingNotes returns the notes for rec (hash h), about to be appended
// after the local entries es, for each repository it concerns: storeID's,
// which the record is copied into right after, and any other, which is not
// open now (a follow-up made away from the medium, a copy's source that is
// not the store) and gets the record when a command that opens it syncs.
func pendingNotes(rec Record, h, storeID string, es []entry) []pendingNote {
	// The repositories Record.Concerns names, and for a follow-up those of
	// the record it follows up, as concerned (which Sync and Verify use)
	// counts them.
	cand := []string{rec.RepositoryID, fromID(rec.Copy)}
	if rec.Op == OpFollowup && rec.Ref != "" {
		if ref, err := FindRecord(recordsOf(es), rec.Ref, ""); err == nil {
			cand = append(cand, ref.RepositoryID, fromID(ref.Copy))
		}
	}
	var ids []string
	for _, id := range cand {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	notes := make([]pendingNote, 0, len(ids))
	for _, id := range ids {
		why := noteNotOpen
		if id == storeID {
			why = noteUncopied
		}
		notes = append(notes, pendingNote{RepositoryID: id, Seq: rec.Seq, Hash: h, At: rec.Logged, Error: why})
	}
	return notes
}

// notePending notes the records of repoID not (yet) in it after a failed
// copy: those not in have, or with have nil, the newest local record if it
// concerns repoID. Best effort: the note only softens what Verify says.
func (l *Log) notePending(local []entry, repoID string, have map[string]bool, cause error) {
	now := l.opt.Clock.Now()
	readOnly := refusedReadOnly(cause)
	concerns := concerned(repoID, local)
	_, bySeq, top := mainChain(local)
	var notes []pendingNote
	for i := range local {
		e := &local[i]
		missing := have != nil && !have[e.computed] || have == nil && bySeq[top] != nil && e.computed == bySeq[top].computed
		if missing && e.intact() && concerns(&e.rec) {
			notes = append(notes, pendingNote{RepositoryID: repoID, Seq: e.rec.Seq, Hash: e.computed, At: now, Error: cause.Error(), ReadOnly: readOnly})
		}
	}
	if len(notes) > 0 {
		_ = l.withLogLock(func() error { l.writeNotes(notes, false); return nil })
	}
}

// refusedReadOnly reports whether err is the refusal of storage that is
// read-only (repo.ReadOnlyError, EROFS from a local medium, or a remote
// backend's backend.ErrReadOnly).
func refusedReadOnly(err error) bool {
	var ro *repo.ReadOnlyError
	return errors.As(err, &ro) || errors.Is(err, syscall.EROFS) || errors.Is(err, backend.ErrReadOnly)
}

// writeNotes appends notes to the ".pending" file, and syncs it if asked.
// The caller holds the log's lock, which every writer of the file takes, so
// that dropPending never loses a note written beside it. Best effort: a
// note that cannot be written only leaves Verify's finding harsher.
func (l *Log) writeNotes(notes []pendingNote, sync bool) {
	if len(notes) == 0 {
		return
	}
	_, statErr := os.Stat(l.pendingPath())
	f, err := os.OpenFile(l.pendingPath(), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	var buf []byte
	// A line torn by a crash would swallow the first note.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			buf = append(buf, '\n')
		}
	}
	for _, n := range notes {
		b, _ := json.Marshal(n)
		buf = append(append(buf, b...), '\n')
	}
	if _, err := f.Write(buf); err == nil && sync {
		_ = f.Sync()
		if os.IsNotExist(statErr) {
			_ = keep.SyncDir(filepath.Dir(l.pendingPath()))
		}
	}
}

// dropPending takes out of the ".pending" file the notes about repoID whose
// records it now holds (have, by hash), so that a record removed from the
// repository later is reported as removed, not as a copy still to come, and
// the file does not grow with every record. It rewrites the file under the
// log's lock, into a new file renamed over the old one, and only when a
// note goes. Best effort, like the notes.
func (l *Log) dropPending(repoID string, have map[string]bool) {
	_ = l.withLogLock(func() error {
		b, err := os.ReadFile(l.pendingPath())
		if err != nil {
			return err
		}
		var kept []byte
		dropped := false
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			var p pendingNote
			if json.Unmarshal(line, &p) != nil || p.RepositoryID == repoID && have[p.Hash] {
				// A line that does not parse (torn by a crash) is
				// dropped too: it notes nothing.
				dropped = dropped || len(bytes.TrimSpace(line)) > 0
				continue
			}
			kept = append(kept, line...)
			if !bytes.HasSuffix(line, []byte("\n")) {
				kept = append(kept, '\n')
			}
		}
		if !dropped {
			return nil
		}
		tmp := l.pendingPath() + ".tmp"
		if err := writeFileSync(tmp, kept); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Rename(tmp, l.pendingPath()); err != nil {
			return err
		}
		// Else a crash could bring the old file back without the notes
		// written after the rename.
		return keep.SyncDir(filepath.Dir(l.pendingPath()))
	})
}

// writeFileSync writes b to a new file at path (mode 0600) and syncs it.
func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// withLogLock runs fn holding the lock that appendLocal takes on the local
// mirror. It fails, without running fn, when the mirror does not exist.
func (l *Log) withLogLock(fn func() error) error {
	// Opened for writing: on NFS an exclusive flock is a write lock.
	f, err := os.OpenFile(l.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return err
	}
	defer unlockFile(f)
	return fn()
}

func fromID(c *CopyInfo) string {
	if c == nil {
		return ""
	}
	return c.FromID
}

func recordsOf(es []entry) []Record {
	out := make([]Record, 0, len(es))
	for _, e := range es {
		if e.err == nil && !e.isHead {
			out = append(out, e.rec)
		}
	}
	return out
}

// readPending returns the notes of failed copies by record hash and
// repository.
func (l *Log) readPending() map[[2]string]pendingNote {
	out := map[[2]string]pendingNote{}
	b, err := os.ReadFile(l.pendingPath())
	if err != nil {
		return out
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var p pendingNote
		if json.Unmarshal(line, &p) == nil {
			out[[2]string{p.Hash, p.RepositoryID}] = p
		}
	}
	return out
}

// PendingCopies returns the sequence numbers of the records that the
// local run log holds for repository repoID and has noted as not (yet)
// copied into it, in order: what a command that could not write there
// leaves for the next one that can (a medium mounted read-only).
func (l *Log) PendingCopies(repoID string) []uint64 {
	var seqs []uint64
	for _, p := range l.readPending() {
		if p.RepositoryID == repoID {
			seqs = append(seqs, p.Seq)
		}
	}
	slices.Sort(seqs)
	return slices.Compact(seqs)
}

// envelopeOf rebuilds the envelope of a stored entry with the exact record
// bytes and its signatures.
func envelopeOf(e entry) ([]byte, string, error) {
	line := make([]byte, 0, len(e.raw)+300)
	line = append(line, `{"hash":"`...)
	line = append(line, e.hash...)
	line = append(line, `","record":`...)
	line = append(line, e.raw...)
	if e.sig != "" {
		line = append(line, `,"sig":"`...)
		line = append(line, e.sig...)
		line = append(line, '"')
	}
	if e.cosig != "" {
		line = append(line, `,"cosig":"`...)
		line = append(line, e.cosig...)
		line = append(line, '"')
	}
	line = append(line, '}')
	return line, e.hash, nil
}

// Merge returns the records of a and b without duplicates (a record is
// identified by its chain and sequence number), ordered like Records. A
// report made on a replacement machine merges the repository's records
// (StoreRecords) into its own, empty or younger, local mirror.
func Merge(a, b []Record) []Record {
	type key struct {
		chain string
		seq   uint64
	}
	seen := make(map[key]bool, len(a)+len(b))
	out := make([]Record, 0, len(a)+len(b))
	for _, rs := range [][]Record{a, b} {
		for _, r := range rs {
			k := key{r.Chain, r.Seq}
			if !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
	}
	sortRecords(out)
	return out
}

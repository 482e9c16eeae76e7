package runlog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/repo"
)

// RecordStore is what the run log needs from a repository: append-only,
// encrypted record files. *repo.Repository implements it.
type RecordStore interface {
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
}

// Log is the run log: a local JSON-lines mirror, and copies in repositories.
//
// Each line of the mirror, and each record file in a repository, is an
// envelope {"hash": H, "record": R} where H is the hex SHA-256 of the bytes
// of R exactly as stored. R carries its chain, its sequence number and the
// hash of the record before it, so that an altered, removed or reordered
// record breaks the chain.
type Log struct {
	path string
	opt  Options
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
	return &Log{path: path, opt: opt}
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

// entry is a record as stored, with its envelope.
type entry struct {
	where    string // "line N" or "file ID"
	raw      []byte // the record bytes as stored
	hash     string // the hash stored in the envelope
	computed string // the hash of raw
	rec      Record
	err      error // the envelope or record could not be parsed
}

func (e *entry) intact() bool { return e.err == nil && e.hash == e.computed }

type envelope struct {
	Hash   string          `json:"hash"`
	Record json.RawMessage `json:"record"`
}

func hashOf(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// encode returns the envelope of r and the record's hash.
func encode(r *Record) ([]byte, string, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, "", err
	}
	h := hashOf(raw)
	line := make([]byte, 0, len(raw)+90)
	line = append(line, `{"hash":"`...)
	line = append(line, h...)
	line = append(line, `","record":`...)
	line = append(line, raw...)
	line = append(line, '}')
	return line, h, nil
}

func decode(where string, b []byte) entry {
	e := entry{where: where}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		e.err = fmt.Errorf("not a run log entry: %v", err)
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
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run log: %w", err)
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		out = append(out, decode(fmt.Sprintf("line %d", n), append([]byte(nil), line...)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("run log %s: %w", l.path, err)
	}
	return out, nil
}

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
	rec, err := l.appendLocal(rec)
	if err != nil {
		return rec, err
	}
	if store != nil {
		if _, err := l.Sync(ctx, store); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

func (l *Log) appendLocal(rec Record) (Record, error) {
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
		rec.ID = now.Format("20060102-150405") + "-" + suffix
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
	rec.Hash = ""
	line, h, err := encode(&rec)
	if err != nil {
		return rec, fmt.Errorf("run log: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return rec, fmt.Errorf("run log: write %s: %w", l.path, err)
	}
	if err := f.Sync(); err != nil {
		return rec, fmt.Errorf("run log: sync %s: %w", l.path, err)
	}
	rec.Hash = h
	return rec, nil
}

func (l *Log) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(l.opt.Rand, b); err != nil {
		return "", fmt.Errorf("run log: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// readStore loads every record file of a store.
func readStore(ctx context.Context, store RecordStore) ([]entry, error) {
	var ids []repo.ID
	if err := store.ListFiles(ctx, repo.RecordFile, func(id repo.ID) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(ids))
	for _, id := range ids {
		b, err := store.LoadFile(ctx, repo.RecordFile, id)
		where := "file " + id.Short()
		if err != nil {
			out = append(out, entry{where: where, err: fmt.Errorf("cannot load: %v", err)})
			continue
		}
		out = append(out, decode(where, b))
	}
	return out, nil
}

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
		if e.err == nil && !seen[e.computed] {
			seen[e.computed] = true
			out = append(out, e.rec)
		}
	}
	sortRecords(out)
	return out, nil
}

// Sync copies into store every intact record of the local mirror that the
// store does not hold yet: the records of runs whose repository could not
// be written (a failed open), and those made while another medium of the
// rotation was connected. So every medium holds the whole log up to its
// last use, and survives the loss of the server. Damaged local entries are
// not copied. It returns how many records were copied.
func (l *Log) Sync(ctx context.Context, store RecordStore) (int, error) {
	local, err := l.readLocal()
	if err != nil {
		return 0, err
	}
	remote, err := readStore(ctx, store)
	if err != nil {
		return 0, fmt.Errorf("%w: list records in repository: %v", ErrNotStored, err)
	}
	have := make(map[string]bool, len(remote))
	for _, e := range remote {
		if e.err == nil {
			have[e.computed] = true
		}
	}
	n := 0
	for _, e := range local {
		if !e.intact() || have[e.computed] {
			continue
		}
		line, _, err := envelopeOf(e)
		if err != nil {
			return n, err
		}
		if _, err := store.SaveFile(ctx, repo.RecordFile, line); err != nil {
			return n, fmt.Errorf("%w: save record %s (seq %d) in repository: %v", ErrNotStored, e.rec.ID, e.rec.Seq, err)
		}
		have[e.computed] = true
		n++
	}
	return n, nil
}

// envelopeOf rebuilds the envelope of a stored entry with the exact record bytes.
func envelopeOf(e entry) ([]byte, string, error) {
	line := make([]byte, 0, len(e.raw)+90)
	line = append(line, `{"hash":"`...)
	line = append(line, e.hash...)
	line = append(line, `","record":`...)
	line = append(line, e.raw...)
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

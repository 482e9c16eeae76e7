package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// Snapshot records one backup: when, where and what, and the root tree.
// It is stored as a JSON object in a file of type repo.SnapshotFile; see
// doc/design-snapshot.md for the fields.
type Snapshot struct {
	Time     time.Time `json:"time"`
	Tree     repo.ID   `json:"tree"`
	Paths    []string  `json:"paths"`
	Hostname string    `json:"hostname,omitempty"`
	Username string    `json:"username,omitempty"`
	UID      uint32    `json:"uid,omitempty"`
	GID      uint32    `json:"gid,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Parent   *repo.ID  `json:"parent,omitempty"`
	// Original is the snapshot this one stands for: the one it replaces
	// after a tag change, or the one it was copied from (cadang copy).
	Original       *repo.ID `json:"original,omitempty"`
	ProgramVersion string   `json:"program_version,omitempty"`
	// Reason says why the backup was made, e.g. "before upgrading PostgreSQL".
	Reason  string   `json:"reason,omitempty"`
	Summary *Summary `json:"summary,omitempty"`

	id repo.ID // set by Save and Load
}

// Summary is what a backup did. Byte counts are plaintext unless named
// "packed".
type Summary struct {
	BackupStart time.Time `json:"backup_start"`
	BackupEnd   time.Time `json:"backup_end"`

	FilesNew        uint64 `json:"files_new"`
	FilesChanged    uint64 `json:"files_changed"`
	FilesUnmodified uint64 `json:"files_unmodified"`
	// FilesReread counts files unchanged since the parent whose content
	// was read again because data of theirs was missing from the
	// repository (after repair packs); not counted as new, changed or
	// unmodified.
	FilesReread    uint64 `json:"files_reread,omitempty"`
	DirsNew        uint64 `json:"dirs_new"`
	DirsChanged    uint64 `json:"dirs_changed"`
	DirsUnmodified uint64 `json:"dirs_unmodified"`
	// OtherNodes counts symlinks, devices, FIFOs and sockets.
	OtherNodes uint64 `json:"other_nodes"`

	DataBlobs uint64 `json:"data_blobs"` // new data blobs
	TreeBlobs uint64 `json:"tree_blobs"` // new tree blobs
	DataAdded uint64 `json:"data_added"` // plaintext bytes of new blobs
	// DataAddedPacked is what the new blobs take in the repository after
	// compression and encryption, when the repository reports it (an
	// archiver.SizedSaver, or the Stats() counters of *repo.Repository);
	// otherwise it equals DataAdded.
	DataAddedPacked uint64 `json:"data_added_packed"`

	TotalFilesProcessed uint64 `json:"total_files_processed"`
	TotalBytesProcessed uint64 `json:"total_bytes_processed"` // size of all files in the snapshot
	BytesRead           uint64 `json:"bytes_read"`            // bytes actually read from the source

	// Errors lists the items that could not be read; the snapshot does not
	// contain them, or contains what could be read of them. The archiver
	// lists them up to MaxErrorsSize bytes of JSON and counts the rest in
	// ErrorsOmitted, so that a backup of a tree with many unreadable items
	// does not write a snapshot file that every listing reads whole.
	Errors        []ItemError `json:"errors,omitempty"`
	ErrorsOmitted uint64      `json:"errors_omitted,omitempty"`
}

// Duration is BackupEnd - BackupStart.
func (s *Summary) Duration() time.Duration { return s.BackupEnd.Sub(s.BackupStart) }

// ErrorCount returns how many items could not be read: those listed in
// Errors and those omitted from it.
func (s *Summary) ErrorCount() uint64 { return uint64(len(s.Errors)) + s.ErrorsOmitted }

// MaxFileSize is the most bytes of JSON a snapshot file may hold
// (doc/design-snapshot.md): SaveSnapshot refuses a larger snapshot, and a
// listing passes over a file whose stored size is above MaxStoredSize
// without reading it (FileTooLargeError). A backup's snapshot holds a few
// kilobytes, and at most MaxErrorsSize of its list of unreadable items.
const MaxFileSize = 4 << 20

// MaxStoredSize is the largest stored (sealed) size of a snapshot file.
const MaxStoredSize = MaxFileSize + crypto.Overhead

// MaxErrorsSize bounds the JSON of the list of unreadable items that the
// archiver writes into a snapshot (Summary.Errors); items beyond it are
// counted in Summary.ErrorsOmitted.
const MaxErrorsSize = 1 << 20

// ItemError is a path that could not be backed up, or not as it was, and why.
type ItemError struct {
	Path  string `json:"path"`
	Error string `json:"error"`
	// Kind is ItemErrorChanged for a file that changed while it was read
	// (the snapshot holds what was read of it), empty for an item that
	// could not be read.
	Kind string `json:"kind,omitempty"`
}

// ItemErrorChanged is the Kind of an ItemError for a file that changed
// (grew, shrank, was rewritten or replaced) during the backup.
const ItemErrorChanged = "changed"

// ID returns the ID of the stored snapshot file (zero before Save/Load).
func (sn *Snapshot) ID() repo.ID { return sn.id }

func (sn *Snapshot) String() string {
	return fmt.Sprintf("snapshot %s of %v at %s by %s@%s", sn.id.Short(), sn.Paths, sn.Time.Format(time.RFC3339), sn.Username, sn.Hostname)
}

// HasTags reports whether the snapshot has all of the tags.
func (sn *Snapshot) HasTags(tags []string) bool {
	for _, t := range tags {
		if !slices.Contains(sn.Tags, t) {
			return false
		}
	}
	return true
}

// HasPaths reports whether the snapshot's path set equals paths (order and
// trailing slashes do not matter).
func (sn *Snapshot) HasPaths(paths []string) bool {
	a, b := cleanPaths(sn.Paths), cleanPaths(paths)
	return slices.Equal(a, b)
}

func cleanPaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = path.Clean(p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SaveSnapshot stores sn and sets its ID. Call it only after the repository
// has been flushed, so that every blob the snapshot references is indexed.
func SaveSnapshot(ctx context.Context, r FileSaver, sn *Snapshot) (repo.ID, error) {
	b, err := json.Marshal(sn)
	if err != nil {
		return repo.ID{}, err
	}
	if len(b) > MaxFileSize {
		return repo.ID{}, fmt.Errorf("%w: the snapshot of %s is %d bytes of JSON, more than the %d a snapshot file may hold (its paths, tags or list of unreadable items are too long)",
			ErrSnapshotTooLarge, sn.Time.Format(time.RFC3339), len(b), MaxFileSize)
	}
	id, err := r.SaveFile(ctx, repo.SnapshotFile, b)
	if err != nil {
		return repo.ID{}, err // SaveFile names the snapshot file
	}
	sn.id = id
	return id, nil
}

// LoadSnapshot loads the snapshot with the given ID.
func LoadSnapshot(ctx context.Context, r FileLoader, id repo.ID) (*Snapshot, error) {
	b, err := r.LoadFile(ctx, repo.SnapshotFile, id)
	if err != nil {
		return nil, err // LoadFile names the snapshot file
	}
	return decodeSnapshot(id, b)
}

// decodeSnapshot decodes the snapshot file id's plaintext.
func decodeSnapshot(id repo.ID, b []byte) (*Snapshot, error) {
	sn := &Snapshot{}
	if err := json.Unmarshal(b, sn); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w: %v", id.Short(), ErrInvalidSnapshot, err)
	}
	sn.id = id
	return sn, nil
}

// SizedLoader is implemented by a FileLoader that can load a file reading
// no more than the stored size a listing gave (repo.Repository).
type SizedLoader interface {
	LoadFileSized(ctx context.Context, t repo.FileType, id repo.ID, size int64) ([]byte, error)
}

// loadListed loads a snapshot file that a listing gave with its stored
// size (-1: not known). The listing's size, which passed the check against
// MaxStoredSize, also bounds what is read: a server whose listing
// understates a file cannot make a listing read it whole.
func loadListed(ctx context.Context, r FileLoader, id repo.ID, size int64) (*Snapshot, error) {
	sl, ok := r.(SizedLoader)
	if size < 0 || !ok {
		return LoadSnapshot(ctx, r, id)
	}
	b, err := sl.LoadFileSized(ctx, repo.SnapshotFile, id, size)
	if err != nil {
		return nil, err
	}
	return decodeSnapshot(id, b)
}

// ErrInvalidSnapshot is wrapped by the error of a snapshot file that opens
// (it is authentic) but is no snapshot: written by a faulty or hostile
// host.
var ErrInvalidSnapshot = errors.New("not a valid snapshot")

// ErrSnapshotTooLarge is wrapped by SaveSnapshot's error for a snapshot
// whose JSON is larger than MaxFileSize.
var ErrSnapshotTooLarge = errors.New("snapshot too large")

// FitErrors moves items from the end of sn's list of unreadable items into
// its count of omitted ones until sn fits in a snapshot file, and reports
// whether it fits. A copy needs it: a snapshot of an older cadang may list
// more than fits, and the copy adds a field to every snapshot.
func FitErrors(sn *Snapshot) bool {
	b, err := json.Marshal(sn)
	if err != nil {
		return false
	}
	if len(b) <= MaxFileSize {
		return true
	}
	if sn.Summary == nil {
		return false
	}
	// The count of omitted items takes room too (up to 39 bytes).
	excess := len(b) - MaxFileSize + len(`,"errors_omitted":18446744073709551615`)
	s := *sn.Summary
	s.Errors = slices.Clone(s.Errors)
	for excess > 0 && len(s.Errors) > 0 {
		e, _ := json.Marshal(s.Errors[len(s.Errors)-1])
		excess -= len(e) + 1
		s.Errors = s.Errors[:len(s.Errors)-1]
		s.ErrorsOmitted++
	}
	sn.Summary = &s
	b, err = json.Marshal(sn)
	return err == nil && len(b) <= MaxFileSize
}

// ErrFileTooLarge is wrapped by the error a listing gives for a snapshot
// file larger than MaxStoredSize (FileTooLargeError).
var ErrFileTooLarge = errors.New("larger than any snapshot file")

// FileTooLargeError is what a listing (ListSnapshotsSkipping) gives for a
// file in snapshots/ whose stored size is above MaxStoredSize: it is not
// read, since no writer that keeps to the format writes one, and anyone who
// can upload a file (an append-only server checks only that its name is its
// hash) could otherwise make every listing read hundreds of megabytes.
// What it is cannot be told without reading it: most likely junk, possibly
// a snapshot that a cadang before the limit wrote with a very long list of
// unreadable items. So a listing passes over it with a warning (Passed),
// and a reader that must not be wrong about it, prune or check, loads it
// whole with LoadSnapshot.
type FileTooLargeError struct {
	ID   repo.ID
	Size int64 // its stored size, as listed
}

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("snapshot file %s is %d bytes, larger than any snapshot file cadang writes (at most %d), and was not read", e.ID, e.Size, MaxStoredSize)
}

// Is makes a *FileTooLargeError match ErrFileTooLarge.
func (e *FileTooLargeError) Is(target error) bool { return target == ErrFileTooLarge }

// IsUnreadable reports whether err, from loading a snapshot file, says
// that the file itself cannot be read as a snapshot: damaged, invalid, of a
// newer format, or too large to be read in a listing. These are the files
// a reader may pass over with a warning (ListSnapshotsSkipping); any other
// error (the repository could not be reached, a cancelled context) says
// nothing about the file.
func IsUnreadable(err error) bool {
	return repo.IsDamaged(err) || errors.Is(err, ErrInvalidSnapshot) || errors.Is(err, repo.ErrUnsupportedVersion) ||
		errors.Is(err, ErrFileTooLarge)
}

// Passed reports whether err, given by a listing for a snapshot file, is
// one a reader passes over with a warning rather than count as a snapshot
// that cannot be read: a foreign file (repo.ErrForeignFile), which no
// holder of the key wrote, or one too large to be read in a listing
// (ErrFileTooLarge). The first cannot be the newest snapshot or hold data;
// the second is taken for junk by "latest" and copies, but prune and check
// load it whole (FileTooLargeError). PassedWhy says which, for a warning.
func Passed(err error) bool {
	return errors.Is(err, repo.ErrForeignFile) || errors.Is(err, ErrFileTooLarge)
}

// PassedWhy returns, for an error for which Passed holds, why the file is
// passed over, in words for a warning that begins "snapshot file ID is
// passed over: ".
func PassedWhy(err error) string {
	var big *FileTooLargeError
	if errors.As(err, &big) {
		return fmt.Sprintf("it is %d bytes, larger than any snapshot file cadang writes (at most %d), so it was not read (junk that someone who can write to the storage added, or a snapshot of an older cadang with a very long list of unreadable files, which commands given its ID still read; 'cadang check' reads it whole)",
			big.Size, MaxStoredSize)
	}
	return "it was not written with the repository's key (junk that someone who can write to the storage added)"
}

// SizedLister is implemented by a FileLoader that can list files with
// their stored sizes (*repo.Repository). ListSnapshotsSkipping then passes
// over a snapshot file too large to be one without loading it.
type SizedLister interface {
	ListFilesSized(ctx context.Context, t repo.FileType, fn func(id repo.ID, size int64) error) error
}

// PassUnreadable returns a bad function for ListSnapshotsSkipping that
// passes over a snapshot file that cannot be read (IsUnreadable), telling
// seen of it when seen is not nil, and stops the listing on any other
// error.
func PassUnreadable(seen func(id repo.ID, err error)) func(repo.ID, error) error {
	return func(id repo.ID, err error) error {
		if !IsUnreadable(err) {
			return err
		}
		if seen != nil {
			seen(id, err)
		}
		return nil
	}
}

// Filter selects snapshots. Empty fields match everything.
type Filter struct {
	Hosts []string // any of these hosts
	// Tags matches a snapshot that has all tags of at least one of the lists
	// (so --tag a,b --tag c means (a AND b) OR c).
	Tags  [][]string
	Paths []string // the snapshot contains all of these paths
}

// Match reports whether sn passes the filter.
func (f Filter) Match(sn *Snapshot) bool {
	if len(f.Hosts) > 0 && !slices.Contains(f.Hosts, sn.Hostname) {
		return false
	}
	if len(f.Tags) > 0 {
		ok := false
		for _, tl := range f.Tags {
			if sn.HasTags(tl) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Paths) > 0 {
		have := cleanPaths(sn.Paths)
		for _, p := range f.Paths {
			if !slices.Contains(have, path.Clean(p)) {
				return false
			}
		}
	}
	return true
}

// ListSnapshots loads every snapshot that matches f, oldest first. A
// snapshot file that cannot be loaded is an error.
func ListSnapshots(ctx context.Context, r FileLoader, f Filter) ([]*Snapshot, error) {
	return ListSnapshotsSkipping(ctx, r, f, func(_ repo.ID, err error) error { return err })
}

// ListSnapshotsSkipping is ListSnapshots for a reader that must go on past
// a snapshot file it cannot load (check reports every damaged one, then
// the rest of the repository): bad gets each such file's ID and error, and
// the listing stops only if bad returns an error. A file forgotten since
// the listing is skipped without a call.
func ListSnapshotsSkipping(ctx context.Context, r FileLoader, f Filter, bad func(repo.ID, error) error) ([]*Snapshot, error) {
	ids, sizes, err := listFiles(ctx, r, repo.SnapshotFile)
	if err != nil {
		return nil, err
	}
	var out []*Snapshot
	for i, id := range ids {
		if sizes != nil && sizes[i] > MaxStoredSize {
			if berr := bad(id, &FileTooLargeError{ID: id, Size: sizes[i]}); berr != nil {
				return nil, berr
			}
			continue
		}
		size := int64(-1)
		if sizes != nil {
			size = sizes[i]
		}
		sn, err := loadListed(ctx, r, id, size)
		if backend.IsNotExist(err) {
			continue // forgotten by someone else since the listing
		}
		if err != nil {
			if berr := bad(id, err); berr != nil {
				return nil, berr
			}
			continue
		}
		if f.Match(sn) {
			out = append(out, sn)
		}
	}
	sortSnapshots(out)
	return out, nil
}

// listFiles lists the files of type t, with their stored sizes where r can
// list them (SizedLister; sizes is nil otherwise).
func listFiles(ctx context.Context, r FileLoader, t repo.FileType) (ids []repo.ID, sizes []int64, err error) {
	if sl, ok := r.(SizedLister); ok {
		err = sl.ListFilesSized(ctx, t, func(id repo.ID, size int64) error {
			ids, sizes = append(ids, id), append(sizes, size)
			return nil
		})
		return ids, sizes, err
	}
	err = r.ListFiles(ctx, t, func(id repo.ID) error {
		ids = append(ids, id)
		return nil
	})
	return ids, nil, err
}

// sortSnapshots sorts oldest first, IDs breaking ties.
func sortSnapshots(sns []*Snapshot) {
	slices.SortStableFunc(sns, func(a, b *Snapshot) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.id.String(), b.id.String())
	})
}

// ListSnapshotsWhole is ListSnapshotsSkipping for a reader that must not be
// wrong about a file too large for a listing (FileTooLargeError): prune,
// which deletes what no snapshot uses, check, and forget's test of what a
// protection may cover. It reads such a file whole, and lists it when it is
// a snapshot that matches f; else bad gets the error of the whole read.
func ListSnapshotsWhole(ctx context.Context, r FileLoader, f Filter, bad func(repo.ID, error) error) ([]*Snapshot, error) {
	var large []*Snapshot
	sns, err := ListSnapshotsSkipping(ctx, r, f, func(id repo.ID, err error) error {
		if errors.Is(err, ErrFileTooLarge) {
			sn, lerr := LoadSnapshot(ctx, r, id)
			switch {
			case lerr == nil:
				if f.Match(sn) {
					large = append(large, sn)
				}
				return nil
			case backend.IsNotExist(lerr):
				return nil // forgotten since the listing
			}
			err = lerr
		}
		return bad(id, err)
	})
	if err != nil || len(large) == 0 {
		return sns, err
	}
	sns = append(sns, large...)
	sortSnapshots(sns)
	return sns, nil
}

// ErrNoSnapshot is returned when no snapshot matches.
var ErrNoSnapshot = errors.New("no matching snapshot found")

// ErrAmbiguous is returned when an ID prefix matches several snapshots.
var ErrAmbiguous = errors.New("ambiguous snapshot ID prefix")

// ErrInvalidID is returned for a snapshot argument that is neither
// "latest" nor a prefix of at least 4 hex digits.
var ErrInvalidID = errors.New("not a snapshot ID")

// FindLatest returns the newest snapshot that matches f.
func FindLatest(ctx context.Context, r FileLoader, f Filter) (*Snapshot, error) {
	return findLatest(ctx, r, f, failUnreadable)
}

func findLatest(ctx context.Context, r FileLoader, f Filter, bad func(repo.ID, error) error) (*Snapshot, error) {
	sns, err := ListSnapshotsSkipping(ctx, r, f, bad)
	if err != nil {
		return nil, err
	}
	if len(sns) == 0 {
		return nil, ErrNoSnapshot
	}
	return sns[len(sns)-1], nil
}

func failUnreadable(_ repo.ID, err error) error { return err }

// FindSnapshot resolves "latest" (filtered by f) or a hex ID prefix (f is
// ignored) to a snapshot.
func FindSnapshot(ctx context.Context, r FileLoader, idOrLatest string, f Filter) (*Snapshot, error) {
	return FindSnapshotSkipping(ctx, r, idOrLatest, f, failUnreadable)
}

// FindSnapshotSkipping is FindSnapshot for a reader that decides itself
// what a snapshot file it cannot load means for "latest": bad gets each
// such file as in ListSnapshotsSkipping, and "latest" is the newest of the
// others when bad lets it pass. (The CLI refuses "latest" then, since the
// file it could not load may be the newest.) A snapshot named by its ID
// is loaded or fails as in FindSnapshot.
func FindSnapshotSkipping(ctx context.Context, r FileLoader, idOrLatest string, f Filter, bad func(repo.ID, error) error) (*Snapshot, error) {
	if idOrLatest == "latest" {
		return findLatest(ctx, r, f, bad)
	}
	id, err := FindSnapshotID(ctx, r, idOrLatest)
	if err != nil {
		return nil, err
	}
	return LoadSnapshot(ctx, r, id)
}

// FindSnapshotID resolves a hex prefix of at least 4 digits to a snapshot ID.
func FindSnapshotID(ctx context.Context, r FileLoader, prefix string) (repo.ID, error) {
	given := prefix
	prefix = strings.ToLower(prefix)
	if strings.EqualFold(prefix, "latest") {
		return repo.ID{}, fmt.Errorf("snapshot %q: %w (the newest snapshot is written latest, in lower case)", given, ErrInvalidID)
	}
	if len(prefix) < 4 {
		return repo.ID{}, fmt.Errorf("snapshot %q: %w: too short (an ID prefix has 4 hex digits at least)", given, ErrInvalidID)
	}
	if strings.ContainsFunc(prefix, func(c rune) bool { return !isHexDigit(c) }) || len(prefix) > 2*len(repo.ID{}) {
		return repo.ID{}, fmt.Errorf("snapshot %q: %w (an ID is up to 64 hex digits, 0-9 and a-f; 'cadang snapshots' lists them)", given, ErrInvalidID)
	}
	var found []repo.ID
	if err := r.ListFiles(ctx, repo.SnapshotFile, func(id repo.ID) error {
		if strings.HasPrefix(id.String(), prefix) {
			found = append(found, id)
		}
		return nil
	}); err != nil {
		return repo.ID{}, err
	}
	switch len(found) {
	case 0:
		return repo.ID{}, fmt.Errorf("snapshot ID %s: %w", prefix, ErrNoSnapshot)
	case 1:
		return found[0], nil
	}
	slices.SortFunc(found, func(a, b repo.ID) int { return bytes.Compare(a[:], b[:]) })
	return repo.ID{}, &AmbiguousError{Prefix: prefix, Matches: found}
}

// AmbiguousError is FindSnapshotID's error for a prefix that matches
// several snapshots. Matches lists them, in the order of their IDs, so
// that the caller can show them and the administrator choose (Unwrap:
// ErrAmbiguous).
type AmbiguousError struct {
	Prefix  string
	Matches []repo.ID
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("snapshot ID %s: %v: it matches %d snapshots (give more of its digits)", e.Prefix, ErrAmbiguous, len(e.Matches))
}

func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }

// FindParent returns the newest snapshot of the same host with the same set
// of paths, or nil (and no error) when there is none. Snapshots newer than
// before are ignored unless before is zero. A snapshot file that cannot be
// read (IsUnreadable) is no candidate: a parent only spares the backup
// reading unchanged files, and the backup must go on (check names the
// file).
func FindParent(ctx context.Context, r FileLoader, host string, paths []string, before time.Time) (*Snapshot, error) {
	sns, err := ListSnapshotsSkipping(ctx, r, Filter{Hosts: []string{host}}, PassUnreadable(nil))
	if err != nil {
		return nil, err
	}
	for i := len(sns) - 1; i >= 0; i-- {
		if !before.IsZero() && sns[i].Time.After(before) {
			continue
		}
		if sns[i].HasPaths(paths) {
			return sns[i], nil
		}
	}
	return nil, nil
}

// ChangeTags rewrites a snapshot with a new tag set: tags in set replace all
// tags when set is non-nil; then add are added and remove removed. The new
// snapshot is saved first and the old file removed after, so a crash leaves
// both rather than neither. It returns the new snapshot (sn itself is left
// unchanged), or sn when the tags would not change. A store that refuses
// removals (repo.Repository.RefuseAppendOnly: an append-only server) is
// refused before anything is saved, with an error that wraps
// backend.ErrAppendOnly: the old snapshot would stay beside the new one.
func ChangeTags(ctx context.Context, r FileRewriter, sn *Snapshot, set, add, remove []string) (*Snapshot, error) {
	tags := slices.Clone(sn.Tags)
	if set != nil {
		tags = slices.Clone(set)
	}
	tags = append(tags, add...)
	tags = slices.DeleteFunc(tags, func(t string) bool { return slices.Contains(remove, t) || t == "" })
	slices.Sort(tags)
	tags = slices.Compact(tags)
	old := slices.Clone(sn.Tags)
	slices.Sort(old)
	if slices.Equal(old, tags) {
		return sn, nil
	}
	if err := refuseAppendOnly(r, "tag"); err != nil {
		return nil, err
	}
	ns := *sn
	ns.Tags = tags
	if ns.Original == nil {
		oid := sn.id
		ns.Original = &oid
	}
	if _, err := SaveSnapshot(ctx, r, &ns); err != nil {
		return nil, err
	}
	if err := r.RemoveFile(ctx, repo.SnapshotFile, sn.id); err != nil {
		return &ns, fmt.Errorf("new snapshot %s saved, but removing the old one failed: %w", ns.id.Short(), err)
	}
	return &ns, nil
}

func isHexDigit(c rune) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

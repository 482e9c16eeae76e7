package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
)

// Protection says that a snapshot must not be forgotten, neither by a
// retention policy nor by name, until a time or forever. It is stored as a
// small sealed JSON file of type repo.ProtectFile, apart from the
// snapshot: snapshot files are content-addressed and cited by ID (the SOP
// run log names them), so a protection must not rewrite one. Removing the
// file lifts the protection (see doc/design.md, "Protections").
//
// A protection covers the snapshot it names and the snapshots a tag change
// made from it (whose Original is that snapshot).
type Protection struct {
	// ID is the protection file's ID (set by Protect and Protections).
	ID repo.ID
	// Snapshot is the protected snapshot. Original, when the snapshot was
	// itself made by a tag change, is the snapshot it stands for: every
	// later tag change keeps that Original, so the protection follows.
	Snapshot repo.ID
	Original repo.ID
	// Until is when the protection ends; zero means never.
	Until time.Time
	// Reason says why, e.g. "audit BPK 2026" (may be empty).
	Reason string
	// Host and Username say who protected it, Time when.
	Host, Username string
	Time           time.Time
	// CopiedFrom, when cadang copy wrote this protection after one of the
	// source's, says where that one was; nil for one made here.
	CopiedFrom *CopiedFrom
}

// CopiedFrom is where a protection that cadang copy wrote came from: a
// protection must hold on every medium its snapshot is copied to, and the
// medium's protect --list must tell a copied one from one made there.
type CopiedFrom struct {
	// Repository is the source repository's ID (empty if not known).
	Repository string `json:"repository,omitempty"`
	// Snapshot is the source's snapshot that the protection covered, and
	// Protection the source's protection file.
	Snapshot   repo.ID `json:"snapshot"`
	Protection repo.ID `json:"protection"`
}

// protectionJSON is a protection file's plaintext. until is absent for a
// protection without end.
type protectionJSON struct {
	Snapshot repo.ID    `json:"snapshot"`
	Original *repo.ID   `json:"original,omitempty"`
	Until    *time.Time `json:"until,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Host     string     `json:"host,omitempty"`
	Username string     `json:"username,omitempty"`
	Time     time.Time  `json:"time"`
	// CopiedFrom is absent in protections made before copies carried
	// them, and in those made by protect or a before-change backup.
	CopiedFrom *CopiedFrom `json:"copied_from,omitempty"`
}

// Active reports whether the protection still holds at now: it has no end,
// or ends after now.
func (p Protection) Active(now time.Time) bool {
	return p.Until.IsZero() || now.Before(p.Until)
}

// Covers reports whether the protection names sn, or the snapshot that sn
// replaced by a tag change.
func (p Protection) Covers(sn *Snapshot) bool {
	if p.Snapshot == sn.ID() {
		return true
	}
	return sn.Original != nil && (p.Snapshot == *sn.Original || (!p.Original.IsNull() && p.Original == *sn.Original))
}

// Describe describes the protection for people: "until 2027-03-01 (audit)"
// or "forever (audit)", the date in loc (nil: time.Local).
func (p Protection) Describe(loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	s := "forever"
	if !p.Until.IsZero() {
		u := p.Until.In(loc)
		if u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0 {
			s = "until " + u.Format(time.DateOnly)
		} else {
			s = "until " + u.Format("2006-01-02 15:04")
		}
	}
	if p.Reason != "" {
		s += " (" + p.Reason + ")"
	}
	return s
}

// Protect protects a snapshot until the given time (zero: forever) and
// returns the protection saved, with this host, user and the current time.
// It does not check that the snapshot exists (FileSaver cannot read);
// callers resolve the name first, e.g. with FindSnapshotID. Protecting a
// snapshot that is already protected adds a second protection: the one
// that lasts longest counts.
func Protect(ctx context.Context, r FileSaver, snapshot repo.ID, until time.Time, reason string) (Protection, error) {
	return protect(ctx, r, Protection{Snapshot: snapshot, Until: until, Reason: reason})
}

// ProtectSnapshot protects sn like Protect, and also the snapshots later
// tag changes make from it.
func ProtectSnapshot(ctx context.Context, r FileSaver, sn *Snapshot, until time.Time, reason string) (Protection, error) {
	return ProtectSnapshotAt(ctx, r, sn, until, reason, time.Time{})
}

// ProtectSnapshotAt is ProtectSnapshot with the time the protection says
// it was made (zero: now), for a caller whose clock is not the system's
// (the SOP layer's, which a replay sets).
func ProtectSnapshotAt(ctx context.Context, r FileSaver, sn *Snapshot, until time.Time, reason string, at time.Time) (Protection, error) {
	p := Protection{Snapshot: sn.ID(), Until: until, Reason: reason, Time: at}
	if sn.Original != nil {
		p.Original = *sn.Original
	}
	return protect(ctx, r, p)
}

func protect(ctx context.Context, r FileSaver, p Protection) (Protection, error) {
	if p.Time.IsZero() {
		p.Time = time.Now()
	}
	p.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		p.Username = u.Username
	}
	return SaveProtection(ctx, r, p)
}

// SaveProtection stores p as given (its ID is ignored) and returns it with
// the ID of its file. Protect fills in who and when; this is for callers
// that know them (an import, a test).
func SaveProtection(ctx context.Context, r FileSaver, p Protection) (Protection, error) {
	if p.Snapshot.IsNull() {
		return Protection{}, errors.New("protect: no snapshot given")
	}
	if p.Time.IsZero() {
		p.Time = time.Now()
	}
	pj := protectionJSON{Snapshot: p.Snapshot, Reason: p.Reason, Host: p.Host, Username: p.Username, Time: p.Time, CopiedFrom: p.CopiedFrom}
	if !p.Original.IsNull() {
		o := p.Original
		pj.Original = &o
	}
	if !p.Until.IsZero() {
		u := p.Until
		pj.Until = &u
	}
	b, err := json.Marshal(pj)
	if err != nil {
		return Protection{}, err
	}
	id, err := r.SaveFile(ctx, repo.ProtectFile, b)
	if err != nil {
		return Protection{}, fmt.Errorf("protect snapshot %s: %w", p.Snapshot.Short(), err)
	}
	p.ID = id
	return p, nil
}

// LoadProtection loads the protection file with the given ID. A file that
// opens with the key but holds no protection (written by a faulty or
// hostile holder of the key) is damaged, like one that does not open.
func LoadProtection(ctx context.Context, r FileLoader, id repo.ID) (Protection, error) {
	b, err := r.LoadFile(ctx, repo.ProtectFile, id)
	if err != nil {
		return Protection{}, err // LoadFile names the file
	}
	p, err := DecodeProtection(b)
	if err != nil {
		return Protection{}, &repo.DamagedError{File: backend.Handle{Type: repo.ProtectFile, Name: id.String()}, Err: err}
	}
	p.ID = id
	return p, nil
}

// DecodeProtection decodes a protection file's plaintext (its ID is left
// zero). check uses it on files whose seal opened.
func DecodeProtection(plain []byte) (Protection, error) {
	var pj protectionJSON
	if err := json.Unmarshal(plain, &pj); err != nil {
		return Protection{}, fmt.Errorf("no protection: %w", err)
	}
	if pj.Snapshot.IsNull() {
		return Protection{}, errors.New("the protection names no snapshot")
	}
	p := Protection{Snapshot: pj.Snapshot, Reason: pj.Reason, Host: pj.Host, Username: pj.Username, Time: pj.Time, CopiedFrom: pj.CopiedFrom}
	if pj.Original != nil {
		p.Original = *pj.Original
	}
	if pj.Until != nil {
		p.Until = *pj.Until
	}
	return p, nil
}

// UnreadableProtection is a protection file that cannot be read: its
// bytes are damaged, it was not sealed with this repository's key (anyone
// who can upload a file can put one in protected/), or it opens and holds
// no protection.
type UnreadableProtection struct {
	ID  repo.ID
	Err error
}

// UnreadableProtectionsError is Protections' error when some protection
// files cannot be read (damaged on the medium, or sealed with the key but
// holding no protection). Nobody can tell which snapshots they protect, so
// a program that forgets snapshots must stop: RemoveUnreadableProtections
// takes the files out (doc/design.md, "Protections").
type UnreadableProtectionsError struct {
	Files []UnreadableProtection // at least one
}

func (e *UnreadableProtectionsError) Error() string {
	return fmt.Sprintf("forget refuses to run: nobody can tell which snapshots %d protection file(s) that cannot be read protect (%s): "+
		"'cadang protect --remove-unreadable' removes them, after which protect again any snapshot that must stay",
		len(e.Files), listErrs(e.Files, func(f UnreadableProtection) error { return f.Err }))
}

// listErrs joins the errors of the first three items, and counts the rest.
func listErrs[T any](items []T, errOf func(T) error) string {
	var b strings.Builder
	for i, it := range items {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(items)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%v", errOf(it))
	}
	return b.String()
}

// Unwrap returns why the first file cannot be read, so that the error is
// classified as that damage.
func (e *UnreadableProtectionsError) Unwrap() error { return e.Files[0].Err }

// LoadProtections loads every protection in the repository, expired ones
// too, ordered by snapshot and then by the time they were made, and lists
// apart the files that cannot be read (damaged ones, repo.IsDamaged). Any
// other error, of the backend, stops it: it says nothing of the file.
func LoadProtections(ctx context.Context, r FileLoader) ([]Protection, []UnreadableProtection, error) {
	return loadProtections(ctx, r, repo.IsDamaged)
}

// LoadReadableProtections is LoadProtections for a reader that can go on
// without a file whatever the reason it cannot be read (damaged, sealed
// with another key, refused by the storage), such as the copy of
// snapshots already copied: each is listed apart, and only a failed
// listing or a cancelled context stops it.
func LoadReadableProtections(ctx context.Context, r FileLoader) ([]Protection, []UnreadableProtection, error) {
	return loadProtections(ctx, r, func(error) bool { return ctx.Err() == nil })
}

// loadProtections loads every protection; a file whose error apart
// accepts is listed apart, any other error stops it.
func loadProtections(ctx context.Context, r FileLoader, apart func(error) bool) ([]Protection, []UnreadableProtection, error) {
	var ids []repo.ID
	if err := r.ListFiles(ctx, repo.ProtectFile, func(id repo.ID) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	out := make([]Protection, 0, len(ids))
	var bad []UnreadableProtection
	for _, id := range ids {
		p, err := LoadProtection(ctx, r, id)
		switch {
		case err == nil:
			out = append(out, p)
		case backend.IsNotExist(err):
			// lifted by someone else since the listing
		case apart(err):
			bad = append(bad, UnreadableProtection{ID: id, Err: err})
		default:
			return nil, nil, err
		}
	}
	slices.SortFunc(out, func(a, b Protection) int {
		if c := strings.Compare(a.Snapshot.String(), b.Snapshot.String()); c != 0 {
			return c
		}
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out, bad, nil
}

// Protections is LoadProtections for a program that forgets snapshots: a
// protection file that cannot be read is an *UnreadableProtectionsError,
// since forgetting on a partial list could remove a protected snapshot. A
// foreign file (repo.ErrForeignFile: its bytes as saved, its seal not this
// repository's) was never a protection, and is passed over.
func Protections(ctx context.Context, r FileLoader) ([]Protection, error) {
	return ProtectionsPassing(ctx, r, nil)
}

// ProtectionsPassing is Protections that tells foreign, if not nil, of each
// foreign file it passes over, so that a program can warn of it: it shows
// that someone without the key writes to the storage.
func ProtectionsPassing(ctx context.Context, r FileLoader, foreign func(UnreadableProtection)) ([]Protection, error) {
	ps, bad, err := LoadProtections(ctx, r)
	if err != nil {
		return nil, err
	}
	var stop []UnreadableProtection
	for _, f := range bad {
		if !errors.Is(f.Err, repo.ErrForeignFile) {
			stop = append(stop, f)
		} else if foreign != nil {
			foreign(f)
		}
	}
	if len(stop) > 0 {
		return nil, &UnreadableProtectionsError{Files: stop}
	}
	return ps, nil
}

// FileRemover lists, reads and removes small files. It is what Unprotect
// needs.
type FileRemover interface {
	FileLoader
	// RemoveFile deletes a file saved with SaveFile.
	RemoveFile(ctx context.Context, t repo.FileType, id repo.ID) error
}

// Unprotect lifts every protection of a snapshot, expired ones too, by
// removing their files, and returns how many it removed (also on error).
// A snapshot without protection is no error: it returns 0. Protection files
// that cannot be read are left alone: lifting what is known is safe.
func Unprotect(ctx context.Context, r FileRemover, snapshot repo.ID) (removed int, err error) {
	return unprotect(ctx, r, snapshot, func(p Protection) bool { return p.Snapshot == snapshot })
}

// UnprotectSnapshot is Unprotect for a snapshot that exists: it lifts
// every protection that covers sn (Covers), also those that name the
// snapshot a tag change replaced by sn. A tag change gives the snapshot a
// new ID and leaves its protections naming the old one; the ID that
// snapshots and forget show must lift them.
func UnprotectSnapshot(ctx context.Context, r FileRemover, sn *Snapshot) (removed int, err error) {
	return unprotect(ctx, r, sn.ID(), func(p Protection) bool { return p.Covers(sn) })
}

func unprotect(ctx context.Context, r FileRemover, id repo.ID, lift func(Protection) bool) (removed int, err error) {
	ps, _, err := LoadProtections(ctx, r)
	if err != nil {
		return 0, err
	}
	for _, p := range ps {
		if !lift(p) {
			continue
		}
		if err := r.RemoveFile(ctx, repo.ProtectFile, p.ID); err != nil {
			return removed, fmt.Errorf("unprotect snapshot %s: %w", id.Short(), err)
		}
		removed++
	}
	return removed, nil
}

// RemoveUnreadableProtections removes the protection files that cannot be
// read, so that forget can run again, and returns those it removed (also
// on error). Each file is read once more just before it goes: one that
// reads now (a fault of the first read) stays. What a removed file
// protected cannot be known; protect again the snapshots that must stay.
func RemoveUnreadableProtections(ctx context.Context, r FileRemover) ([]UnreadableProtection, error) {
	_, bad, err := LoadProtections(ctx, r)
	if err != nil {
		return nil, err
	}
	var removed []UnreadableProtection
	for _, f := range bad {
		_, err := LoadProtection(ctx, r, f.ID)
		switch {
		case err == nil, backend.IsNotExist(err):
			continue
		case !repo.IsDamaged(err):
			return removed, err
		}
		if rerr := r.RemoveFile(ctx, repo.ProtectFile, f.ID); backend.IsNotExist(rerr) {
			continue // removed by someone else meanwhile
		} else if rerr != nil {
			return removed, fmt.Errorf("remove protection file %s: %w", f.ID.Short(), rerr)
		}
		removed = append(removed, UnreadableProtection{ID: f.ID, Err: err})
	}
	return removed, nil
}

// longest returns the active protection among ps that matches and lasts
// longest (one without end beats every other).
func longest(ps []Protection, now time.Time, match func(Protection) bool) (bool, Protection) {
	var best Protection
	found := false
	for _, p := range ps {
		if !p.Active(now) || !match(p) {
			continue
		}
		switch {
		case !found:
		case best.Until.IsZero():
			continue
		case !p.Until.IsZero() && !p.Until.After(best.Until):
			continue
		}
		best, found = p, true
	}
	return found, best
}

// MayCoverUnreadable returns the protections among ps that hold at now and
// may cover a snapshot whose file cannot be read: those that name its ID,
// and those that may cover it through a tag change, since its original is
// inside the file. A protection may when it has an Original, or when the
// snapshot it names is not one of the readable snapshots (exists reports
// those): a tag change replaces the snapshot it starts from.
func MayCoverUnreadable(ps []Protection, id repo.ID, exists func(repo.ID) bool, now time.Time) []Protection {
	var out []Protection
	for _, p := range ps {
		if p.Active(now) && (p.Snapshot == id || !p.Original.IsNull() || !exists(p.Snapshot)) {
			out = append(out, p)
		}
	}
	return out
}

// IsProtected reports whether a protection among ps that holds at now names
// the snapshot id, and returns the one that lasts longest. Expired
// protections do not count.
func IsProtected(ps []Protection, id repo.ID, now time.Time) (bool, Protection) {
	return longest(ps, now, func(p Protection) bool { return p.Snapshot == id })
}

// ProtectionOf is IsProtected for a loaded snapshot: it also finds the
// protections of the snapshot that sn replaced by a tag change.
func ProtectionOf(ps []Protection, sn *Snapshot, now time.Time) (bool, Protection) {
	return longest(ps, now, func(p Protection) bool { return p.Covers(sn) })
}

// ProtectedBy returns a function for retention.Options.Protected: a
// snapshot is protected if a protection among ps holds at now, and the
// reason is that protection's (retention writes "protected: REASON").
func ProtectedBy(ps []Protection, now time.Time) func(*Snapshot) (bool, string) {
	return func(sn *Snapshot) (bool, string) {
		ok, p := ProtectionOf(ps, sn, now)
		return ok, p.Reason
	}
}

// LastsAsLong reports whether p holds at least as long as q: p has no
// end, or both end and p not before q.
func (p Protection) LastsAsLong(q Protection) bool {
	return p.Until.IsZero() || (!q.Until.IsZero() && !p.Until.Before(q.Until))
}

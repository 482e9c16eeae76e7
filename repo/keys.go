package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/repo/backend"
)

// KeyInfo describes one key file.
type KeyInfo struct {
	ID       ID               `json:"id"`
	Current  bool             `json:"current"`
	Created  time.Time        `json:"created"`
	Host     string           `json:"host"`
	Username string           `json:"username"`
	KDF      crypto.KDFParams `json:"kdf"`
	// Err says why the key file cannot be read (damaged, or of a newer
	// format); the other fields are then empty but ID. Problem is its
	// text for --json, where such an entry has only id, current (false)
	// and problem: zero times and costs would read as real ones.
	Err     error  `json:"-"`
	Problem string `json:"problem,omitempty"`
}

// MarshalJSON leaves out of an unreadable key file's entry what it cannot
// know.
func (k KeyInfo) MarshalJSON() ([]byte, error) {
	if k.Err != nil {
		return json.Marshal(struct {
			ID      ID     `json:"id"`
			Current bool   `json:"current"`
			Problem string `json:"problem"`
		}{k.ID, k.Current, k.Problem})
	}
	type plain KeyInfo // without this method
	return json.Marshal(plain(k))
}

func (r *Repository) saveKeyFile(ctx context.Context, password []byte, p crypto.KDFParams) (ID, error) {
	if len(password) == 0 {
		return ID{}, errors.New("empty password")
	}
	host, user := hostAndUser()
	kf, err := crypto.NewKeyFile(r.key, password, p, host, user, time.Now())
	if err != nil {
		return ID{}, err
	}
	b, err := kf.Marshal()
	if err != nil {
		return ID{}, err
	}
	id := storedName(b)
	h := backend.Handle{Type: KeyFile, Name: id.String()}
	if err := checkSaveLimit(h, b); err != nil {
		return ID{}, err
	}
	if err := r.be.Save(ctx, h, b); err != nil {
		return ID{}, fmt.Errorf("save %s: %w", h, err)
	}
	return id, nil
}

// loadKeyFile loads a key file and checks that its bytes match its name.
func loadKeyFile(ctx context.Context, be backend.Backend, id ID) (*crypto.KeyFile, error) {
	h := backend.Handle{Type: KeyFile, Name: id.String()}
	b, err := loadLimited(ctx, be, h)
	if IsDamaged(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", h, err)
	}
	if storedName(b) != id {
		return nil, damaged(h, nil, "SHA-256 of its %d bytes does not match its name", len(b))
	}
	kf, err := crypto.ParseKeyFile(b)
	if err != nil {
		return nil, unreadable(h, nil, err) // its bytes match its name
	}
	return kf, nil
}

// keyCandidate is a key file that unlock may try.
type keyCandidate struct {
	id ID
	kf *crypto.KeyFile
}

// byKDFCost orders key files cheapest first (memory times passes), keeping
// the order of their names among equals. Anyone who can upload a file can
// add a key file with the highest cost the bounds allow (4 GiB, 100
// passes) under a name ground to sort first: tried in name order, it ran
// before the genuine key at every open, for minutes and gigabytes.
func byKDFCost(cands []keyCandidate) {
	sort.SliceStable(cands, func(i, j int) bool { return kdfCost(cands[i].kf.Params) < kdfCost(cands[j].kf.Params) })
}

func kdfCost(p crypto.KDFParams) uint64 { return uint64(p.Memory) * uint64(p.Time) }

// unwrapCancellable is kf.Unwrap that returns when ctx is done (Ctrl-C).
// argon2id cannot be interrupted: its goroutine runs on to its end, which
// in a command that then exits is the end of the process.
func unwrapCancellable(ctx context.Context, unwrap func() (*crypto.Key, error)) (*crypto.Key, error) {
	type result struct {
		k   *crypto.Key
		err error
	}
	done := make(chan result, 1)
	go func() {
		k, err := unwrap()
		done <- result{k, err}
	}()
	select {
	case r := <-done:
		return r.k, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ErrKeyNotTried is wrapped by the error of an open that found no key for
// the password among the key files it tried, and did not try some because
// their key derivation asks for more memory than the machine has free.
var ErrKeyNotTried = errors.New("some key files were not tried")

// slowKDFCost is 16 times the cost of a writer's default (64 MiB, three
// passes; about 0.1-0.2 s): a key file that costs more takes seconds to
// minutes, and unlock says so before it runs.
const slowKDFCost = 16 * (64 << 10) * 3

// unlockLimits bound what unlock spends on a key file.
type unlockLimits struct {
	mem  uint64                          // KiB of argon2id memory at most; 0: no limit
	slow func(id ID, p crypto.KDFParams) // told before a costly key file is tried
}

// unlock tries every key file with the password. Key files are checked
// against their names first, so a failure to decrypt an intact key file
// means the password is wrong, not that the file is damaged. fits, if not
// nil, confirms that an opened key is the repository's (it opens the
// config): a key file left by an interrupted create, under the same
// password, opens but fits nothing, and the next key file is tried.
//
// A key file whose argon2id asks for more than lim.mem KiB (0: no limit) is
// not tried: it would run the machine out of memory, and anyone who can
// upload a file can add one (tried cheapest first, it would run only when
// the password opened no other, a mistyped one for instance). Before one
// that costs far more than a writer's default, lim.slow is told.
func unlock(ctx context.Context, be backend.Backend, password []byte, lim unlockLimits, fits ...func(*crypto.Key) error) (*crypto.Key, ID, error) {
	kdfMem := lim.mem
	var ids []ID
	err := be.List(ctx, KeyFile, func(fi backend.FileInfo) error {
		if id, err := ParseID(fi.Name); err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, ID{}, fmt.Errorf("list keys in %s: %w", be.Location(), err)
	}
	if len(ids) == 0 {
		// Every caller has read the config already: the repository is
		// there, its keys are not (deleted, or a copy that left keys/ out).
		return nil, ID{}, fmt.Errorf("%s: %w", be.Location(), ErrKeysMissing)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	var damage, newer []error
	// Every key file is read first (a few hundred bytes each), and they
	// are tried cheapest first (byKDFCost).
	var cands []keyCandidate
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, ID{}, err
		}
		kf, err := loadKeyFile(ctx, be, id)
		if errors.Is(err, ErrUnsupportedVersion) {
			newer = append(newer, err)
			continue
		}
		if err != nil {
			damage = append(damage, err)
			continue
		}
		cands = append(cands, keyCandidate{id, kf})
	}
	byKDFCost(cands)
	var misfit error // the last key that opened but is not the repository's
	rejected := 0    // intact key files that the password did not open
	var costly []error
	for _, c := range cands {
		if err := ctx.Err(); err != nil {
			return nil, ID{}, err
		}
		id, kf := c.id, c.kf
		if kdfMem > 0 && uint64(kf.Params.Memory) > max(kdfMem, kdfMemoryFloor) {
			costly = append(costly, fmt.Errorf("key %s was not tried: its key derivation asks for %d MiB of memory, more than this machine has free (%d MiB); if it is a key of yours, open the repository where more memory is free; if not (anyone who can upload a file can add one), 'cadang key remove %s' removes it",
				id.Short(), kf.Params.Memory>>10, kdfMem>>10, id))
			continue
		}
		var k *crypto.Key
		var err error
		if kdfCost(kf.Params) > slowKDFCost {
			// Announced only once the password failed a key file: a
			// costly key of one's own is no news at every open.
			if lim.slow != nil && rejected > 0 {
				lim.slow(id, kf.Params)
			}
			k, err = unwrapCancellable(ctx, func() (*crypto.Key, error) { return kf.Unwrap(password) })
			if ctx.Err() != nil {
				return nil, ID{}, ctx.Err()
			}
		} else {
			k, err = kf.Unwrap(password)
		}
		switch {
		case err == nil:
			if len(fits) > 0 && fits[0] != nil {
				if ferr := fits[0](k); ferr != nil {
					misfit = ferr
					continue
				}
			}
			return k, id, nil
		case errors.Is(err, crypto.ErrWrongPassword):
			rejected++
		case errors.Is(err, ErrUnsupportedVersion):
			newer = append(newer, fmt.Errorf("key %s: %w", id.Short(), err))
		default:
			damage = append(damage, fmt.Errorf("key %s: %w", id.Short(), err))
		}
	}
	// notes keeps the damaged and newer key files reachable with
	// errors.As while saying which is which.
	var notes error
	switch {
	case len(damage) > 0 && len(newer) > 0:
		notes = fmt.Errorf("%d damaged key file(s): %w; %d key file(s) written by a newer cadang: %w",
			len(damage), errors.Join(damage...), len(newer), errors.Join(newer...))
	case len(damage) > 0:
		notes = fmt.Errorf("%d damaged key file(s): %w", len(damage), errors.Join(damage...))
	case len(newer) > 0:
		notes = fmt.Errorf("%d key file(s) written by a newer cadang: %w", len(newer), errors.Join(newer...))
	}
	if len(costly) > 0 {
		c := fmt.Errorf("%d key file(s) not tried: %w", len(costly), errors.Join(costly...))
		if notes != nil {
			c = fmt.Errorf("%w; %w", notes, c)
		}
		notes = c
	}
	switch {
	case misfit != nil:
		// The password opened a key, and that key opened no config: the
		// config is what is wrong.
		return nil, ID{}, misfit
	case len(costly) > 0:
		// The password may be right for a key not tried: not a wrong
		// password (exit 12), but a key file to remove or memory to free.
		if rejected == 0 {
			return nil, ID{}, fmt.Errorf("%s: %w: no key file could be tried: %w", be.Location(), ErrKeyNotTried, notes)
		}
		return nil, ID{}, fmt.Errorf("%s: %w: none of the key files tried opens with the password (%w)", be.Location(), ErrKeyNotTried, notes)
	case rejected == 0 && len(newer) > 0 && len(damage) == 0:
		return nil, ID{}, fmt.Errorf("%s: no key file can be read: %w", be.Location(), errors.Join(newer...))
	case rejected == 0:
		// No intact key file was tried: the password may well be right.
		return nil, ID{}, fmt.Errorf("%s: no key file can be read: %w", be.Location(), errors.Join(append(damage, newer...)...))
	case notes != nil:
		return nil, ID{}, fmt.Errorf("%w (and %w)", ErrWrongPassword, notes)
	}
	return nil, ID{}, fmt.Errorf("%s: %w: none of its %d key file(s) opens with it; nothing was changed", be.Location(), ErrWrongPassword, len(ids))
}

// KDFFloor returns the cheapest argon2id cost AddKey and ChangePassword
// accept without KeyOptions.InsecureKDF: OWASP's minimum for password
// storage, 19 MiB of memory and two passes (one lane). A key file is
// public to whoever can read the repository, so its KDF cost is all that
// stands between a stolen copy and an offline guess of the password.
func KDFFloor() crypto.KDFParams { return crypto.KDFParams{Time: 2, Memory: 19 << 10, Threads: 1} }

// ErrWeakKDF is returned (wrapped) for KDF parameters below KDFFloor.
var ErrWeakKDF = errors.New("argon2id cost below OWASP's minimum (19 MiB of memory, 2 passes)")

// CheckKDF returns an error wrapping ErrWeakKDF when p spends less memory
// or fewer passes than KDFFloor. Both must reach the floor: memory is what
// makes argon2id expensive on GPUs, and more passes over less memory do
// not buy it back.
func CheckKDF(p crypto.KDFParams) error {
	f := KDFFloor()
	if p.Memory < f.Memory || p.Time < f.Time {
		return fmt.Errorf("%w: time %d, memory %d KiB", ErrWeakKDF, p.Time, p.Memory)
	}
	return nil
}

// KeyOptions are the settings of a new key file.
type KeyOptions struct {
	// KDF is the argon2id cost; zero means crypto.DefaultKDFParams().
	KDF crypto.KDFParams
	// InsecureKDF accepts a KDF below KDFFloor (test suites, which create
	// many repositories; never a real one).
	InsecureKDF bool
}

// AddKey wraps the master key under a new password and returns the new
// key file's ID. A KDF below KDFFloor is refused (ErrWeakKDF) unless
// o.InsecureKDF.
func (r *Repository) AddKey(ctx context.Context, password []byte, o KeyOptions) (ID, error) {
	p := o.KDF
	if p == (crypto.KDFParams{}) {
		p = crypto.DefaultKDFParams()
	}
	if !o.InsecureKDF {
		if err := CheckKDF(p); err != nil {
			return ID{}, err
		}
	}
	return r.saveKeyFile(ctx, password, p)
}

// KeyID returns the ID of the key file this repository was opened with.
func (r *Repository) KeyID() ID { return r.keyID }

// ListKeys describes every key file. One that cannot be read (damaged:
// anyone who can upload a file can put one in keys/; or of a newer format)
// is listed with Err set, so that it can be named to RemoveKey; a fault of
// the backend stops the listing.
func (r *Repository) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	err := r.ListFiles(ctx, KeyFile, func(id ID) error {
		kf, err := loadKeyFile(ctx, r.be, id)
		switch {
		case backend.IsNotExist(err):
			return nil // removed since the listing
		case IsDamaged(err) || errors.Is(err, ErrUnsupportedVersion):
			out = append(out, KeyInfo{ID: id, Err: err, Problem: err.Error()})
			return nil
		case err != nil:
			return err
		}
		out = append(out, KeyInfo{ID: id, Current: id == r.keyID, Created: kf.Created, Host: kf.Host, Username: kf.Username, KDF: kf.Params})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// RemoveKey deletes a key file. The key this repository was opened with
// cannot be removed (use ChangePassword), so a repository always keeps at
// least one key that is known to work. A damaged key file, or one of a
// newer format, can be removed: it opens nothing here, and anyone who can
// upload a file can add one (a key file is checked only against its
// hash); removing a genuine newer one loses only its password.
func (r *Repository) RemoveKey(ctx context.Context, id ID) error {
	if id == r.keyID {
		return fmt.Errorf("key %s is the one in use; use 'key passwd' to replace it", id.Short())
	}
	if _, err := loadKeyFile(ctx, r.be, id); err != nil && !IsDamaged(err) && !errors.Is(err, ErrUnsupportedVersion) {
		return err
	}
	return r.be.Remove(ctx, backend.Handle{Type: KeyFile, Name: id.String()})
}

// ChangePassword adds a key file for the new password and then removes the
// one in use. The new file is written first, so a crash in between leaves
// both passwords working rather than none. The new key file's KDF is
// checked as AddKey checks it. On a storage that refuses removals it adds
// nothing and returns an *AppendOnlyError: a changed password must not
// leave the old one working.
func (r *Repository) ChangePassword(ctx context.Context, password []byte, o KeyOptions) (ID, error) {
	if err := r.RefuseAppendOnly("key passwd"); err != nil {
		return ID{}, err
	}
	id, err := r.AddKey(ctx, password, o)
	if err != nil {
		return ID{}, err
	}
	old := r.keyID
	r.keyID = id
	if err := r.be.Remove(ctx, backend.Handle{Type: KeyFile, Name: old.String()}); err != nil {
		return id, fmt.Errorf("new key %s saved, but removing old key %s failed: %w", id.Short(), old.Short(), err)
	}
	return id, nil
}

// FindID resolves a unique hex prefix of a file ID of type t.
func (r *Repository) FindID(ctx context.Context, t FileType, prefix string) (ID, error) {
	var found []ID
	err := r.ListFiles(ctx, t, func(id ID) error {
		if len(prefix) <= 64 && id.String()[:len(prefix)] == prefix {
			found = append(found, id)
		}
		return nil
	})
	if err != nil {
		return ID{}, err
	}
	switch len(found) {
	case 0:
		return ID{}, fmt.Errorf("no %s file matches %q: %w", t, prefix, backend.ErrNotExist)
	case 1:
		return found[0], nil
	}
	return ID{}, fmt.Errorf("prefix %q matches %d %s files; give more digits", prefix, len(found), t)
}

func jsonUnmarshalStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/lpse/cadang/internal/errclass"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/copier"
)

// Copier copies a job's snapshots to its offsite medium with the library
// (run.Copier): the offsite repository is opened at any location
// (repo/backend/location: a path, s3:..., sftp://...) and snapshot/copier
// copies into it, re-encrypting and uploading only the blobs it lacks.
type Copier struct {
	// KDFMemory is repo.Options.KDFMemory for the offsite open.
	KDFMemory uint64
	// Config makes relative paths of [job.offsite] (a local repository,
	// the password file, SFTP key files) relative to the configuration
	// file; may be nil.
	Config *jobs.Config
	// Logf receives the engine's notices (stale locks removed...).
	Logf func(string, ...any)
	// Warnf receives warnings that --quiet must not hide (a password
	// file others can read).
	Warnf func(string, ...any)
	// Location, if set, adjusts the offsite location before it is opened
	// (e.g. SetRetryNotify, to say why a copy waits).
	Location func(*location.Location)

	mu sync.Mutex
	// unlisted holds, by repository ID, the snapshot files Snapshots
	// could not read, for Copy to report as not copied.
	unlisted map[string]map[repo.ID]error
}

func (c *Copier) warn(msg string) {
	switch {
	case c.Warnf != nil:
		c.Warnf("%s", msg)
	case c.Logf != nil:
		c.Logf("%s", msg)
	}
}

func (c *Copier) abs(p string) string {
	if c.Config == nil {
		return p
	}
	return c.Config.Abs(p)
}

// OffsiteLockWait is how long an offsite copy waits for another copy into
// the same offsite repository (another job's, run at the same hour) to end.
const OffsiteLockWait = time.Hour

// OpenOffsite implements run.Copier: it opens the offsite repository
// with a copy lock (repo.CopyLock), waiting up to OffsiteLockWait for
// another copy's. Errors name the offsite medium.
func (c *Copier) OpenOffsite(ctx context.Context, o jobs.Offsite) (run.Repository, error) {
	l, err := location.Parse(o.Repository)
	if err != nil {
		return nil, fmt.Errorf("offsite %s: %w", o.Name, err)
	}
	switch l.Kind {
	case location.Local:
		l.Path = c.abs(l.Path)
	case location.SFTP:
		if o.SFTPIdentity != "" {
			l.SFTP.IdentityFile = c.abs(o.SFTPIdentity)
		}
		if o.SFTPKnownHosts != "" {
			l.SFTP.KnownHostsFile = c.abs(o.SFTPKnownHosts)
		}
	}
	if c.Location != nil {
		c.Location(&l)
	}
	pw, err := ReadPassword(c.abs(o.PasswordFile), c.warn)
	if err != nil {
		if c.Config != nil {
			if ref := c.Config.OffsitePasswordFile(o); ref != nil {
				err = c.Config.PasswordFileError(*ref, err)
			}
		}
		return nil, fmt.Errorf("offsite %s: %w", o.Name, err)
	}
	be, err := location.Open(ctx, l)
	if err != nil {
		return nil, runlog.Fail(errclass.Kind(err), fmt.Errorf("offsite %s at %s: %w", o.Name, l, err))
	}
	// A copy lock, as cadang copy takes: a copy running into the offsite
	// repository now (by hand, or another job's) would otherwise save the
	// same snapshots a second time. Another job's copy is waited for.
	r, err := repo.Open(ctx, be, pw, repo.Options{Lock: repo.CopyLock, LockWait: OffsiteLockWait, Logf: c.Logf, Warnf: c.Warnf, AfterUnlock: debug.FreeOSMemory, KDFMemory: c.KDFMemory})
	if err != nil {
		be.Close()
		if errors.Is(err, repo.ErrWrongPassword) {
			// Which password was wrong: the file the job names.
			where := c.abs(o.PasswordFile)
			if c.Config != nil {
				where = c.Config.PasswordFileWhere(o.PasswordFile, c.Config.OffsitePasswordFile(o))
			}
			err = fmt.Errorf("%w (the password read from %s)", err, where)
		}
		return nil, runlog.Fail(errclass.Kind(err), fmt.Errorf("offsite %s at %s: %w", o.Name, l, err))
	}
	return r, nil
}

// Snapshots implements run.Copier.
func (c *Copier) Snapshots(ctx context.Context, r run.Repository) ([]*snapshot.Snapshot, error) {
	fl, ok := r.(snapshot.FileLoader)
	if !ok {
		return nil, fmt.Errorf("engine: %T is not a snapshot repository", r)
	}
	bad := map[repo.ID]error{}
	sns, err := snapshot.ListSnapshotsSkipping(ctx, fl, snapshot.Filter{}, snapshot.PassUnreadable(func(id repo.ID, err error) {
		if snapshot.Passed(err) {
			// Never a snapshot (or too large to be read as one): junk
			// must not make every copy partial.
			c.warn(fmt.Sprintf("snapshot file %s of repository %.8s is passed over: %s", id.Short(), r.ID(), snapshot.PassedWhy(err)))
			return
		}
		bad[id] = err
	}))
	c.mu.Lock()
	if c.unlisted == nil {
		c.unlisted = map[string]map[repo.ID]error{}
	}
	c.unlisted[r.ID()] = bad
	c.mu.Unlock()
	return sns, err
}

// Copy implements run.Copier with snapshot/copier.
func (c *Copier) Copy(ctx context.Context, dst, src run.Repository, sns []*snapshot.Snapshot) (copier.Result, error) {
	d, ok1 := dst.(*repo.Repository)
	s, ok2 := src.(*repo.Repository)
	if !ok1 || !ok2 {
		return copier.Result{}, errors.New("engine: copy needs two repositories")
	}
	c.mu.Lock()
	unlisted := c.unlisted[s.ID()]
	c.mu.Unlock()
	return copier.Copy(ctx, d, s, sns, copier.Options{Unlisted: unlisted, Unreadable: func(id repo.ID, err error) {
		c.warn(fmt.Sprintf("snapshot %s of the offsite repository cannot be read and is left out: %v", id.Short(), err))
	}, UnreadableForgotten: func(id repo.ID, err error) {
		c.warn(fmt.Sprintf("forgotten file %s of the offsite repository cannot be read, so the snapshots it recorded may be copied again: %v ('cadang repair forgotten' removes it)", id.Short(), err))
	}, UnreadableProtection: func(id repo.ID, err error) {
		// The copy goes on (its record lists the file): the snapshots
		// must reach the offsite medium, protected or not.
		c.warn(UnreadableProtectionText(id, "repository "+short(s.ID()), "the offsite repository", err))
	}})
}

// UnreadableProtectionText is the warning of a copy (cadang copy, the
// offsite copy of cadang run) for a protection file of the source, of
// repository src, that it cannot read: which snapshot the file protects
// cannot be told, so none is protected by it on dst.
func UnreadableProtectionText(id repo.ID, src, dst string, err error) string {
	return fmt.Sprintf("protection file %s of %s cannot be read, so the snapshot it protects (which cannot be told) is not protected by it in %s: %v "+
		"(on %s, 'cadang protect --list' names the file and 'cadang protect --remove-unreadable' removes it; protect again there what must stay, and copy again)",
		id.Short(), src, dst, err, src)
}

// short is the first 8 characters of a repository ID.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

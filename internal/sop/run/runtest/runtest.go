// Package runtest provides fakes of the engine for tests of the SOP layer:
// a drive bay where one medium at a time is connected, and a backupper
// whose results a test scripts.
package runtest

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/runlog/runlogtest"
)

// Repo is a fake repository: an ID and an in-memory record store.
type Repo struct {
	RepoID string
	*runlogtest.MemStore
}

// ID returns the repository ID.
func (r *Repo) ID() string { return r.RepoID }

// Close does nothing.
func (r *Repo) Close() error { return nil }

// Bay is the place where backup media are connected: it opens whichever
// repository is connected, whatever medium is asked for, as a real mount
// point would.
type Bay struct {
	mu        sync.Mutex
	repos     map[string]*Repo // by repository ID
	connected string
	// OpenErr, when set, is returned by Open (e.g. a wrong password).
	OpenErr error
	// PasswordOf, when set, gives the password file that opens each
	// repository (by ID): Open with another medium's fails as a wrong
	// password would.
	PasswordOf map[string]string
}

// NewBay returns a bay with one repository per medium of the jobs.
func NewBay(c *jobs.Config) *Bay {
	b := &Bay{repos: map[string]*Repo{}}
	for _, j := range c.Jobs {
		for _, m := range j.Media {
			if b.repos[m.RepositoryID] == nil {
				b.repos[m.RepositoryID] = &Repo{RepoID: m.RepositoryID, MemStore: runlogtest.New()}
			}
		}
	}
	return b
}

// Connect connects the repository with the given ID ("" disconnects all).
func (b *Bay) Connect(id string) {
	b.mu.Lock()
	b.connected = id
	b.mu.Unlock()
}

// Repo returns the repository with the given ID.
func (b *Bay) Repo(id string) *Repo { return b.repos[id] }

// Open implements run.Opener.
func (b *Bay) Open(_ context.Context, m jobs.Medium) (run.Repository, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.OpenErr != nil {
		return nil, b.OpenErr
	}
	r, ok := b.repos[b.connected]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", m.Repository, fs.ErrNotExist)
	}
	if pw, ok := b.PasswordOf[b.connected]; ok && pw != m.PasswordFile {
		return nil, runlog.Failf(runlog.KindWrongPassword, "open %s: no key found for the password", m.Repository)
	}
	return r, nil
}

// Backupper is a scripted backupper: it returns Results[source name] (or a
// default), after advancing Clock by Took.
type Backupper struct {
	Clock   *clock.Fake
	Took    time.Duration
	Results map[string]run.BackupResult
	Errs    map[string]error
	n       int
	Calls   []run.BackupOptions
}

// Backup implements run.Backupper.
func (f *Backupper) Backup(_ context.Context, r run.Repository, src jobs.Source, o run.BackupOptions) (run.BackupResult, error) {
	f.n++
	f.Calls = append(f.Calls, o)
	if f.Clock != nil {
		f.Clock.Advance(f.Took)
	}
	if err := f.Errs[src.Name]; err != nil {
		return run.BackupResult{}, err
	}
	if res, ok := f.Results[src.Name]; ok {
		return res, nil
	}
	return run.BackupResult{Snapshot: fmt.Sprintf("%064x", f.n), FilesRead: 100, FilesAdded: 3,
		BytesRead: 300 << 20, BytesAdded: 12 << 20}, nil
}

// Notifier records notices.
type Notifier struct {
	mu   sync.Mutex
	Sent []runlog.Record
}

// Notify implements run.Notifier.
func (n *Notifier) Notify(_ context.Context, _ jobs.Notify, rec runlog.Record) error {
	n.mu.Lock()
	n.Sent = append(n.Sent, rec)
	n.mu.Unlock()
	return nil
}

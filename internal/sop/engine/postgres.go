package engine

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/pgdb"
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/backup"
)

// GlobalsFile is the file of a databases source's snapshot that holds the
// cluster's roles and tablespaces (pg_dumpall --globals-only).
const GlobalsFile = "globals.sql"

// DatabaseFile is the file of a databases source's snapshot that holds
// database db (pg_dump -Fc -Z0): db + ".dump", with a name that could
// leave the spool directory ("/", a leading ".") percent-encoded
// (pgdb.DumpFile).
func DatabaseFile(db string) string { return pgdb.DumpFile(db) }

// pgDumps is what dumpDatabases wrote to the spool directory.
type pgDumps struct {
	dir       string
	files     []string // in the snapshot, /globals.sql first
	databases []string
	checks    []runlog.CheckValue
}

// dumpDatabases dumps a databases source into a new directory below its
// spool directory: the globals, then each database in the snapshot of a
// session that first runs the job's compare = "source" checks on it, so
// that the values recorded describe the dump exactly. The caller removes
// the directory.
func dumpDatabases(ctx context.Context, job *jobs.Job, src jobs.Source) (*pgDumps, error) {
	c := pgdb.FromSource(src)
	dbs := src.Databases
	if len(dbs) == 1 && dbs[0] == jobs.AllDatabases {
		var err error
		if dbs, err = c.Databases(ctx); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(src.Spool, "cadang-pgdump-")
	if err != nil {
		return nil, fmt.Errorf("spool directory: %w", err)
	}
	d := &pgDumps{dir: dir, databases: dbs}
	if err := c.DumpGlobals(ctx, filepath.Join(dir, GlobalsFile)); err != nil {
		return d, err
	}
	d.files = append(d.files, "/"+GlobalsFile)
	for _, db := range dbs {
		if err := d.dumpOne(ctx, c, job, db, len(dbs)); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (d *pgDumps) dumpOne(ctx context.Context, c pgdb.Conn, job *jobs.Job, db string, n int) error {
	s, err := c.Begin(ctx, db)
	if err != nil {
		return err
	}
	defer s.Close()
	if job != nil {
		for _, ch := range job.ChecksFor(db, n) {
			if ch.Compare != jobs.CompareSource {
				continue
			}
			v, err := s.Query(ch.Query)
			if err != nil {
				return fmt.Errorf("check %q: %w", ch.Query, err)
			}
			d.checks = append(d.checks, runlog.CheckValue{Database: db, Query: ch.Query, Value: v})
		}
	}
	if err := c.Dump(ctx, db, s.Snapshot, filepath.Join(d.dir, DatabaseFile(db))); err != nil {
		return err
	}
	d.files = append(d.files, "/"+DatabaseFile(db))
	return s.Close()
}

// backupDatabases backs up a databases source: its dumps, spooled, as the
// files /globals.sql and /DB.dump of one snapshot. A dump that fails
// fails the source (kind dump-failed) and no snapshot is written.
func (b *Backupper) backupDatabases(ctx context.Context, ar archiver.Repository, src jobs.Source, o run.BackupOptions, bo backup.Options) (run.BackupResult, error) {
	var res run.BackupResult
	d, err := dumpDatabases(ctx, o.Job, src)
	if d != nil {
		defer os.RemoveAll(d.dir)
	}
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, runlog.Fail(runlog.KindDumpFailed, err)
	}
	bo.Paths, bo.FS = d.files, spoolFS{dir: d.dir}
	res, err = b.runBackup(ctx, ar, src, bo)
	res.Databases, res.Checks = d.databases, d.checks
	return res, err
}

// spoolFS shows the spool directory as the root of the file system, so
// that the snapshot holds /globals.sql and /DB.dump, not the temporary
// directory's path.
type spoolFS struct{ dir string }

func (s spoolFS) real(name string) string {
	return filepath.Join(s.dir, filepath.FromSlash(path.Clean("/"+name)))
}

func (s spoolFS) Lstat(name string) (os.FileInfo, error) {
	return archiver.LocalFS{}.Lstat(s.real(name))
}
func (s spoolFS) ReadDirNames(name string) ([]string, error) {
	return archiver.LocalFS{}.ReadDirNames(s.real(name))
}
func (s spoolFS) Open(name string) (archiver.File, error) {
	return archiver.LocalFS{}.Open(s.real(name))
}
func (s spoolFS) Readlink(name string) (string, error) {
	return archiver.LocalFS{}.Readlink(s.real(name))
}
func (s spoolFS) Xattrs(name string) ([]snapshot.Xattr, error) {
	return archiver.LocalFS{}.Xattrs(s.real(name))
}

package repo

import "github.com/lpse/cadang/repo/backend"

// FileType is the kind of a stored file; see package backend.
type FileType = backend.FileType

// The file types of a repository, re-exported for callers of this package.
const (
	ConfigFile   = backend.ConfigFile
	KeyFile      = backend.KeyFile
	PackFile     = backend.PackFile
	IndexFile    = backend.IndexFile
	SnapshotFile = backend.SnapshotFile
	LockFile     = backend.LockFile
	RecordFile   = backend.RecordFile
	ObsoleteFile = backend.ObsoleteFile
	ProtectFile  = backend.ProtectFile
	// ForgottenFile holds records of forgotten snapshots (package snapshot).
	ForgottenFile = backend.ForgottenFile
)

// Package archiver makes snapshots: it backs up paths of a file system,
// or a stream such as a database dump, into a repository.
//
// An Archiver walks the backup paths, compares each regular file with the
// parent snapshot and reuses its content when size, mtime, ctime and inode
// are unchanged (the file is not opened). Other files are read by
// ReadConcurrency readers; small files (below the chunker's minimum) become
// one blob without chunking, larger ones are cut by the content-defined
// chunker and their chunks handed to SaveConcurrency savers, which call
// Repository.SaveBlob (hash, compress, encrypt) in parallel. Buffers come
// from bounded pools and channels are bounded, so memory stays at about
// (readers+savers) × the maximum chunk size. A directory's tree blob is
// saved as soon as its last entry is done; the walk never waits for file
// content. After all blobs, the repository is flushed and the snapshot
// saved.
//
// Items that cannot be read are reported to Progress and ErrorFunc; the
// snapshot is still saved and Snapshot returns an *IncompleteError
// (errors.Is(err, ErrIncomplete)) with it, for exit code 3.
// ArchiveReader and SnapshotFromCommand back up a stream as one file; a
// command that fails yields a *CommandError and no snapshot.
//
// The archiver sees the repository only through Repository and the source
// only through FS (LocalFS by default), so tests can count reads and
// inject faults. Matcher is the pattern syntax of excludes, shared with
// the restorer's includes and excludes and with walker.Find.
//
// The format it writes is package snapshot's; package restorer writes a
// snapshot back, walker reads it and checker checks it.
package archiver

// Package snapshot holds cadang's trees and snapshots, the archiver that
// makes them and the restorer that writes them back, plus the helpers the
// CLI's read-only commands need (ls, find, diff, dump, stats, tag, and the
// tree walk of check).
//
// The package sees the repository only through the Repository interface
// (implemented by *repo.Repository; snapshottest.Repo is an in-memory fake)
// and the source file system only through FS (LocalFS by default), so tests
// can count reads and inject faults.
//
// # Backup
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
// # Restore
//
// A Restorer plans the files to write, groups their blobs by pack, loads
// each pack's blobs once (Repository.LoadBlobsFromPack) and writes them at
// their offsets from several workers. A blob that is damaged or missing
// fails only the files that use it; Restore then returns a *RestoreError
// listing them, after restoring everything else.
//
// The encodings of trees and snapshot files are specified in
// doc/design-snapshot.md.
package snapshot

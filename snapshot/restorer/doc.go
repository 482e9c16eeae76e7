// Package restorer writes (part of) a snapshot made by package archiver
// back into a directory, with content, holes, hardlinks, owners, modes,
// times and extended attributes.
//
// A Restorer plans the files to write, groups their blobs by pack, loads
// each pack's blobs once (Repository.LoadBlobsFromPack) and writes them at
// their offsets from several workers. A blob that is damaged or missing
// fails only the files that use it; Restore then returns a *RestoreError
// listing them, after restoring everything else. Files left unfinished by
// an interrupted restore are removed.
//
// Everything is written beneath the target directory, reached from one
// descriptor of it without following any symlink (openat2 with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or openat with O_NOFOLLOW component
// by component), so that neither a symlink left in the target nor one
// planted while the restore runs leads outside it. A snapshot is treated
// as untrusted input: the planner counts what a tree expands to before
// expanding it and refuses trees that repeat on their own path or expand
// beyond MaxNodes, file extents are checked against sizes and blobs, and a
// panic becomes an error. NoOwner, NoDevices and XattrInclude/XattrExclude
// keep privileged metadata (setuid, device nodes, file capabilities) out
// of a restore.
//
// The format it reads is package snapshot's; package walker serves the
// other read-only uses of a snapshot (ls, find, diff, dump, stats).
package restorer

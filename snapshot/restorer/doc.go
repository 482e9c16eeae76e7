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
// The format it reads is package snapshot's; package walker serves the
// other read-only uses of a snapshot (ls, find, diff, dump, stats).
package restorer

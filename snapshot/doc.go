// Package snapshot holds cadang's backup format: the trees (Tree, Node,
// Extent and their canonical encoding) and the snapshot files (Snapshot,
// Summary) that name a root tree, with the operations on snapshot files:
// load, save, list, find (by ID prefix, latest, parent) and change tags.
//
// The jobs that use the format live in subpackages, one each, in the
// order of the pipeline:
//
//   - archiver walks a source file system, chunks and stores file content
//     and saves the trees and the snapshot (a backup);
//   - restorer writes (part of) a snapshot back into a directory;
//   - walker reads snapshots for the read-only commands: walk, ls, find,
//     diff, dump and stats;
//   - checker checks that every snapshot's trees load and every blob they
//     reference is indexed, next to the repository's own check;
//   - snapshottest is an in-memory repository for the tests of all of them.
//
// Code they share that is not API is in snapshot/internal: pattern (the
// path patterns of excludes, includes and find) and fsmeta (a Node's
// metadata from the operating system).
//
// Nothing here depends on a concrete repository. Each function takes the
// smallest interface with the methods it calls (BlobLoader, BlobSaver,
// FileLoader, FileSaver, FileRewriter, Loader), and each subpackage
// declares its own Repository from them; *repo.Repository implements all.
//
// The encodings of trees and snapshot files are specified in
// doc/design-snapshot.md.
package snapshot

// Package walker reads snapshots for cadang's read-only commands: Walk
// and FindNode go through the trees, Ls and Find list nodes, Diff compares
// two snapshots, Dump and WriteContent write a file's content (or a
// directory as a tar archive), and ComputeStats totals snapshots.
//
// Everything here only loads blobs (a snapshot.BlobLoader); ComputeStats
// also asks the index where blobs are stored (Repository). Snapshots are
// found with package snapshot; package archiver makes them, restorer
// writes them back into a directory and checker checks them.
package walker

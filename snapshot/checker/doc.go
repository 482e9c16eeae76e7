// Package checker checks the snapshots of a repository: that every
// snapshot's trees load and decode and every blob they reference is
// indexed (CheckTrees), together with the repository's own check of packs
// and index (Check, through PackChecker).
//
// It reads the format of package snapshot, as written by package archiver;
// package walker and restorer read the same trees for other jobs.
package checker

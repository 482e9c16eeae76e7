package snapfs

import (
	"io/fs"
	"time"

	"github.com/lpse/cadang/snapshot"
)

// fileInfo describes a node; it implements fs.FileInfo.
type fileInfo struct {
	name string
	n    *snapshot.Node
}

// Name is the base name of the file ("." for the root).
func (fi fileInfo) Name() string { return fi.name }

// Size is the length in bytes of a regular file, the length of the target
// of a symbolic link, and 0 for anything else.
func (fi fileInfo) Size() int64 {
	switch fi.n.Type {
	case snapshot.TypeFile:
		return fi.n.Size
	case snapshot.TypeSymlink:
		return int64(len(fi.n.LinkTarget))
	}
	return 0
}

// Mode is the node's type and permission bits.
func (fi fileInfo) Mode() fs.FileMode { return Mode(fi.n) }

// ModTime is the node's modification time.
func (fi fileInfo) ModTime() time.Time { return fi.n.ModTime }

// IsDir reports whether the node is a directory.
func (fi fileInfo) IsDir() bool { return fi.n.Type == snapshot.TypeDir }

// Sys returns a copy of the *snapshot.Node (the FS's own is cached and
// shared, so a caller's change must not reach it).
func (fi fileInfo) Sys() any {
	n := *fi.n
	n.Content = append([]snapshot.Extent(nil), fi.n.Content...)
	n.Xattrs = append([]snapshot.Xattr(nil), fi.n.Xattrs...)
	return &n
}

func (fi fileInfo) String() string { return fs.FormatFileInfo(fi) }

// dirEntry is a directory entry; it implements fs.DirEntry.
type dirEntry struct{ fi fileInfo }

func (e dirEntry) Name() string               { return e.fi.name }
func (e dirEntry) IsDir() bool                { return e.fi.IsDir() }
func (e dirEntry) Type() fs.FileMode          { return e.fi.Mode().Type() }
func (e dirEntry) Info() (fs.FileInfo, error) { return e.fi, nil }
func (e dirEntry) String() string             { return fs.FormatDirEntry(e) }

// Mode returns the fs.FileMode of a node: the type bits of n.Type
// (fs.ModeDir, fs.ModeSymlink, fs.ModeDevice with fs.ModeCharDevice for a
// character device, fs.ModeNamedPipe, fs.ModeSocket, none for a regular
// file, fs.ModeIrregular for an unknown type), the permission bits of
// n.Mode, and its setuid, setgid and sticky bits as fs.ModeSetuid,
// fs.ModeSetgid and fs.ModeSticky.
func Mode(n *snapshot.Node) fs.FileMode {
	m := fs.FileMode(n.Mode & 0o777)
	if n.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch n.Type {
	case snapshot.TypeFile:
	case snapshot.TypeDir:
		m |= fs.ModeDir
	case snapshot.TypeSymlink:
		m |= fs.ModeSymlink
	case snapshot.TypeCharDev:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case snapshot.TypeBlockDev:
		m |= fs.ModeDevice
	case snapshot.TypeFIFO:
		m |= fs.ModeNamedPipe
	case snapshot.TypeSocket:
		m |= fs.ModeSocket
	default:
		m |= fs.ModeIrregular
	}
	return m
}

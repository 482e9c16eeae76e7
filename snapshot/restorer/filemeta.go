package restorer

import (
	"path"
	"time"

	"github.com/lpse/cadang/snapshot"
)

// fileMeta is what a restore needs of a file's node once the plan is made:
// a third of a snapshot.Node's size. With a million small files the node
// (and the tree holding it) was most of a restore's memory; the planner
// copies this out and lets the trees go.
type fileMeta struct {
	mode, uid, gid uint32
	hasMTime       bool
	hasATime       bool
	mtime, atime   int64 // Unix nanoseconds
	size           int64
	content        []snapshot.Extent
	xattrs         []snapshot.Xattr
}

func newFileMeta(n *snapshot.Node) fileMeta {
	m := fileMeta{mode: n.Mode, uid: n.UID, gid: n.GID, size: n.Size, content: n.Content, xattrs: n.Xattrs}
	if !n.ModTime.IsZero() {
		m.hasMTime, m.mtime = true, n.ModTime.UnixNano()
	}
	if !n.AccessTime.IsZero() {
		m.hasATime, m.atime = true, n.AccessTime.UnixNano()
	}
	return m
}

// n returns the file's node: as planned, or rebuilt from its fileMeta once
// the plan has been compacted (for metadata and progress; a short-lived
// copy). Times are restored to the nanosecond, in UTC.
func (f *rFile) n() *snapshot.Node {
	if f.node != nil {
		return f.node
	}
	m := &f.fm
	n := &snapshot.Node{Name: path.Base(f.rel), Type: snapshot.TypeFile, Mode: m.mode, UID: m.uid, GID: m.gid,
		Size: m.size, Content: m.content, Xattrs: m.xattrs}
	if m.hasMTime {
		n.ModTime = time.Unix(0, m.mtime).UTC()
	}
	if m.hasATime {
		n.AccessTime = time.Unix(0, m.atime).UTC()
	}
	return n
}

// Package snapfs presents a snapshot as a read-only [io/fs.FS], so that a
// program can read files out of a backup with the standard library's
// idioms ([fs.ReadFile], [fs.WalkDir], [io.Copy], [fs.Sub], http.FS, ...),
// and so that mount, HTTP and WebDAV views can be built on one
// implementation.
//
// # Paths
//
// Names are [fs.ValidPath] paths relative to the snapshot's root: "." is
// the root, "srv/spse/x" is what was /srv/spse/x on the backed-up host. An
// invalid name gives an [*fs.PathError] wrapping [fs.ErrInvalid]; a name
// that is not in the snapshot gives one wrapping both [fs.ErrNotExist] and
// [snapshot.ErrNotFound].
//
// # Symbolic links
//
// Symbolic links are never followed: a link target recorded in a snapshot
// is a path on the backed-up host, not in the snapshot. [FS.Stat] therefore
// behaves like [FS.Lstat] and describes the link itself, and a path whose
// intermediate component is a symbolic link (or any other non-directory)
// does not exist ([fs.ErrNotExist]). [FS.Open] of a symbolic link succeeds
// and returns a file whose Stat describes the link and whose Read fails
// with an error wrapping [fs.ErrInvalid]; [FS.ReadLink] returns the target.
//
// # Other node types
//
// Device nodes, FIFOs and sockets have no content in a snapshot: opening
// one gives a file that reads as empty. Their [fs.FileInfo] carries the
// type bits ([fs.ModeDevice], [fs.ModeCharDevice], [fs.ModeNamedPipe],
// [fs.ModeSocket]).
//
// # Cost
//
// Opening a path loads the tree blobs on the way to it (recently used trees
// are cached). Opening a regular file loads no data; reads load only the
// data blobs that cover the requested range, and each open file keeps the
// last blob it loaded. Holes read as zeros without loading anything.
// Concurrent reads of one tree or blob are not merged: each loads it.
//
// # Lifetime
//
// Every repository call uses the context given to New: once it is
// cancelled, the FS and every file opened from it fail with its error, for
// good. Make a new FS with a fresh context to read on.
package snapfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// Loader is what the file system needs from a repository: loading a blob
// by type and ID. *repo.Repository and the fake repository of package
// snapshottest implement it. LoadBlob must be safe for concurrent use; it
// may use buf for the result when buf is large enough, and the returned
// slice must not be retained or modified by the Loader afterwards.
type Loader interface {
	LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error)
}

var _ Loader = (*repo.Repository)(nil)

// ErrInvalidContent is wrapped by the errors for a regular file whose
// recorded content is inconsistent: extents that do not add up to the
// file's size, an extent that is not positive in size, or a data blob
// whose length differs from its extent's.
var ErrInvalidContent = errors.New("invalid file content in snapshot")

// errNotExist wraps both the io/fs and the snapshot package's sentinel.
var errNotExist = fmt.Errorf("%w (%w)", fs.ErrNotExist, snapshot.ErrNotFound)

var (
	errIsDir   = fmt.Errorf("is a directory: %w", fs.ErrInvalid)
	errNotDir  = fmt.Errorf("not a directory: %w", fs.ErrInvalid)
	errSymlink = fmt.Errorf("is a symbolic link, which is not followed: %w", fs.ErrInvalid)
	errNotLink = fmt.Errorf("not a symbolic link: %w", fs.ErrInvalid)
)

// maxCachedTrees bounds the tree cache of an FS.
const maxCachedTrees = 256

// FS is a read-only view of one snapshot. It implements [fs.FS],
// [fs.StatFS], [fs.ReadDirFS], [fs.ReadFileFS] and [fs.ReadLinkFS], and is
// safe for concurrent use.
type FS struct {
	ctx  context.Context
	r    Loader
	root *snapshot.Node

	mu    sync.Mutex
	trees map[repo.ID]*snapshot.Tree
}

var (
	_ fs.FS         = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.ReadFileFS = (*FS)(nil)
	_ fs.ReadLinkFS = (*FS)(nil)
)

// New returns a view of snapshot sn of repository r.
//
// ctx is used for every repository call the view and its open files make,
// now and later: the FS and its files are usable while ctx is; once it is
// cancelled, operations that need the repository fail with its error.
//
// The root directory has no node in a snapshot; it is described by a
// synthesized node named "." with permissions 0755 and sn.Time as its
// modification time.
func New(ctx context.Context, r Loader, sn *snapshot.Snapshot) *FS {
	return &FS{
		ctx: ctx,
		r:   r,
		root: &snapshot.Node{
			Name:    ".",
			Type:    snapshot.TypeDir,
			Mode:    0o755,
			ModTime: sn.Time,
			Subtree: sn.Tree,
		},
		trees: make(map[repo.ID]*snapshot.Tree),
	}
}

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// tree loads and decodes a tree blob, using the cache. A null ID is an
// empty directory.
func (f *FS) tree(id repo.ID) (*snapshot.Tree, error) {
	if id.IsNull() {
		return &snapshot.Tree{}, nil
	}
	f.mu.Lock()
	t := f.trees[id]
	f.mu.Unlock()
	if t != nil {
		return t, nil
	}
	b, err := f.r.LoadBlob(f.ctx, repo.TreeBlob, id, nil)
	if err != nil {
		return nil, err // LoadBlob names the tree blob
	}
	t, err = snapshot.DecodeTree(b)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), err)
	}
	f.mu.Lock()
	if len(f.trees) >= maxCachedTrees {
		for k := range f.trees { // drop an arbitrary entry
			delete(f.trees, k)
			break
		}
	}
	f.trees[id] = t
	f.mu.Unlock()
	return t, nil
}

// lookup returns the node at name without following symbolic links.
func (f *FS) lookup(op, name string) (*snapshot.Node, error) {
	if !fs.ValidPath(name) {
		return nil, pathErr(op, name, fs.ErrInvalid)
	}
	n := f.root
	if name == "." {
		return n, nil
	}
	rest := name
	for {
		elem, more, found := strings.Cut(rest, "/")
		if n.Type != snapshot.TypeDir {
			return nil, pathErr(op, name, errNotExist)
		}
		t, err := f.tree(n.Subtree)
		if err != nil {
			return nil, pathErr(op, name, err)
		}
		if n = find(t, elem); n == nil {
			return nil, pathErr(op, name, errNotExist)
		}
		if !found {
			return n, nil
		}
		rest = more
	}
}

// find returns the node of t called name, or nil; t.Nodes is sorted by
// name (snapshot.DecodeTree checks that).
func find(t *snapshot.Tree, name string) *snapshot.Node {
	i := sort.Search(len(t.Nodes), func(i int) bool { return t.Nodes[i].Name >= name })
	if i < len(t.Nodes) && t.Nodes[i].Name == name {
		return t.Nodes[i]
	}
	return nil
}

// Open opens the named file. A directory is returned as an
// [fs.ReadDirFile]; a regular file as a [*File], which also implements
// [io.ReadSeeker], [io.ReaderAt] and [io.WriterTo]. See the package
// documentation for symbolic links and other node types. A regular file
// whose recorded content is inconsistent is an error wrapping
// [ErrInvalidContent].
func (f *FS) Open(name string) (fs.File, error) {
	n, err := f.lookup("open", name)
	if err != nil {
		return nil, err
	}
	switch n.Type {
	case snapshot.TypeDir:
		t, err := f.tree(n.Subtree)
		if err != nil {
			return nil, pathErr("open", name, err)
		}
		return &dir{name: name, info: fileInfo{name: baseName(name), n: n}, tree: t}, nil
	case snapshot.TypeFile:
		return f.openFile("open", name, n)
	default:
		return &special{name: name, info: fileInfo{name: baseName(name), n: n}}, nil
	}
}

// Stat returns a description of the named file. Symbolic links are not
// followed: Stat is the same as [FS.Lstat].
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	n, err := f.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return fileInfo{name: baseName(name), n: n}, nil
}

// Lstat returns a description of the named file; if it is a symbolic link,
// the description is of the link.
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	n, err := f.lookup("lstat", name)
	if err != nil {
		return nil, err
	}
	return fileInfo{name: baseName(name), n: n}, nil
}

// ReadLink returns the target of the named symbolic link as recorded at
// backup time (a path on the backed-up host). For anything but a symbolic
// link the error wraps [fs.ErrInvalid].
func (f *FS) ReadLink(name string) (string, error) {
	n, err := f.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if n.Type != snapshot.TypeSymlink {
		return "", pathErr("readlink", name, errNotLink)
	}
	return n.LinkTarget, nil
}

// ReadDir returns the entries of the named directory, sorted by name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := f.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.Type != snapshot.TypeDir {
		return nil, pathErr("readdir", name, errNotDir)
	}
	t, err := f.tree(n.Subtree)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	return entries(t.Nodes), nil
}

// ReadFile returns the content of the named regular file. Device nodes,
// FIFOs and sockets read as empty; directories and symbolic links are
// errors wrapping [fs.ErrInvalid]. The whole file is held in memory, holes
// included. At most 16 MiB are allocated up front, whatever size the
// snapshot claims; beyond that the buffer grows with the data actually
// produced.
func (f *FS) ReadFile(name string) ([]byte, error) {
	n, err := f.lookup("read", name)
	if err != nil {
		return nil, err
	}
	switch n.Type {
	case snapshot.TypeFile:
	case snapshot.TypeDir:
		return nil, pathErr("read", name, errIsDir)
	case snapshot.TypeSymlink:
		return nil, pathErr("read", name, errSymlink)
	default:
		return []byte{}, nil
	}
	file, err := f.openFile("read", name, n)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	w := &appendWriter{b: make([]byte, 0, min(file.size, maxInitialReadFile))}
	if _, err := file.WriteTo(w); err != nil {
		return nil, err
	}
	return w.b, nil
}

// maxInitialReadFile is the most ReadFile allocates up front.
const maxInitialReadFile = 16 << 20

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func baseName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// dir is an open directory.
type dir struct {
	name string
	info fileInfo
	tree *snapshot.Tree

	mu     sync.Mutex
	off    int
	closed bool
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }

func (d *dir) Read([]byte) (int, error) { return 0, pathErr("read", d.name, errIsDir) }

func (d *dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return pathErr("close", d.name, fs.ErrClosed)
	}
	d.closed = true
	return nil
}

// ReadDir returns the next entries of the directory, sorted by name, as
// described by [fs.ReadDirFile].
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, pathErr("readdir", d.name, fs.ErrClosed)
	}
	rest := d.tree.Nodes[d.off:]
	if n <= 0 {
		d.off = len(d.tree.Nodes)
		return entries(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.off += len(rest)
	return entries(rest), nil
}

func entries(nodes []*snapshot.Node) []fs.DirEntry {
	es := make([]fs.DirEntry, len(nodes))
	for i, n := range nodes {
		es[i] = dirEntry{fileInfo{name: n.Name, n: n}}
	}
	return es
}

// special is an open symbolic link, device node, FIFO or socket.
type special struct {
	name string
	info fileInfo

	mu     sync.Mutex
	closed bool
}

func (s *special) Stat() (fs.FileInfo, error) { return s.info, nil }

func (s *special) Read([]byte) (int, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return 0, pathErr("read", s.name, fs.ErrClosed)
	}
	if s.info.n.Type == snapshot.TypeSymlink {
		return 0, pathErr("read", s.name, errSymlink)
	}
	return 0, io.EOF
}

func (s *special) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pathErr("close", s.name, fs.ErrClosed)
	}
	s.closed = true
	return nil
}

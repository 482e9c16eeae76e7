package walker

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// Dump writes the file at p to w, or, if p is a directory, a tar archive
// of it (entry names relative to p's parent: dumping /srv/spse gives
// spse/...; dumping / gives srv/spse/...). Blobs are loaded ahead in
// parallel.
func Dump(ctx context.Context, r snapshot.BlobLoader, sn *snapshot.Snapshot, p string, w io.Writer) error {
	p = path.Clean("/" + p)
	n, err := FindNode(ctx, r, sn.Tree, p)
	if err != nil {
		return err
	}
	switch n.Type {
	case snapshot.TypeFile:
		return WriteContent(ctx, r, n, w)
	case snapshot.TypeDir:
		return limitErr(sn, dumpTar(ctx, r, n, p, w))
	}
	return fmt.Errorf("%s is a %s, not a file or directory", p, n.Type)
}

// WriteContent writes a file node's content to w in order (holes as
// zeros), loading up to 8 blobs ahead in parallel.
func WriteContent(ctx context.Context, r snapshot.BlobLoader, n *snapshot.Node, w io.Writer) error {
	const ahead = 8
	type result struct {
		data []byte
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	futures := make(chan chan result, ahead)
	go func() {
		defer close(futures)
		for _, e := range n.Content {
			ch := make(chan result, 1)
			select {
			case futures <- ch:
			case <-ctx.Done():
				return
			}
			if e.IsHole() {
				ch <- result{}
				continue
			}
			go func(e snapshot.Extent) {
				var res result
				defer func() { ch <- res }()
				// A panic here would kill the process, lock and all.
				defer panicerr.Catch(&res.err, func() string { return "data blob " + e.ID.Short() })
				res.data, res.err = r.LoadBlob(ctx, repo.DataBlob, e.ID, nil)
				if res.err == nil && int64(len(res.data)) != e.Size {
					res.err = fmt.Errorf("blob %s has %d bytes, want %d", e.ID.Short(), len(res.data), e.Size)
				}
			}(e)
		}
	}()
	var zeros []byte
	for _, e := range n.Content {
		ch, ok := <-futures
		if !ok {
			return ctx.Err()
		}
		res := <-ch
		if res.err != nil {
			return fmt.Errorf("%s: %w", n.Name, res.err)
		}
		if e.IsHole() {
			if zeros == nil {
				zeros = make([]byte, 1<<20)
			}
			for left := e.Size; left > 0; {
				k := min(left, int64(len(zeros)))
				if _, err := w.Write(zeros[:k]); err != nil {
					return err
				}
				left -= k
			}
			continue
		}
		if _, err := w.Write(res.data); err != nil {
			return err
		}
	}
	return nil
}

func dumpTar(ctx context.Context, r snapshot.BlobLoader, dir *snapshot.Node, p string, w io.Writer) error {
	tw := tar.NewWriter(w)
	prefix := path.Base(p)
	if p == "/" {
		prefix = ""
	}
	type di struct{ dev, ino uint64 }
	links := map[di]string{}
	emit := func(name string, n *snapshot.Node) error {
		h := &tar.Header{
			Name:    name,
			Mode:    int64(n.Mode),
			Uid:     int(n.UID),
			Gid:     int(n.GID),
			Uname:   n.User,
			Gname:   n.Group,
			ModTime: n.ModTime,
			Format:  tar.FormatPAX,
		}
		if len(n.Xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for _, x := range n.Xattrs {
				h.PAXRecords["SCHILY.xattr."+x.Name] = string(x.Value)
			}
		}
		switch n.Type {
		case snapshot.TypeFile:
			k := di{n.Device, n.Inode}
			if n.Links > 1 && n.Inode != 0 {
				if first, ok := links[k]; ok {
					h.Typeflag, h.Linkname = tar.TypeLink, first
					return tw.WriteHeader(h)
				}
				links[k] = name
			}
			h.Typeflag, h.Size = tar.TypeReg, n.Size
		case snapshot.TypeDir:
			h.Typeflag, h.Name = tar.TypeDir, name+"/"
		case snapshot.TypeSymlink:
			h.Typeflag, h.Linkname = tar.TypeSymlink, n.LinkTarget
		case snapshot.TypeFIFO:
			h.Typeflag = tar.TypeFifo
		case snapshot.TypeCharDev, snapshot.TypeBlockDev:
			h.Typeflag = tar.TypeChar
			if n.Type == snapshot.TypeBlockDev {
				h.Typeflag = tar.TypeBlock
			}
			h.Devmajor, h.Devminor = int64(devMajor(n.Rdev)), int64(devMinor(n.Rdev))
		default:
			return nil // sockets have no tar form
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if n.Type == snapshot.TypeFile {
			return WriteContent(ctx, r, n, tw)
		}
		return nil
	}
	if prefix != "" {
		if err := emit(prefix, dir); err != nil {
			return err
		}
	}
	err := Walk(ctx, r, dir.Subtree, prefix, func(q string, n *snapshot.Node) error {
		return emit(strings.TrimPrefix(q, "/"), n)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func devMajor(d uint64) uint32 { return uint32((d>>32)&0xfffff000) | uint32((d>>8)&0xfff) }
func devMinor(d uint64) uint32 { return uint32((d>>12)&0xffffff00) | uint32(d&0xff) }

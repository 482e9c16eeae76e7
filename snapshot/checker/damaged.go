package checker

import (
	"context"
	"fmt"
	"path"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// indexHolder is implemented by *repo.Repository: the index tells whether
// a damaged blob has another copy.
type indexHolder interface {
	Index() *repo.Index
}

// lostBlobs returns the blobs that the pack check found damaged and that
// no other copy holds, each with the finding of its damage. A copy in a
// pack found missing, or itself found damaged, holds nothing; one in a
// pack not read (a subset check) is taken as sound, as a restore tries it.
func lostBlobs(r Repository, ps []repo.Problem) map[BlobRef]repo.Problem {
	type at struct {
		pack repo.ID
		blob BlobRef
	}
	damaged := map[at]bool{}
	missing := map[string]bool{}
	var found []repo.Problem
	for _, p := range ps {
		switch {
		case p.Kind == repo.ProblemPackMissing:
			missing[p.File.Name] = true
		case p.Kind == repo.ProblemBlobDamaged && p.Blob != nil && p.File.Type == repo.PackFile:
			pack, err := repo.ParseID(p.File.Name)
			if err != nil {
				continue
			}
			damaged[at{pack, *p.Blob}] = true
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return nil
	}
	var idx *repo.Index
	if ih, ok := r.(indexHolder); ok {
		idx = ih.Index()
	}
	lost := map[BlobRef]repo.Problem{}
	for _, p := range found {
		b := *p.Blob
		if _, ok := lost[b]; ok {
			continue
		}
		sound := false
		if idx != nil {
			for _, l := range idx.Locations(b.Type, b.ID) {
				if !damaged[at{l.Pack, b}] && !missing[l.Pack.String()] {
					sound = true
					break
				}
			}
		}
		if !sound {
			lost[b] = p
		}
	}
	return lost
}

// maxUsesKept is how many uses of lost blobs usersOf keeps for each
// snapshot (and for each tree while it walks); beyond it only their
// number is kept. The command prints ten a snapshot.
const maxUsesKept = 10

// treeUses is what a tree holds of lost blobs, itself and below: the
// first uses (paths relative to the tree) and how many there are in all.
type treeUses struct {
	first []use
	n     int
}

type use struct {
	rel  string
	blob BlobRef
}

// usersOf names the snapshots and paths that use the blobs lost: every
// use, a file that shares its contents with another or a tree shared by
// several snapshots included, so that no snapshot is said to restore
// files it does not. Each tree is read once (its uses are kept by tree
// ID); of each snapshot the first maxUsesKept uses are returned as
// findings of kind repo.ProblemBlobDamaged naming the pack, and the
// number of the rest in more. A tree that cannot be read is the first
// walk's to report, and is passed over here.
func usersOf(ctx context.Context, r TreeRepository, sns []*snapshot.Snapshot, lost map[BlobRef]repo.Problem) (users []repo.Problem, more map[repo.ID]int, err error) {
	memo := map[repo.ID]*treeUses{}
	var walk func(id repo.ID) (*treeUses, error)
	walk = func(id repo.ID) (*treeUses, error) {
		if u, ok := memo[id]; ok {
			return u, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		u := &treeUses{}
		memo[id] = u // a tree within itself (a forged one) ends here
		keep := func(x use) {
			if len(u.first) < maxUsesKept {
				u.first = append(u.first, x)
			}
		}
		// one is a use at rel; below, the uses of the child tree at rel.
		one := func(rel string, b BlobRef) {
			keep(use{rel, b})
			u.n++
		}
		below := func(rel string, c *treeUses) {
			for _, x := range c.first {
				keep(use{path.Join(rel, x.rel), x.blob})
			}
			u.n += c.n
		}
		if _, ok := lost[BlobRef{Type: repo.TreeBlob, ID: id}]; ok {
			one("", BlobRef{Type: repo.TreeBlob, ID: id})
			return u, nil
		}
		t, err := snapshot.LoadTree(ctx, r, id)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return u, nil
		}
		for _, n := range t.Nodes {
			switch n.Type {
			case snapshot.TypeDir:
				if n.Subtree.IsNull() {
					continue
				}
				c, err := walk(n.Subtree) // a lost subtree: one use, at n.Name
				if err != nil {
					return nil, err
				}
				below(n.Name, c)
			case snapshot.TypeFile:
				for _, e := range n.Content {
					b := BlobRef{Type: repo.DataBlob, ID: e.ID}
					if _, ok := lost[b]; ok && !e.IsHole() {
						one(n.Name, b) // a file once, at its first lost blob
						break
					}
				}
			}
		}
		return u, nil
	}
	more = map[repo.ID]int{}
	for _, sn := range sns {
		u, err := walk(sn.Tree)
		if err != nil {
			return nil, nil, fmt.Errorf("check: find the snapshots that use the damaged blobs: %w", err)
		}
		if u.n == 0 {
			continue
		}
		sid := sn.ID()
		for _, s := range u.first {
			d := lost[s.blob]
			b := s.blob
			users = append(users, repo.Problem{Kind: repo.ProblemBlobDamaged, File: d.File, Blob: &b, Snapshot: &sid,
				Path: path.Join("/", s.rel), Err: fmt.Errorf("%s: damaged in %s, and no other copy holds it", b, d.File)})
		}
		if rest := u.n - len(u.first); rest > 0 {
			more[sid] = rest
		}
	}
	return users, more, nil
}

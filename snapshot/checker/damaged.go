package checker

import (
	"context"
	"fmt"

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

// withoutBlobs is a repository whose index lacks the blobs lost: the
// structural check's walk then finds where the snapshots use them, as it
// does once 'repair packs' has taken them out of the index.
type withoutBlobs struct {
	TreeRepository
	lost map[BlobRef]repo.Problem
}

func (w withoutBlobs) LookupBlob(t repo.BlobType, id repo.ID) (repo.BlobLocation, bool) {
	if _, ok := w.lost[BlobRef{Type: t, ID: id}]; ok {
		return repo.BlobLocation{}, false
	}
	return w.TreeRepository.LookupBlob(t, id)
}

// usersOf names the snapshots and paths that use the blobs lost, walking
// the trees with CheckTrees over an index without them: each finding of a
// lost blob becomes one of kind repo.ProblemBlobDamaged that names the
// pack it is damaged in. The other findings of that walk were made by
// the first one already, and are dropped.
func usersOf(ctx context.Context, r TreeRepository, sns []*snapshot.Snapshot, lost map[BlobRef]repo.Problem) ([]repo.Problem, error) {
	var users []repo.Problem
	_, err := CheckTrees(ctx, withoutBlobs{r, lost}, sns, func(p Problem) error {
		if p.Kind != repo.ProblemBlobNotIndexed || p.Blob == nil {
			return nil
		}
		d, ok := lost[*p.Blob]
		if !ok {
			return nil
		}
		p.Kind = repo.ProblemBlobDamaged
		p.File = d.File
		p.Err = fmt.Errorf("%s: damaged in %s, and no other copy holds it", *p.Blob, d.File)
		users = append(users, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check: find the snapshots that use the damaged blobs: %w", err)
	}
	return users, nil
}

package walker

import (
	"context"
	"fmt"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// Stats are totals over snapshots.
type Stats struct {
	Snapshots uint64 `json:"snapshots"`
	// Files, Dirs and Others count nodes in every snapshot (a file in two
	// snapshots counts twice); TotalSize is the sum of their file sizes:
	// what restoring all snapshots would write.
	Files     uint64 `json:"files"`
	Dirs      uint64 `json:"dirs"`
	Others    uint64 `json:"others"`
	TotalSize uint64 `json:"total_size"`
	// DataBlobs and RawDataSize count distinct data blobs and their
	// plaintext size: the deduplicated data.
	DataBlobs   uint64 `json:"data_blobs"`
	RawDataSize uint64 `json:"raw_data_size"`
	TreeBlobs   uint64 `json:"tree_blobs"`
	// StoredSize is what the distinct blobs (data and trees) take in
	// packs, after compression and encryption, as the index says.
	StoredSize uint64 `json:"stored_size"`
}

type treeTotals struct{ files, dirs, others, size uint64 }

// ComputeStats totals the snapshots. Each tree is loaded once.
func ComputeStats(ctx context.Context, r Repository, sns []*snapshot.Snapshot) (*Stats, error) {
	st := &Stats{Snapshots: uint64(len(sns))}
	memo := map[repo.ID]treeTotals{}
	seenData := map[repo.ID]bool{}
	var visit func(id repo.ID) (treeTotals, error)
	visit = func(id repo.ID) (treeTotals, error) {
		if t, ok := memo[id]; ok {
			return t, nil
		}
		t, err := snapshot.LoadTree(ctx, r, id)
		if err != nil {
			return treeTotals{}, err
		}
		st.TreeBlobs++
		if loc, ok := r.LookupBlob(repo.TreeBlob, id); ok {
			st.StoredSize += uint64(loc.Length)
		}
		var tt treeTotals
		for _, n := range t.Nodes {
			switch n.Type {
			case snapshot.TypeFile:
				tt.files++
				tt.size += uint64(n.Size)
				for _, e := range n.Content {
					if e.IsHole() || seenData[e.ID] {
						continue
					}
					seenData[e.ID] = true
					st.DataBlobs++
					st.RawDataSize += uint64(e.Size)
					if loc, ok := r.LookupBlob(repo.DataBlob, e.ID); ok {
						st.StoredSize += uint64(loc.Length)
					}
				}
			case snapshot.TypeDir:
				tt.dirs++
				sub, err := visit(n.Subtree)
				if err != nil {
					return tt, err
				}
				tt.files += sub.files
				tt.dirs += sub.dirs
				tt.others += sub.others
				tt.size += sub.size
			default:
				tt.others++
			}
		}
		memo[id] = tt
		return tt, nil
	}
	for _, sn := range sns {
		tt, err := visit(sn.Tree)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", sn.ID().Short(), err)
		}
		st.Files += tt.files
		st.Dirs += tt.dirs
		st.Others += tt.others
		st.TotalSize += tt.size
	}
	return st, nil
}

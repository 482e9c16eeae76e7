package repo

import "context"

// LoadBlobSkipping exposes loadBlob's skip to the tests of this package.
func (r *Repository) LoadBlobSkipping(ctx context.Context, t BlobType, id ID, skip func(BlobLocation) bool) ([]byte, BlobLocation, error) {
	return r.loadBlob(ctx, t, id, nil, skip)
}

package repo

import (
	"bytes"
	"io"
	"sort"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func sortLocations(l []BlobLocation) {
	sort.Slice(l, func(i, j int) bool { return l[i].Offset < l[j].Offset })
}

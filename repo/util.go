package repo

import (
	"sort"
)

func sortLocations(l []BlobLocation) {
	sort.Slice(l, func(i, j int) bool { return l[i].Offset < l[j].Offset })
}

package report

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/lpse/cadang/repo/backend/location"
)

// MediaKind is where a backup medium is, seen from the source server.
type MediaKind string

// The kinds of media location.
const (
	// MediaRemote is another machine: S3, SFTP, a cadang REST server.
	MediaRemote MediaKind = "remote"
	// MediaRemovable is a local path on another disk than the system's
	// and the sources' (or a mount point under /media, /mnt, /run/media,
	// where rotation disks are mounted; such a disk may be away).
	MediaRemovable MediaKind = "removable"
	// MediaSameDisk is a local path on the filesystem of the system or of
	// the sources: not a separate medium, which the SOP asks for.
	MediaSameDisk MediaKind = "same"
	// MediaUnknown: the location could not be read.
	MediaUnknown MediaKind = "unknown"
)

// MediaLocator tells the kind of location of a repository, given the paths
// backed up from the source server.
type MediaLocator func(repository string, sources []string) MediaKind

// mountDirs are where removable and extra disks are mounted.
var mountDirs = []string{"/media/", "/mnt/", "/run/media/"}

// LocateMedia is the MediaLocator of the running system: a remote location
// by its kind, a local path by the device of its filesystem (or of its
// nearest existing parent, for a rotation disk that is not attached now)
// against those of / and of the sources.
func LocateMedia(repository string, sources []string) MediaKind {
	loc, err := location.Parse(repository)
	if err != nil {
		return MediaUnknown
	}
	if loc.Kind != location.Local {
		return MediaRemote
	}
	p, err := filepath.Abs(loc.Path)
	if err != nil {
		return MediaUnknown
	}
	for _, d := range mountDirs {
		if strings.HasPrefix(p+"/", d) {
			return MediaRemovable
		}
	}
	dev, ok := deviceOf(p)
	if !ok {
		return MediaUnknown
	}
	for _, s := range append([]string{"/"}, sources...) {
		if sd, ok := deviceOf(s); ok && sd == dev {
			return MediaSameDisk
		}
	}
	return MediaRemovable
}

// deviceOf is the device of the filesystem holding p or its nearest
// existing parent.
func deviceOf(p string) (uint64, bool) {
	for {
		if fi, err := os.Stat(p); err == nil {
			return statDevice(fi)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return 0, false
		}
		p = parent
	}
}

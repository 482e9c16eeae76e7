package errclass

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MountPoint returns the mount point that holds path (see mountPoint), for
// a message that names the medium to remount.
func MountPoint(path string) string { return mountPoint(path) }

// mountPoint returns the mount point that holds path, from
// /proc/self/mountinfo: 'mount -o remount' wants the mount point, and a
// repository is often a directory below it. Where that cannot be read
// (not Linux), path itself.
func mountPoint(path string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return path
	}
	path = filepath.Clean(path)
	best := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if within(path, mp) && len(mp) > len(best) {
			best = mp
		}
	}
	if best == "" {
		return path
	}
	return best
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

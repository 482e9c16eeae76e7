package harness

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ext4WithoutJournal reports whether dir lies on an ext4 file system that
// runs without a journal, and names its device. Such a file system's inode
// allocator passes over every inode freed in the last one to six minutes
// by reading its inode-table entry (fs/ext4/ialloc.c, recently_deleted;
// only where there is no journal), so the creates of a restore made soon
// after any deletion on it, by anyone, cost seconds of system time (bench/
// README.md, "Round two, eighteenth session"). An ext4 with a journal has
// /proc/fs/jbd2/DEV-*; one without has only /proc/fs/ext4/DEV.
func ext4WithoutJournal(dir string) (dev string, ok bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	if p, err := filepath.EvalSymlinks(abs); err == nil {
		abs = p
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	fstype, source := mountOf(f, abs)
	f.Close()
	if fstype != "ext4" || !strings.HasPrefix(source, "/dev/") {
		return "", false
	}
	dev = filepath.Base(source)
	if p, err := filepath.EvalSymlinks(source); err == nil {
		dev = filepath.Base(p) // /dev/mapper/vg-lv is /dev/dm-0, as /proc/fs/ext4 names it
	}
	if _, err := os.Stat(filepath.Join("/proc/fs/ext4", dev)); err != nil {
		return "", false // cannot tell
	}
	if m, _ := filepath.Glob(filepath.Join("/proc/fs/jbd2", dev+"-*")); len(m) > 0 {
		return "", false
	}
	return source, true
}

// mountOf returns the file system type and source of the mount that holds
// the absolute path p, from mountinfo's lines (the longest mount point
// that p lies within; a later mount over the same point wins).
func mountOf(mountinfo io.Reader, p string) (fstype, source string) {
	best := ""
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 5 || sep+2 >= len(fields) {
			continue
		}
		mp := unescapeMount(fields[4])
		if !within(p, mp) || len(mp) < len(best) {
			continue
		}
		best, fstype, source = mp, fields[sep+1], fields[sep+2]
	}
	return fstype, source
}

// within reports whether p is mp or lies below it.
func within(p, mp string) bool {
	return mp == "/" || p == mp || strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal(s string) (byte, bool) {
	var v int
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	return byte(v), v < 256
}

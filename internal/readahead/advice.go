package readahead

import "golang.org/x/sys/unix"

// MaxBytes bounds what check and a restore ask to be read ahead of their
// loads: enough for a disk to stay busy while the packs before are
// decrypted, not so much that the advice evicts the server's own page
// cache.
const MaxBytes = 128 << 20

// adviceChunk is the most one POSIX_FADV_WILLNEED is asked for: the kernel
// reads at most the device's readahead window or largest request per call
// (128 KiB to 1.25 MiB on ordinary disks), however much more is asked for.
const adviceChunk = 128 << 10

// WillNeed asks the kernel to read length bytes of the file open as fd, at
// offset, into the page cache in the background (POSIX_FADV_WILLNEED, in
// calls of adviceChunk). It is advice: a file system that ignores it reads
// when asked.
func WillNeed(fd int, offset, length int64) {
	for end := offset + length; offset < end; offset += adviceChunk {
		if unix.Fadvise(fd, offset, min(adviceChunk, end-offset), unix.FADV_WILLNEED) != nil {
			return
		}
	}
}

package archiver

import "sync/atomic"

// readAdvice decides, file by file, whether the walker asks the kernel to
// read a file ahead of the readers (rawFile.Prefetch).
//
// Why: the advice pays on a cold disk, the nightly case, where it keeps
// the disk busy with the files queued while the readers work. On files
// already in the page cache it is a system call per file for nothing:
// about 0.2 CPU-s (4%) of a first backup of 100,000 small warm files.
// Whether the reads find their bytes cached is learned from probes: files
// the walker gives no advice, whose first read says whether it found its
// bytes cached (rawFile.ProbeCache), at no system call of its own.
//
// It starts advising, and leaves one file in probeEvery unadvised as a
// probe. After stopHits probes in a row found their bytes cached, it stops
// advising, and every file is a probe; the first that misses starts the
// advice again. Where the kernel cannot tell, it advises every file.
type readAdvice struct {
	quiet     atomic.Bool   // not advising: the last probes found their bytes cached
	noProbe   atomic.Bool   // reads cannot tell: advise every file
	walked    atomic.Uint64 // files asked about, for the sampling
	hitsInRow atomic.Int64
}

const (
	probeEvery = 32
	stopHits   = 4
)

// advise reports whether the file about to be queued is to be advised;
// when it is not, it is to be probed.
func (a *readAdvice) advise() bool {
	if a.noProbe.Load() {
		return true
	}
	if a.quiet.Load() {
		return false
	}
	return a.walked.Add(1)%probeEvery != 0
}

// observe takes what a probe found (rawFile.ProbeCache).
func (a *readAdvice) observe(cached, ok bool) {
	switch {
	case !ok:
		a.noProbe.Store(true)
	case !cached:
		a.hitsInRow.Store(0)
		a.quiet.Store(false)
	case a.hitsInRow.Add(1) >= stopHits:
		a.quiet.Store(true)
	}
}

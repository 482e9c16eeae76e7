//go:build !unix

package runlog

import "os"

// Without flock, concurrent cadang processes on one machine may fork the
// chain; Verify reports it.
func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }

package main

import (
	"github.com/lpse/cadang/internal/errclass"
)

// The exit codes, from the one error table (internal/errclass).
const (
	exitOK            = errclass.ExitOK
	exitFatal         = errclass.ExitFatal
	exitPartial       = errclass.ExitPartial
	exitNoRepository  = errclass.ExitNoRepository
	exitLocked        = errclass.ExitLocked
	exitWrongPassword = errclass.ExitWrongPassword
	exitInterrupted   = errclass.ExitInterrupted
	exitBrokenPipe    = errclass.ExitBrokenPipe
)

// partialError marks a command that did its job except for some items; it
// maps to exit code 3.
type partialError = errclass.PartialError

// exitCode gives the exit code of a command's error.
func exitCode(err error) int { return errclass.Exit(err) }

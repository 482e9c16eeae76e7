package main

import (
	"context"
	"errors"
	"os/exec"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
)

// Exit codes. They follow restic where restic has one, so scripts written
// for restic keep working.
const (
	exitOK            = 0
	exitFatal         = 1
	exitPartial       = 3 // backup written, but some source files could not be read; or restore with failed files
	exitNoRepository  = 10
	exitLocked        = 11
	exitWrongPassword = 12
	exitInterrupted   = 130
)

// partialError marks a command that did its job except for some items; it
// maps to exit code 3.
type partialError struct{ msg string }

func (e *partialError) Error() string { return e.msg }

// exitCode is the one table from errors to exit codes.
func exitCode(err error) int {
	var (
		locked  *repo.LockedError
		partial *partialError
		exitErr *exec.ExitError
		coded   *codedError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &coded):
		return coded.code
	case errors.As(err, &partial):
		return exitPartial
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, repo.ErrWrongPassword):
		return exitWrongPassword
	case errors.Is(err, repo.ErrNoRepository), errors.Is(err, local.ErrNoRepository):
		return exitNoRepository
	case errors.As(err, &locked):
		return exitLocked
	case errors.As(err, &exitErr):
		return exitFatal
	}
	return exitFatal
}

package main

import (
	"fmt"
	"strings"

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

// exitCodesText is the list of exit codes for 'cadang help', from
// errclass.ExitCodes, wrapped at 105 columns.
func exitCodesText() string {
	var parts []string
	for _, c := range errclass.ExitCodes() {
		parts = append(parts, fmt.Sprintf("%d %s", c.Code, c.Meaning))
	}
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields("Exit codes: " + strings.Join(parts, "; ") + ".") {
		if i > 0 && line+1+len(w) > 105 {
			b.WriteString("\n")
			line = 0
		} else if i > 0 {
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// exitCode gives the exit code of a command's error.
func exitCode(err error) int { return errclass.Exit(err) }

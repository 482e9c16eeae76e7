// Package panicerr turns a panic into an error. cadang reads data that
// any host knowing the password can write; a bug that such data reaches
// must fail the one operation, with an error naming what was being read,
// and not kill the process: a killed process leaves its repository lock
// behind and records nothing in the run log.
package panicerr

import (
	"fmt"
	"runtime/debug"
)

// Error is a recovered panic.
type Error struct {
	// Where names what was being done: the snapshot, tree or blob.
	Where string
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, for a bug report.
	Stack []byte
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: internal error (please report it): panic: %v", e.Where, e.Value)
}

// Unwrap returns the panic value if it is an error (a runtime.Error, for
// example).
func (e *Error) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Catch, deferred directly (defer panicerr.Catch(&err, ...)), recovers a
// panic of the function and stores it in *errp as an *Error; where is
// called then, so that it can name what the function was doing at the
// time. Without a panic it does nothing.
func Catch(errp *error, where func() string) {
	v := recover()
	if v == nil {
		return
	}
	w := "internal error"
	if where != nil {
		w = where()
	}
	*errp = &Error{Where: w, Value: v, Stack: debug.Stack()}
}

// Call runs fn and returns its error, or the panic it raised as an *Error.
func Call(where func() string, fn func() error) (err error) {
	defer Catch(&err, where)
	return fn()
}

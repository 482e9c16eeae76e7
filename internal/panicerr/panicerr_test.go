package panicerr

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestCatchTurnsPanicIntoError(t *testing.T) {
	tree := "none"
	err := Call(func() string { return "snapshot 1234 tree " + tree }, func() error {
		tree = "abcd"
		var s []int
		_ = s[len(tree)] // index out of range
		return nil
	})
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if !strings.HasPrefix(err.Error(), "snapshot 1234 tree abcd: internal error") || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("message %q", err)
	}
	var re runtime.Error
	if !errors.As(err, &re) {
		t.Fatal("the runtime error is not unwrapped")
	}
	if !strings.Contains(string(pe.Stack), "panicerr_test.go") {
		t.Fatalf("stack does not show where it panicked:\n%s", pe.Stack)
	}
}

func TestCallPassesErrorsThrough(t *testing.T) {
	want := errors.New("plain")
	if err := Call(nil, func() error { return want }); err != want {
		t.Fatalf("err = %v", err)
	}
	if err := Call(nil, func() error { return nil }); err != nil {
		t.Fatalf("err = %v", err)
	}
}

// A panic in a worker goroutine reaches the one who waits for it.
func TestCatchInGoroutine(t *testing.T) {
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer Catch(&err, func() string { return "worker" })
		panic("boom")
	}()
	wg.Wait()
	if err == nil || !strings.Contains(err.Error(), "worker: internal error (please report it): panic: boom") {
		t.Fatalf("err = %v", err)
	}
}

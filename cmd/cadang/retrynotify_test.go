package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/ui"
)

// A remote backend's retries are said on stderr: the first three, then
// every third, each with the error and the wait; --quiet hides them.
func TestRetryNotify(t *testing.T) {
	var b bytes.Buffer
	e := &env{stderr: ui.PrintableWriter{W: &b}}
	f := e.retryNotify("offsite rest:https://10.1.2.3:8443/spse")
	for n := 1; n <= 24; n++ {
		f(errors.New("dial tcp 10.1.2.3:8443: connect: connection refused"), n, 10*time.Second)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "offsite rest:https://10.1.2.3:8443/spse: dial tcp") ||
		!strings.HasSuffix(lines[0], "connection refused; retrying in 10s (attempt 1)") || !strings.HasSuffix(lines[9], "(attempt 24)") {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	b.Reset()
	e.quiet = true
	f(errors.New("x"), 1, time.Second)
	if b.Len() != 0 {
		t.Fatalf("--quiet: %s", b.String())
	}
}

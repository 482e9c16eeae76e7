package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/ui"
)

// TestRetryNotify: an unreachable server's retries are said on stderr, the
// first at once and then at most one line per retryNoticeEvery for all
// the location's requests together (the review: one line per request in
// flight filled the screen), with how many went unsaid; --quiet hides them.
func TestRetryNotify(t *testing.T) {
	var lines []string
	logf := func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }
	clock := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	f := retryNotifier(logf, "offsite rest:https://10.1.2.3:8443/spse", func() time.Time { return clock })
	refused := errors.New("dial tcp 10.1.2.3:8443: connect: connection refused")
	// Two minutes of retries 10 s apart, by four requests at once.
	for n := 1; n <= 12; n++ {
		for range 4 {
			f(refused, n, 10*time.Second)
		}
		clock = clock.Add(10 * time.Second)
	}
	if len(lines) != 6 || lines[0] != "offsite rest:https://10.1.2.3:8443/spse: dial tcp 10.1.2.3:8443: connect: connection refused; retrying in 10s (attempt 1)" ||
		!strings.HasSuffix(lines[1], "(attempt 3; 7 more failed since the last notice)") {
		t.Fatalf("%d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}

	var b bytes.Buffer
	e := &env{stderr: ui.PrintableWriter{W: &b}, quiet: true}
	e.retryNotify("x")(errors.New("x"), 1, time.Second)
	if b.Len() != 0 {
		t.Fatalf("--quiet: %s", b.String())
	}
}

package repo

import (
	"strings"
	"testing"
	"time"
)

// A lock's host and user come from its file, which whoever holds the
// password writes; its description goes into error messages, which keep
// their newlines: a control character there is quoted, so that it cannot
// forge a line of the message.
func TestLockInfoStringQuotesControlCharacters(t *testing.T) {
	l := LockInfo{Host: "vm\ncadang: all ok", Username: "root", PID: 7, Time: time.Unix(1700000000, 0)}
	s := l.String()
	if strings.Contains(s, "\n") || !strings.Contains(s, `"vm\ncadang: all ok"`) {
		t.Errorf("got %q", s)
	}
	if l.Host = "spse-db"; !strings.Contains(l.String(), "root@spse-db (PID 7)") {
		t.Errorf("plain host: %q", l.String())
	}
}

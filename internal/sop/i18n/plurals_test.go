package i18n

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPlurals(t *testing.T) {
	for _, c := range []struct {
		s    string
		args []any
		want string
	}{
		{"%s [[file|files]] [[was|were]] restored", []any{"1"}, "1 file was restored"},
		{"%s [[file|files]] [[was|were]] restored", []any{"2"}, "2 files were restored"},
		{"%s of %s [[file|files]] verified; 100%% done", []any{"3", "1"}, "3 of 1 file verified; 100% done"},
		{"%d [[failure|failures]] followed up, %d still open.", []any{1, 2}, "1 failure followed up, 2 still open."},
		{"plain %s", []any{"1"}, "plain 1"},
	} {
		if got := fmt.Sprintf(plurals(c.s, c.args), c.args...); got != c.want {
			t.Errorf("%q %v: got %q, want %q", c.s, c.args, got, c.want)
		}
	}
}

// Every selector in the message table is well formed, and follows a verb
// whose count it chooses by: a typo would print its brackets.
func TestPluralSelectorsWellFormed(t *testing.T) {
	// A selector has a "|"; "[[job.check]]" (TOML) is text.
	sel := regexp.MustCompile(`\[\[[^\[\]|]*\|[^\[\]|]*\]\]`)
	anySel := regexp.MustCompile(`\[\[[^\]]*\|`)
	for key, m := range messages {
		for _, s := range m {
			if anySel.MatchString(sel.ReplaceAllString(s, "")) {
				t.Errorf("%s: malformed selector in %q", key, s)
			}
			if loc := sel.FindStringIndex(s); loc != nil && !strings.Contains(s[:loc[0]], "%") {
				t.Errorf("%s: a selector before any count in %q", key, s)
			}
		}
	}
	if got := EN.Note("restored-partial", "abcd1234", "/srv", int64(1), 1); got != "Snapshot abcd1234 restored to /srv: 1 file; 1 file could not be restored" {
		t.Errorf("note: %q", got)
	}
	if got := EN.Note("restored-partial", "abcd1234", "/srv", int64(2), 1000); got != "Snapshot abcd1234 restored to /srv: 2 files; 1,000 files could not be restored" {
		t.Errorf("note: %q", got)
	}
}

// TestSpan: a configured period is said in days when it is whole days.
func TestSpan(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		id, en string
	}{
		{90 * 24 * time.Hour, "90 hari", "90 days"},
		{24 * time.Hour, "1 hari", "1 day"},
		{36 * time.Hour, "36 jam", "36 h"},
		{3 * time.Hour, "3 jam", "3 h"},
	} {
		if got := ID.Span(c.d); got != c.id {
			t.Errorf("ID %v: %q, want %q", c.d, got, c.id)
		}
		if got := EN.Span(c.d); got != c.en {
			t.Errorf("EN %v: %q, want %q", c.d, got, c.en)
		}
	}
}

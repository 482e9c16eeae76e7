package restoretest

import (
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// A database restore test without check queries said "0 check queries
// matched", which reads like a failure (issue 15, as for verify commands).
func TestOkNoteSaysNoneConfigured(t *testing.T) {
	info := &runlog.TestInfo{Items: make([]runlog.TestItem, 4)}
	cases := []struct {
		loaded, checks, passed int
		commands               int
		code                   string
	}{
		{loaded: 2, code: "test-ok-db-no-checks"},
		{loaded: 2, checks: 3, passed: 3, code: "test-ok-db"},
		{loaded: 2, commands: 1, code: "test-ok-db-commands-no-checks"},
		{loaded: 2, checks: 1, passed: 1, commands: 1, code: "test-ok-db-commands"},
		{commands: 2, code: "test-ok"},
		{code: "test-ok-no-commands"},
	}
	for _, c := range cases {
		info.Commands = make([]runlog.CommandRun, c.commands)
		n := okNote(info, 2, c.loaded, c.checks, c.passed)
		if n.Code != c.code {
			t.Errorf("%+v: note %s, want %s", c, n.Code, c.code)
			continue
		}
		for _, lang := range []i18n.Lang{i18n.ID, i18n.EN} {
			msg := lang.Note(n.Code, n.Args...)
			if msg == "" || containsZeroMatched(msg) {
				t.Errorf("%s %s: %q", lang, c.code, msg)
			}
		}
	}
}

func containsZeroMatched(s string) bool {
	for _, bad := range []string{"0 check queries", "0 kueri", "0 verify", "0 perintah", "%!", "note."} {
		if strings.Contains(s, bad) {
			return true
		}
	}
	return false
}

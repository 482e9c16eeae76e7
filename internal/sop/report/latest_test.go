package report

import (
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/runlog"
)

func restoreAt(id string, at time.Time, opened bool, info runlog.RestoreInfo) runlog.Record {
	r := runlog.Record{ID: id, Op: runlog.OpRestore, Start: at, End: at.Add(time.Minute), Result: runlog.OK, Restore: &info}
	if opened {
		r.RepositoryID = strings.Repeat("a", 64)
	} else {
		r.Result, r.Failure = runlog.Failed, runlog.KindRepoUnreachable
	}
	return r
}

// FindLatestRestore passes over the attempts that never opened the
// repository, names them, and names the other restores of the request.
func TestFindLatestRestore(t *testing.T) {
	t0 := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	req := runlog.RestoreInfo{RequestID: "REQ-1"}
	upload, dump := req, req
	upload.Snapshot, dump.Snapshot = "u1", "d1"
	recs := []runlog.Record{
		restoreAt("old", t0.Add(-3*time.Hour), true, runlog.RestoreInfo{RequestID: "REQ-1", Snapshot: "x"}),
		restoreAt("upload", t0, true, upload),
		{ID: "backup", Op: runlog.OpBackup, Start: t0.Add(5 * time.Minute)},
		restoreAt("dump", t0.Add(10*time.Minute), true, dump),
		restoreAt("typo", t0.Add(5*time.Hour), false, runlog.RestoreInfo{Snapshot: "d1"}),
		restoreAt("wrongpw", t0.Add(5*time.Hour+time.Minute), false, runlog.RestoreInfo{Snapshot: "d1"}),
	}
	l, err := FindLatestRestore(recs)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(rs []runlog.Record) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.ID)
		}
		return strings.Join(s, ",")
	}
	if l.Record.ID != "dump" || ids(l.NotOpened) != "typo,wrongpw" || ids(l.Related) != "upload" {
		t.Errorf("picked %s, not opened %s, related %s; want dump, typo,wrongpw, upload", l.Record.ID, ids(l.NotOpened), ids(l.Related))
	}
	// No attempt opened the repository: the latest is documented.
	l, err = FindLatestRestore(recs[4:])
	if err != nil || l.Record.ID != "wrongpw" || ids(l.NotOpened) != "" {
		t.Errorf("only failed attempts: picked %s, not opened %s (%v)", l.Record.ID, ids(l.NotOpened), err)
	}
	if _, err := FindLatestRestore(recs[2:3]); err == nil {
		t.Error("no restore: no error")
	}
}

// The minutes of a restore recorded on a host without the configuration:
// the job from the snapshot's tag, the medium as typed with its short ID,
// and for a restore run as root (or uid 0 by another name) no account
// name above the administrator's title but a blank line to sign on, or the
// sudo user where there is one.
func TestMinutesWithoutConfiguration(t *testing.T) {
	restore, _ := noteRecords(t)
	restore.Repository, restore.RepositoryID = "/mnt/usb/cadang", strings.Repeat("b", 64)
	restore.Restore.SnapshotJob = "spse-prod"
	for _, c := range []struct {
		operator  string
		o         MinutesOptions
		performed string // the Pelaksana field
		signs     string // the name on the performer's signature line ("" blank)
	}{
		{"root", MinutesOptions{}, "(akun sistem: root)", ""},
		{"toor", MinutesOptions{SystemAccounts: []string{"toor"}}, "(akun sistem: toor)", ""},
		{"root", MinutesOptions{SudoUser: "budi"}, "budi (akun sistem: root)", "budi"},
		{"budi (sudo)", MinutesOptions{}, "budi (akun sistem: budi (sudo))", "budi"},
		{"rina", MinutesOptions{}, "rina", "rina"},
	} {
		r := restore
		r.Operator = c.operator
		d, err := noteEnv(i18n.ID).RestoreMinutes(r, nil, c.o)
		if err != nil {
			t.Fatal(err)
		}
		got := render(t, d)
		got.contains(t, "/mnt/usb/cadang (ID bbbbbbbb)")
		for _, want := range []string{"**Job:** spse-prod", "**Pelaksana:** " + mdEscape(c.performed)} {
			if !strings.Contains(got.md, want) {
				t.Errorf("%s: minutes lack %q:\n%s", c.operator, want, got.md)
			}
		}
		if strings.Contains(got.md, strings.Repeat("b", 64)) {
			t.Errorf("minutes show the whole repository ID:\n%s", got.md)
		}
		if name := performerSigner(t, d); name != c.signs {
			t.Errorf("%s: the performer signs as %q, want %q", c.operator, name, c.signs)
		}
	}
}

// performerSigner is the name on the minutes' second signature (the
// performer's).
func performerSigner(t *testing.T, d *doc.Document) string {
	t.Helper()
	for _, b := range d.Blocks {
		if s, ok := b.(doc.Signatures); ok && len(s.Signers) > 1 {
			return s.Signers[1].Name
		}
	}
	t.Fatal("no signatures")
	return ""
}

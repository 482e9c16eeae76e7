package runlog

import "testing"

// TestAsksFollowup: the one rule of SOP step 5 that status, the monthly
// analysis and `report failure latest` share: every failed run but a
// follow-up, and a restore only when it found damaged backup data.
func TestAsksFollowup(t *testing.T) {
	for _, c := range []struct {
		op   Operation
		res  Result
		kind FailureKind
		want bool
	}{
		{OpBackup, OK, "", false},
		{OpBackup, Failed, KindDumpFailed, true},
		{OpBackup, Partial, KindSourceUnreadable, true},
		{OpCheck, Failed, KindIntegrity, true},
		{OpPrune, Failed, KindPrune, true},
		{OpForget, Failed, KindRetention, true},
		{OpCopy, Failed, KindOffsite, true},
		{OpRestoreTest, Failed, KindOther, true},
		{OpRestore, Failed, KindOther, false},      // a read-only target
		{OpRestore, Failed, KindOutOfSpace, false}, // a full disk
		{OpRestore, Failed, KindIntegrity, true},   // damaged backup data
		{OpRestore, Partial, KindIntegrity, true},
		{OpRestore, OK, "", false},
		{OpFollowup, Failed, "", false},
	} {
		r := Record{Op: c.op, Result: c.res, Failure: c.kind}
		if got := r.AsksFollowup(); got != c.want {
			t.Errorf("%s %s (%s): asks a follow-up %v, want %v", c.op, c.res, c.kind, got, c.want)
		}
	}
}

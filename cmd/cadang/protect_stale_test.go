package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
)

// saveProtection stores a protection of snapshot id (full hex) as given,
// expired ones too, which protect cannot make.
func saveProtection(t *testing.T, repoDir, id string, until time.Time, reason string) snapshot.Protection {
	t.Helper()
	ctx := context.Background()
	r := openTestRepo(t, repoDir)
	defer r.Close()
	sid, err := repo.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	p, err := snapshot.SaveProtection(ctx, r, snapshot.Protection{Snapshot: sid, Until: until, Reason: reason})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLIForgetRemovesStaleProtections: a retention run removes the
// expired protection of a snapshot it forgot, names it, and keeps the
// expired protection of a snapshot it kept and one that holds.
func TestCLIForgetRemovesStaleProtections(t *testing.T) {
	repoDir, ids := forgetRepo(t, "", forgetSnaps[:4]) // a, b, c, d on srv1
	past := time.Now().Add(-24 * time.Hour)
	stale := saveProtection(t, repoDir, ids["a"], past, "expired, a forgotten")
	saveProtection(t, repoDir, ids["d"], past, "expired, d kept")
	saveProtection(t, repoDir, ids["b"], time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), "holds")

	res := cliOK(t, "-r", repoDir, "forget", "--keep-last", "1", "--dry-run")
	if strings.Contains(res.stdout+res.stderr, "expired protection") {
		t.Errorf("a dry run removed protections:\n%s", res)
	}
	res = cliOK(t, "-r", repoDir, "forget", "--keep-last", "1")
	want := "removed 1 expired protection of snapshots that are gone: " + stale.ID.Short() + " (of snapshot " + ids["a"][:8] + ", expired "
	if !strings.Contains(res.stdout, want) {
		t.Errorf("forget output lacks %q:\n%s", want, res)
	}
	left := protectList(t, repoDir)
	if len(left) != 2 {
		t.Fatalf("protections left: %+v", left)
	}
	for _, p := range left {
		if p.Snapshot == ids["a"] {
			t.Errorf("the expired protection of forgotten snapshot a is still there: %+v", p)
		}
	}
	// --json keeps its array on stdout; the removal, if any, is on stderr.
	res = cliOK(t, "-r", repoDir, "--json", "forget", "--keep-last", "1")
	if strings.Contains(res.stdout, "protection") {
		t.Errorf("--json stdout changed:\n%s", res.stdout)
	}
}

package main

// Ways a protection could fail to travel with a copy unseen: a copied
// protection whose snapshot was re-tagged (a new ID) since.

import (
	"strings"
	"testing"
)

// A copied protection lifts by the ID its snapshot has now: after a tag
// change (a new ID) forget names that ID to lift it, protect --remove
// finds the protection by it, and copied_from stays. So does one made on
// the medium itself.
func TestCLIRetaggedCopyProtectionLifts(t *testing.T) {
	a := newProtSource(t)
	b := newCopyMedium(t, a.dir)
	copyAdding(t, b, a.dir, 2)
	old := copyOf(t, b)[a.hold]
	cliOK(t, "-r", b, "tag", "--add", "sengketa", old[:8])
	now := copyOf(t, b)[a.hold]
	if now == old || now == "" {
		t.Fatalf("the tag change should give the copy a new ID: %s, %s", old, now)
	}
	hold := activeFor(copiedProtections(t, b), old)
	if len(hold) != 1 || hold[0].CopiedFrom == nil || hold[0].CopiedFrom.Snapshot != a.hold {
		t.Fatalf("the copied hold after the tag change: %+v", hold)
	}

	res := cliRun(t, nil, "-r", b, "forget", now[:8])
	if want := "then 'cadang protect --remove " + now[:8] + "' lifts it here"; res.code == 0 || !strings.Contains(res.stderr, want) {
		t.Errorf("forget of the re-tagged copy should say %q:\n%s", want, res)
	}
	res = cliOK(t, "-r", b, "protect", "--remove", now[:8])
	if !strings.Contains(res.stdout, "lifted the protection of snapshot "+now[:8]+" (1 protection file removed)\n") ||
		!strings.Contains(res.stdout, "note: a protection of snapshot "+now[:8]+" was copied from repository") {
		t.Errorf("protect --remove by the new ID:\n%s", res)
	}
	if got := activeFor(copiedProtections(t, b), old); len(got) != 0 {
		t.Errorf("the hold is still there: %+v", got)
	}
	cliOK(t, "-r", b, "forget", now[:8])

	// One made on the medium, then re-tagged.
	plain := copyOf(t, b)[a.plain]
	cliOK(t, "-r", b, "protect", "--for", "1y", "--reason", "audit", plain[:8])
	cliOK(t, "-r", b, "tag", "--add", "audit", plain[:8])
	plainNow := copyOf(t, b)[a.plain]
	if res := cliRun(t, nil, "-r", b, "forget", plainNow[:8]); res.code == 0 || !strings.Contains(res.stderr, "'cadang protect --remove "+plainNow[:8]+"' lifts it") {
		t.Errorf("forget of a re-tagged protected snapshot:\n%s", res)
	}
	if res := cliOK(t, "-r", b, "protect", "--remove", plainNow[:8]); !strings.Contains(res.stdout, "(1 protection file removed)") {
		t.Errorf("protect --remove of a re-tagged protected snapshot:\n%s", res)
	}
	cliOK(t, "-r", b, "forget", plainNow[:8])
}

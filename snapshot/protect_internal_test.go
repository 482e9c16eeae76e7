package snapshot

import (
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestProtectionFollowsRepeatedTagChanges: a protection of a snapshot that
// a tag change made still covers the snapshot of the next tag change.
func TestProtectionFollowsRepeatedTagChanges(t *testing.T) {
	orig := repo.ID{1}
	first := &Snapshot{Original: &orig}
	first.id = repo.ID{2}
	second := &Snapshot{Original: &orig}
	second.id = repo.ID{3}
	p := Protection{Snapshot: first.ID(), Original: orig}
	if !p.Covers(first) || !p.Covers(second) {
		t.Errorf("protection of %s (original %s) covers first %v, second %v", first.ID().Short(), orig.Short(), p.Covers(first), p.Covers(second))
	}
	other := &Snapshot{}
	other.id = repo.ID{4}
	if p.Covers(other) {
		t.Error("the protection covers an unrelated snapshot")
	}
}

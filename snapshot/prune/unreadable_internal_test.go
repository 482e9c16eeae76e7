package prune

import (
	"errors"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestUnreadableSnapshotsErrorBounded: the refusal names whole IDs (a short
// one can be ground to match a genuine snapshot's) and at most five, since
// it goes into the run log whole.
func TestUnreadableSnapshotsErrorBounded(t *testing.T) {
	e := &UnreadableSnapshotsError{Err: errors.New("damaged")}
	for i := range 2000 {
		e.IDs = append(e.IDs, repo.ID{byte(i), byte(i >> 8), 7})
	}
	msg := e.Error()
	if !strings.Contains(msg, "2000 snapshot file(s)") || !strings.Contains(msg, "'cadang forget "+e.IDs[0].String()+" ") ||
		!strings.Contains(msg, e.IDs[4].String()+"' removes them; 'cadang check' names the 1995 others") || strings.Contains(msg, e.IDs[5].String()) {
		t.Errorf("message: %s", msg)
	}
	if len(msg) > 1000 {
		t.Errorf("message of %d bytes", len(msg))
	}
}

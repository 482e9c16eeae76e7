package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLILostPack: a pack file gone from the medium (the README walk's
// case). check said only that the index disagrees with the packs, and
// repair index then said "rebuilt the index", exit 0, with no word of the
// data that went with the pack. Now check says what is lost and what to
// do, repair index names the pack and counts the blobs lost, and the next
// check names the damaged snapshot.
func TestCLILostPack(t *testing.T) {
	r, _, _ := cliBackedUp(t, 41)
	packs, err := filepath.Glob(filepath.Join(r, "data", "*", "*"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("packs: %v %v", packs, err)
	}
	gone := filepath.Base(packs[0])
	if err := os.Remove(packs[0]); err != nil {
		t.Fatal(err)
	}
	res := cliCode(t, 1, "-r", r, "check")
	if !strings.Contains(res.stdout, "note: 1 pack the index names is gone, and the blobs held only there are lost") ||
		!strings.Contains(res.stdout, "'cadang repair index'") || !strings.Contains(res.stdout, "copy --from-repo") {
		t.Fatalf("check after a pack was deleted:\n%s", res)
	}
	res = cliCode(t, 3, "-r", r, "repair", "index")
	if !strings.Contains(res.stderr, "warning: 1 pack the old index named is gone: "+gone) ||
		!strings.Contains(res.stderr, "held only there are lost") && !strings.Contains(res.stderr, "held only there is lost") {
		t.Fatalf("repair index does not say what was lost:\n%s", res)
	}
	if !strings.Contains(res.stderr, "lost (listed above)") {
		t.Fatalf("repair index's error does not say blobs were lost:\n%s", res)
	}
	res = cliCode(t, 1, "-r", r, "check")
	if !strings.Contains(res.stdout, "error: snapshot ") {
		t.Fatalf("check after the repair does not name the damaged snapshot:\n%s", res)
	}
	// Nothing more is missing: the JSON of a second repair says so.
	res = cliOK(t, "-r", r, "--json", "repair", "index")
	var m map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &m); err != nil || len(m["missing_packs"].([]any)) != 0 || m["lost_blobs"] != float64(0) {
		t.Fatalf("second repair index --json: %v\n%s", err, res)
	}
}

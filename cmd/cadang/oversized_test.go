package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIOversizedPack: a pack the storage gives more bytes than any pack
// cadang writes is reported by check --read-data without being read, and
// the advice does not send the administrator to 'repair packs', which
// stops at it (it keeps the bytes of what it removes); repair packs' own
// error says the way out instead of pointing back at check: restore what
// the pack still gives first (a restore reads it by range), and only then
// take the file out, or copy the snapshots back from another medium.
func TestCLIOversizedPack(t *testing.T) {
	r := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "kontrak.pdf"), randBytes(31, 300<<10), 0o644)
	cliBackup(t, r, data)
	packs, err := filepath.Glob(filepath.Join(r, "data", "*", "*"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("no packs: %v", err)
	}
	pack := packs[0]
	id := filepath.Base(pack)
	if err := os.Chmod(pack, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(pack, 2<<30); err != nil { // sparse
		t.Fatal(err)
	}
	res := cliCode(t, 1, "-r", r, "check", "--read-data")
	if !strings.Contains(res.stdout, id) || !strings.Contains(res.stdout, "larger than any pack cadang writes") {
		t.Errorf("check --read-data does not name the oversized pack:\n%s", res)
	}
	// Moving the file out loses every blob held only there, which a
	// restore still reads by range: what the snapshots give is restored
	// (or copied) first, and another medium is the alternative.
	inOrder := func(what, out string) {
		t.Helper()
		at := 0
		for _, s := range []string{"first restore (or 'cadang copy' to another repository)", "move the file out of the repository",
			"'cadang repair index'", "'cadang copy --from-repo OTHER ID'"} {
			i := strings.Index(out[at:], s)
			if i < 0 {
				t.Errorf("%s's way out lacks %q after what it said before:\n%s", what, s, res)
				return
			}
			at += i
		}
	}
	inOrder("check", res.stdout)
	if strings.Contains(res.stdout, "'cadang repair packs "+id) {
		t.Errorf("check sends the oversized pack to repair packs, which stops at it:\n%s", res)
	}
	res = cliCode(t, 1, "-r", r, "repair", "packs", id)
	if strings.Contains(res.stderr, "check --read-data' shows") {
		t.Errorf("repair packs on the oversized pack points back at check:\n%s", res)
	}
	inOrder("repair packs", res.stderr)
}

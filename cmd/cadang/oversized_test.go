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
// error says the way out instead of pointing back at check.
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
	if !strings.Contains(res.stdout, id) || !strings.Contains(res.stdout, "larger than any pack cadang writes") ||
		!strings.Contains(res.stdout, "move the file out of the repository") {
		t.Errorf("check --read-data does not name the oversized pack or the way out:\n%s", res)
	}
	if strings.Contains(res.stdout, "'cadang repair packs "+id) {
		t.Errorf("check sends the oversized pack to repair packs, which stops at it:\n%s", res)
	}
	res = cliCode(t, 1, "-r", r, "repair", "packs", id)
	if !strings.Contains(res.stderr, "move the file out of the repository") || strings.Contains(res.stderr, "check --read-data' shows") {
		t.Errorf("repair packs on the oversized pack does not say the way out:\n%s", res)
	}
}

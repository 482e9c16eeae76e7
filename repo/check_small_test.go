package repo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
)

// TestCheckReadsSmallSealedFiles: a flipped byte in a run-log record passed
// 'check' with "no errors were found" (issue 14); only 'log verify' noticed.
// check verifies every sealed file: records, protections, obsolete sets and
// key files, each named when damaged.
func TestCheckReadsSmallSealedFiles(t *testing.T) {
	ctx := context.Background()
	for _, typ := range []repo.FileType{repo.RecordFile, repo.ProtectFile, repo.ObsoleteFile, repo.KeyFile} {
		t.Run(string(typ), func(t *testing.T) {
			dir, r := newLocal(t)
			defer r.Close()
			var name string
			if typ == repo.KeyFile {
				m, _ := filepath.Glob(filepath.Join(dir, "keys", "*"))
				name = filepath.Base(m[0])
			} else {
				id, err := r.SaveFile(ctx, typ, []byte(`{"what":"a small sealed file"}`))
				if err != nil {
					t.Fatal(err)
				}
				name = id.String()
			}
			res, err := r.Check(ctx, repo.CheckOptions{})
			if err != nil || len(res.Problems) != 0 {
				t.Fatalf("healthy: %v %v", err, res.Problems)
			}
			p := filepath.Join(dir, string(typ), name)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 1
			_ = os.Chmod(p, 0o600)
			if err := os.WriteFile(p, b, 0o400); err != nil {
				t.Fatal(err)
			}
			res, err = r.Check(ctx, repo.CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) != 1 || res.Problems[0].Kind != repo.ProblemFileDamaged ||
				!strings.Contains(res.Problems[0].Error(), string(typ)+"/"+name) {
				t.Fatalf("want one damaged-file problem naming %s/%s, got %v", typ, name, res.Problems)
			}
		})
	}
}

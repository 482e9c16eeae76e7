package repo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
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
			switch typ {
			case repo.KeyFile:
				m, _ := filepath.Glob(filepath.Join(dir, "keys", "*"))
				name = filepath.Base(m[0])
			case repo.ObsoleteFile:
				// check decodes obsolete sets: a real (empty) one.
				set, err := r.MarkObsolete(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				name = set.ID.String()
			default:
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
			flipMiddleByte(t, filepath.Join(dir, string(typ), name))
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

// TestDamagedFiles: DamagedFiles lists a file whose bytes do not match its
// name, one whose bytes match but do not open with the key and one whose
// seal byte is unknown, returns LoadStored's bytes as they are, and lists
// no intact file.
func TestDamagedFiles(t *testing.T) {
	ctx := context.Background()
	dir, r := newLocal(t)
	defer r.Close()
	var ids []repo.ID
	for _, s := range []string{"one", "two", "three"} {
		id, err := r.SaveFile(ctx, repo.RecordFile, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if got, err := r.DamagedFiles(ctx, repo.RecordFile); err != nil || len(got) != 0 {
		t.Fatalf("healthy: %v %v", got, err)
	}
	// A flipped byte.
	b := flipMiddleByte(t, filepath.Join(dir, "records", ids[1].String()))
	// A file named by its own SHA-256 that does not open with the key (a
	// sealed file with a flipped byte, renamed to match).
	planted, err := os.ReadFile(filepath.Join(dir, "records", ids[2].String()))
	if err != nil {
		t.Fatal(err)
	}
	planted[len(planted)-1] ^= 1
	pid := repo.ID(sha256.Sum256(planted))
	if err := os.WriteFile(filepath.Join(dir, "records", pid.String()), planted, 0o400); err != nil {
		t.Fatal(err)
	}
	// An unknown seal version is damage too: a new one comes only with a
	// new config version (doc/design.md §13), so in this repository it is
	// junk that anyone can write under a matching name.
	newer := append([]byte{planted[0] + 1}, planted[1:]...)
	nid := repo.ID(sha256.Sum256(newer))
	if err := os.WriteFile(filepath.Join(dir, "records", nid.String()), newer, 0o400); err != nil {
		t.Fatal(err)
	}
	got, err := r.DamagedFiles(ctx, repo.RecordFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[repo.ID]bool{ids[1]: true, pid: true, nid: true}
	if len(got) != len(want) || !want[got[0]] || !want[got[1]] || !want[got[2]] {
		t.Fatalf("damaged %v, want %v, %v and %v", got, ids[1], pid, nid)
	}
	raw, err := r.LoadStored(ctx, repo.RecordFile, ids[1])
	if err != nil || !bytes.Equal(raw, b) {
		t.Fatalf("LoadStored: %v, bytes equal %v", err, bytes.Equal(raw, b))
	}
	if _, err := r.DamagedFiles(ctx, repo.KeyFile); err == nil {
		t.Error("DamagedFiles of key files: no error")
	}
}

// flipMiddleByte flips a bit of the middle byte of the file at p, in place,
// and returns the file's new bytes.
func flipMiddleByte(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	_ = os.Chmod(p, 0o600)
	if err := os.WriteFile(p, b, 0o400); err != nil {
		t.Fatal(err)
	}
	return b
}

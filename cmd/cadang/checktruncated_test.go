package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
)

// truncateDataPack cuts the data pack that holds the most blobs to half
// its length and returns it, with the IDs of the data blobs it held that
// lay wholly before the cut and of those cut off.
func truncateDataPack(t *testing.T, dir string) (pack repo.ID, kept, cut map[repo.ID]bool) {
	t.Helper()
	rp := openForTest(t, dir, cliTestPassword)
	byPack := map[repo.ID][]repo.BlobLocation{}
	_ = rp.Index().Each(func(l repo.BlobLocation) error {
		if l.Type == repo.DataBlob {
			byPack[l.Pack] = append(byPack[l.Pack], l)
		}
		return nil
	})
	rp.Close()
	for p, ls := range byPack {
		if len(ls) > len(byPack[pack]) {
			pack = p
		}
	}
	file := filepath.Join(dir, "data", pack.String()[:2], pack.String())
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size() / 2
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, size); err != nil {
		t.Fatal(err)
	}
	kept, cut = map[repo.ID]bool{}, map[repo.ID]bool{}
	for _, l := range byPack[pack] {
		if int64(l.Offset)+int64(l.Length) <= size {
			kept[l.ID] = true
		} else {
			cut[l.ID] = true
		}
	}
	return pack, kept, cut
}

// TestCLICheckReadDataTracesTruncatedPack: a pack cut short has lost its
// header (at its end), and the blobs in the part cut off. check
// --read-data opens the blobs at the places the index gives, and names
// the files that use the blobs cut off, as it names those of a damaged
// blob in a pack of full length (text and --json), and not the files
// whose blobs lie before the cut, which a restore still reads. Before, it
// reported only the damaged pack and named no file.
func TestCLICheckReadDataTracesTruncatedPack(t *testing.T) {
	r := cliNewRepo(t)
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	data := filepath.Join(t.TempDir(), "data")
	contents := map[string][]byte{}
	for i := range 8 {
		f := filepath.Join(data, fmt.Sprintf("laporan%02d.pdf", i))
		contents[f] = randBytes(uint64(300+i), 30<<10)
		writeFileT(t, f, contents[f], 0o644)
	}
	id := str(t, cliBackup(t, r, data), "snapshot_id")
	byBlob := map[repo.ID]string{} // a file below the chunker's minimum is one blob
	rp := openForTest(t, r, cliTestPassword)
	for f, b := range contents {
		byBlob[rp.BlobID(b)] = f
	}
	rp.Close()
	pack, kept, cut := truncateDataPack(t, r)
	if len(kept) == 0 || len(cut) == 0 {
		t.Fatalf("the cut keeps %d blobs and cuts %d: the test needs both", len(kept), len(cut))
	}
	var wantCut, wantKept []string
	for b := range cut {
		wantCut = append(wantCut, byBlob[b])
	}
	for b := range kept {
		wantKept = append(wantKept, byBlob[b])
	}

	res := cliCode(t, 1, "-r", r, "check", "--read-data")
	for _, f := range wantCut {
		if !strings.Contains(res.stdout, "damaged: snapshot "+id[:8]+": "+f+": data blob ") {
			t.Errorf("check --read-data does not name %s, whose blob was cut off the pack:\n%s", f, res)
		}
	}
	for _, f := range wantKept {
		if strings.Contains(res.stdout, f) {
			t.Errorf("check --read-data names %s, whose blob lies before the cut:\n%s", f, res)
		}
	}

	// One damaged thing, though its hash, its header and each blob cut
	// off are findings of their own (before: "check found 5 problem(s)").
	if n := strings.Count(res.stdout, "error: "); n < 3 {
		t.Errorf("check --read-data prints %d findings, want the hash's, the header's and the blobs':\n%s", n, res)
	}
	if !strings.Contains(res.stderr, "check found 1 damaged pack\n") {
		t.Errorf("check --read-data does not count the pack once:\n%s", res)
	}

	// The record says it as a note (for the documents in their language,
	// not cadang's English), with the files named and the advice printed.
	rec := lastRecord(t)
	if rec.Op != runlog.OpCheck || rec.Note == nil || rec.Note.Code != "check-found-packs" || fmt.Sprint(rec.Note.Args) != "[1]" || rec.Message != "" {
		t.Errorf("the check's record: note %+v, message %q; want check-found-packs [1] and no English message", rec.Note, rec.Message)
	}
	if rec.Check == nil {
		t.Fatalf("the check's record has no check facts: %+v", rec)
	}
	var recorded []string
	for _, p := range rec.Check.Paths {
		if p.Snapshot != id || p.Tree {
			t.Errorf("recorded path %+v, want a file of snapshot %s", p, id)
		}
		recorded = append(recorded, p.Path)
	}
	slices.Sort(recorded)
	slices.Sort(wantCut)
	if !slices.Equal(recorded, wantCut) || rec.Check.MorePaths != 0 || rec.Check.DamagedPacks != 1 {
		t.Errorf("recorded paths %q (+%d), %d damaged packs; want %q, 1", recorded, rec.Check.MorePaths, rec.Check.DamagedPacks, wantCut)
	}
	// The advice recorded is the terminal's: 'repair packs', then a backup
	// heals (the blobs are still in the index).
	if !slices.Equal(rec.Check.Advice, []string{"repair-packs", "lost-data-after-repair"}) ||
		!strings.Contains(res.stdout, "run 'cadang repair packs' (above) first") {
		t.Errorf("recorded advice %q; the terminal's:\n%s", rec.Check.Advice, res.stdout)
	}

	res = cliCode(t, 1, "-r", r, "--json", "check", "--read-data")
	var got struct {
		Problems         []string `json:"problems"`
		DamagedPacks     int      `json:"damaged_packs"`
		OtherProblems    *int     `json:"other_problems"`
		DamagedBlobUsers []struct {
			Snapshot string `json:"snapshot"`
			Paths    []struct {
				Path string `json:"path"`
				Pack string `json:"pack"`
			} `json:"paths"`
		} `json:"damaged_blob_users"`
	}
	lines := jsonLines(t, res.stdout)
	b, _ := json.Marshal(lines[len(lines)-1])
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.DamagedPacks != 1 || got.OtherProblems != nil || len(got.Problems) < 3 {
		t.Errorf("check --json: damaged_packs %d, other_problems %v, %d problems; want 1, none, the findings: %s", got.DamagedPacks, got.OtherProblems, len(got.Problems), b)
	}
	if len(got.DamagedBlobUsers) != 1 || got.DamagedBlobUsers[0].Snapshot != id {
		t.Fatalf("damaged_blob_users: %s", b)
	}
	var paths []string
	for _, p := range got.DamagedBlobUsers[0].Paths {
		if p.Pack != pack.String() {
			t.Errorf("damaged_blob_users names pack %s, want %s", p.Pack, pack)
		}
		paths = append(paths, p.Path)
	}
	slices.Sort(paths)
	slices.Sort(wantCut)
	if !slices.Equal(paths, wantCut) {
		t.Errorf("damaged_blob_users names %q, want the files cut off %q", paths, wantCut)
	}
}

// A check of a repository that does not open is recorded with a note that
// each document says in its language, the error following as the
// program's message: before, the note was "error" and the Indonesian
// report quoted only cadang's English.
func TestCLICheckUnopenedRecordsNote(t *testing.T) {
	t.Setenv(envLog, filepath.Join(t.TempDir(), "runlog.jsonl"))
	gone := filepath.Join(t.TempDir(), "no-repo")
	res := cliCode(t, 10, "-r", gone, "check")
	rec := lastRecord(t)
	if rec.Op != runlog.OpCheck || rec.Note == nil || rec.Note.Code != "repo-open-failed" || fmt.Sprint(rec.Note.Args) != "["+gone+"]" ||
		!strings.Contains(res.stderr, rec.Message) || rec.Message == "" || rec.RepositoryID != "" {
		t.Errorf("record of a check that could not open: note %+v, message %q, repository ID %q\n%s", rec.Note, rec.Message, rec.RepositoryID, res)
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
)

// flipDataBlobs flips one byte in the middle of every data blob that the
// index names, in the pack files on disk, and returns those packs.
func flipDataBlobs(t *testing.T, dir string) map[repo.ID]bool {
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
	packs := map[repo.ID]bool{}
	for pack, locs := range byPack {
		packs[pack] = true
		p := pack.String()
		file := filepath.Join(dir, "data", p[:2], p)
		if err := os.Chmod(file, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range locs {
			b[l.Offset+l.Length/2] ^= 0x55
		}
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return packs
}

// TestCLICheckReadDataNamesDamagedUsers: the check --read-data that finds
// a damaged pack names, itself, the snapshots and files that use its
// blobs (no copy holds them elsewhere), at most ten paths per snapshot and
// a count of the rest, with the lost-blob advice and the ID to give the
// other medium; and --json says the same in fields. Before, only a check
// after 'repair packs' named them.
func TestCLICheckReadDataNamesDamagedUsers(t *testing.T) {
	r := cliNewRepo(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var files []string
	for i := range 15 {
		f := filepath.Join(data, fmt.Sprintf("dokumen%02d.pdf", i))
		writeFileT(t, f, randBytes(uint64(80+i), 40<<10), 0o644)
		files = append(files, f)
	}
	id := str(t, cliBackup(t, r, data), "snapshot_id")
	packs := flipDataBlobs(t, r)
	// Another snapshot of other files, whose blobs are in other packs.
	other := filepath.Join(dir, "other")
	writeFileT(t, filepath.Join(other, "kontrak.pdf"), randBytes(99, 10<<10), 0o644)
	otherID := str(t, cliBackup(t, r, other), "snapshot_id")
	damagedPack := func(s string) bool {
		for p := range packs {
			if s == p.String() || s == p.Short() {
				return true
			}
		}
		return false
	}

	res := cliCode(t, 1, "-r", r, "check", "--read-data")
	out := res.stdout
	named := regexp.MustCompile(`(?m)^damaged: snapshot `+id[:8]+`: (/\S+): data blob [0-9a-f]{8} in pack ([0-9a-f]{8})$`).FindAllStringSubmatch(out, -1)
	if len(named) != 10 {
		t.Fatalf("check --read-data names %d paths of snapshot %s, want 10:\n%s", len(named), id[:8], res)
	}
	for _, m := range named {
		if !slices.Contains(files, m[1]) || !damagedPack(m[2]) {
			t.Errorf("named %q in pack %s, not a file of the snapshot in a damaged pack", m[1], m[2])
		}
	}
	for _, s := range []string{
		"damaged: snapshot " + id[:8] + ": ... and 5 more\n",
		"the snapshots and files that use them are named below",
		"still restores every other file",
		"note: snapshot " + id[:8] + " here is no copy: give OTHER the ID " + id[:8],
		"loses every file it still restores",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("check --read-data lacks %q:\n%s", s, res)
		}
	}
	if strings.Contains(out, "damaged: snapshot "+otherID[:8]) {
		t.Errorf("check names the snapshot whose blobs are sound:\n%s", res)
	}

	res = cliCode(t, 1, "-r", r, "--json", "check", "--read-data")
	var got struct {
		OK               bool `json:"ok"`
		DamagedBlobUsers []struct {
			Snapshot string `json:"snapshot"`
			Paths    []struct {
				Path     string `json:"path"`
				BlobType string `json:"blob_type"`
				Blob     string `json:"blob"`
				Pack     string `json:"pack"`
			} `json:"paths"`
			MorePaths int `json:"more_paths"`
		} `json:"damaged_blob_users"`
		OtherMediumIDs []struct {
			Snapshot string `json:"snapshot"`
			ID       string `json:"id"`
			IsCopy   bool   `json:"is_copy"`
		} `json:"other_medium_ids"`
	}
	lines := jsonLines(t, res.stdout)
	b, _ := json.Marshal(lines[len(lines)-1])
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.OK || len(got.DamagedBlobUsers) != 1 {
		t.Fatalf("check --read-data --json: %s", b)
	}
	u := got.DamagedBlobUsers[0]
	if u.Snapshot != id || len(u.Paths) != 10 || u.MorePaths != 5 {
		t.Errorf("damaged_blob_users: %s", b)
	}
	for _, p := range u.Paths {
		if !slices.Contains(files, p.Path) || p.BlobType != "data" || !damagedPack(p.Pack) || len(p.Blob) != 64 {
			t.Errorf("damaged_blob_users path %+v", p)
		}
	}
	if len(got.OtherMediumIDs) != 1 || got.OtherMediumIDs[0].Snapshot != id || got.OtherMediumIDs[0].ID != id || got.OtherMediumIDs[0].IsCopy {
		t.Errorf("other_medium_ids: %s", b)
	}
}

// TestCLICheckReadDataDamagedBlobWithCopy: a damaged blob that another
// pack holds intact costs nothing (a restore reads the other copy), so
// check --read-data reports the damaged pack but names no snapshot or
// file as using a lost blob.
func TestCLICheckReadDataDamagedBlobWithCopy(t *testing.T) {
	r := cliNewRepo(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	content := randBytes(91, 1<<10) // one chunk: the blob is the file
	writeFileT(t, filepath.Join(data, "kontrak.pdf"), content, 0o644)
	// A handle opened before the backup does not know its blobs, and
	// stores the file's content again: a second copy, in another pack.
	early := openForTest(t, r, cliTestPassword)
	cliBackup(t, r, data)
	ctx := context.Background()
	id, _, err := early.SaveBlob(ctx, repo.DataBlob, content)
	if err != nil {
		t.Fatal(err)
	}
	if err := early.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	early.Close()
	rp := openForTest(t, r, cliTestPassword)
	locs := rp.Index().Locations(repo.DataBlob, id)
	rp.Close()
	if len(locs) != 2 || locs[0].Pack == locs[1].Pack {
		t.Fatalf("want two copies of the blob in two packs: %+v", locs)
	}
	l := locs[0]
	p := l.Pack.String()
	file := filepath.Join(r, "data", p[:2], p)
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[l.Offset+l.Length/2] ^= 0x55
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}

	res := cliCode(t, 1, "-r", r, "check", "--read-data")
	if !strings.Contains(res.stdout, "'cadang repair packs "+p) || strings.Contains(res.stdout, "damaged: snapshot") ||
		strings.Contains(res.stdout, "give OTHER") {
		t.Errorf("check --read-data names a snapshot as using a blob another pack holds intact:\n%s", res)
	}
	cliOK(t, "-r", r, "restore", "latest", "--target", filepath.Join(dir, "restored"))
}

// The README walk of 2026-12-08 followed check --read-data's advice that
// the next backup heals a damaged file still on the server: the backup
// stored nothing (the index still listed the damaged blob) and made one
// more damaged snapshot. The advice now says to run 'repair packs' first,
// and what it says is so: a backup before the repair heals nothing, one
// after it heals the snapshot.
func TestCLIDamagedBlobHealsOnlyAfterRepair(t *testing.T) {
	r := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "data")
	writeFileT(t, filepath.Join(data, "dokumen.pdf"), randBytes(7, 64<<10), 0o644)
	first := str(t, cliBackup(t, r, data), "snapshot_id")
	packs := flipDataBlobs(t, r)

	res := cliCode(t, 1, "-r", r, "check", "--read-data")
	if !strings.Contains(res.stdout, "run 'cadang repair packs' (above) first: then the next backup of them stores their contents again") {
		t.Fatalf("check --read-data does not say that the repair comes before the healing backup:\n%s", res)
	}
	if strings.Contains(res.stdout, "note: where the files are still on the server, the next backup of them stores") {
		t.Errorf("check --read-data still says that the next backup alone heals:\n%s", res)
	}

	// A backup before the repair: the damage stays, and the new snapshot
	// shares it.
	cliOK(t, "-r", r, "backup", "--force", data)
	res = cliCode(t, 1, "-r", r, "check", "--read-data")
	if !strings.Contains(res.stdout, "damaged: snapshot "+first[:8]) {
		t.Errorf("the backup before the repair healed the first snapshot, which the advice says it does not:\n%s", res)
	}

	// The repair, then a backup: healed, as the advice says.
	args := []string{"-r", r, "repair", "packs"}
	for p := range packs {
		args = append(args, p.String())
	}
	cliCode(t, 3, args...)
	cliOK(t, "-r", r, "backup", "--force", data)
	if res := cliCode(t, 0, "-r", r, "check", "--read-data"); !strings.Contains(res.stdout, "no errors were found") {
		t.Errorf("after the repair and a backup the repository is not whole:\n%s", res)
	}
}

// Every use of a damaged blob is named or counted: a file with the same
// contents as another, and a later snapshot that shares its trees with
// an earlier one. The hostile review of 2026-12-08 found the first walk's
// rule (each blob reported once) naming one file of twenty thousand, and
// a later snapshot named for one file of five, while the advice said each
// snapshot still restores every other file.
func TestCLICheckReadDataNamesEveryUse(t *testing.T) {
	r := cliNewRepo(t)
	data := filepath.Join(t.TempDir(), "d")
	same := randBytes(11, 20<<10)
	for _, f := range []string{"f1", "sub/copy-of-f1"} {
		writeFileT(t, filepath.Join(data, f), same, 0o644)
	}
	writeFileT(t, filepath.Join(data, "f2"), randBytes(12, 20<<10), 0o644)
	for i := range 12 {
		writeFileT(t, filepath.Join(data, "many", fmt.Sprintf("x%02d", i)), randBytes(13, 5<<10), 0o644) // twelve alike
	}
	first := str(t, cliBackup(t, r, data), "snapshot_id")
	writeFileT(t, filepath.Join(data, "f4"), randBytes(14, 20<<10), 0o644)
	second := str(t, cliBackup(t, r, data), "snapshot_id")
	flipDataBlobs(t, r)

	res := cliCode(t, 1, "-r", r, "--json", "check", "--read-data")
	var sum struct {
		DamagedBlobUsers []struct {
			Snapshot string `json:"snapshot"`
			Paths    []struct {
				Path string `json:"path"`
			} `json:"paths"`
			MorePaths int `json:"more_paths"`
		} `json:"damaged_blob_users"`
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("check --json: %v\n%s", err, res)
	}
	got := map[string][2]int{} // snapshot: paths named, more
	names := map[string][]string{}
	for _, u := range sum.DamagedBlobUsers {
		got[u.Snapshot] = [2]int{len(u.Paths), u.MorePaths}
		for _, p := range u.Paths {
			names[u.Snapshot] = append(names[u.Snapshot], strings.TrimPrefix(p.Path, data))
		}
	}
	// first: f1, sub/copy-of-f1, f2 and the twelve: 15 uses; second: 16.
	if g := got[first]; g[0]+g[1] != 15 || g[0] != 10 {
		t.Errorf("snapshot %s: %d named and %d more, want 10 and 5 (15 files use the damaged blobs): %v", first[:8], g[0], g[1], names[first])
	}
	if g := got[second]; g[0]+g[1] != 16 || g[0] != 10 {
		t.Errorf("snapshot %s: %d named and %d more, want 10 and 6: %v", second[:8], g[0], g[1], names[second])
	}
	for _, id := range []string{first, second} {
		if !slices.Contains(names[id], "/sub/copy-of-f1") && !slices.Contains(names[id], "/f1") {
			t.Errorf("snapshot %s: neither f1 nor its copy named: %v", id[:8], names[id])
		}
	}
	text := cliCode(t, 1, "-r", r, "check", "--read-data").stdout
	if !strings.Contains(text, "damaged: snapshot "+second[:8]+": ... and 6 more") {
		t.Errorf("the text does not count the rest of the later snapshot's uses:\n%s", text)
	}
}

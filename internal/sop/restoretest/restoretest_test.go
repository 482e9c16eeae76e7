package restoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// fakeSource holds snapshots in memory; Restore writes the files and reads
// them back, comparing bytes, as the real one does.
type fakeSource struct {
	snaps   []Snapshot
	content map[string]map[string][]byte // snapshot -> path -> bytes
	corrupt map[string]bool              // path whose restored bytes differ
	clk     *clock.Fake
}

func newFake() *fakeSource {
	f := &fakeSource{content: map[string]map[string][]byte{}, corrupt: map[string]bool{}}
	t := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	for d := 0; d < 10; d++ {
		db := Snapshot{ID: fmt.Sprintf("db%02d", d), Source: "database", Time: t.AddDate(0, 0, d)}
		up := Snapshot{ID: fmt.Sprintf("up%02d", d), Source: "upload", Time: t.AddDate(0, 0, d)}
		f.snaps = append(f.snaps, db, up)
		f.content[db.ID] = map[string][]byte{"epns_prod.dump": []byte("PGDMP" + db.ID)}
		f.content[up.ID] = map[string][]byte{}
		for i := 0; i < 50; i++ {
			f.content[up.ID][fmt.Sprintf("/home/appserv/file_upload/%03d.pdf", i)] = bytes.Repeat([]byte{byte(i)}, 100*(i+1))
		}
	}
	return f
}

func (f *fakeSource) Snapshots(context.Context, *jobs.Job) ([]Snapshot, error) { return f.snaps, nil }

func (f *fakeSource) Files(_ context.Context, s Snapshot) ([]File, error) {
	var out []File
	for p, b := range f.content[s.ID] {
		out = append(out, File{p, int64(len(b))})
	}
	return out, nil
}

func (f *fakeSource) Restore(_ context.Context, s Snapshot, files []File, dir string) ([]runlog.TestItem, error) {
	if f.clk != nil {
		f.clk.Advance(time.Minute)
	}
	var out []runlog.TestItem
	for _, fl := range files {
		want := f.content[s.ID][fl.Path]
		dst := filepath.Join(dir, filepath.FromSlash(fl.Path))
		os.MkdirAll(filepath.Dir(dst), 0o700)
		data := want
		if f.corrupt[fl.Path] {
			data = append([]byte{'X'}, want[1:]...)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			return nil, err
		}
		got, _ := os.ReadFile(dst)
		it := runlog.TestItem{Path: fl.Path, Size: fl.Size, OK: bytes.Equal(got, want)}
		if !it.OK {
			it.Error = "content differs from the snapshot at byte 0"
		}
		out = append(out, it)
	}
	return out, nil
}

func job(t *testing.T) *jobs.Job {
	c, err := jobs.Load("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	j, _ := c.Job("spse-prod")
	// a verify command that really runs: the restored dump must start with PGDMP
	j.Sources[0].Verify = []string{"sh", "-c", `head -c 5 "$0" | grep -q PGDMP`, "{file}"}
	return j
}

func TestSampleIsRepeatable(t *testing.T) {
	src, j := newFake(), job(t)
	o := Options{Sample: 7, Snapshots: 3}
	a, _ := Sample(context.Background(), src, j, o, 42)
	b, _ := Sample(context.Background(), src, j, o, 42)
	c, _ := Sample(context.Background(), src, j, o, 43)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different sample")
	}
	if reflect.DeepEqual(a.Picks, c.Picks) {
		t.Fatal("different seeds gave the same sample")
	}
	n, dumps := 0, map[string]bool{}
	for _, p := range a.Picks {
		if p.Dump {
			if p.Snapshot.Source != "database" || len(p.Files) != 1 {
				t.Fatalf("dump pick: %+v", p)
			}
			dumps[p.Snapshot.ID] = true
			continue
		}
		n += len(p.Files)
	}
	// Issue 15: the dumps of as many snapshots as configured (3 by
	// default), not of one.
	if n != 7 || len(a.Picks)-len(dumps) > 3 || len(dumps) != 3 {
		t.Fatalf("sampled %d files in %d picks, %d distinct dumps", n, len(a.Picks), len(dumps))
	}
	bb, _ := Sample(context.Background(), src, j, Options{SampleBytes: 20000}, 1)
	var total int64
	for _, p := range bb.Picks {
		for _, f := range p.Files {
			if !p.Dump {
				total += f.Size
			}
		}
	}
	if total == 0 || total > 20000 {
		t.Fatalf("byte budget: %d", total)
	}
}

func TestRun(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	src := newFake()
	src.clk = clk
	pg := newFakePG()
	tester := &Tester{Source: src, Clock: clk, Postgres: pg}
	var rec runlog.Record
	err := tester.Run(context.Background(), job(t), Options{Sample: 5, Seed: 7, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if err != nil {
		t.Fatalf("%v %+v", err, rec.Errors)
	}
	if rec.Test.Seed != 7 || len(rec.Test.Items) != 8 || len(rec.Test.Commands) != 3 || !rec.Test.Commands[0].OK || rec.Test.RestoreMS < 60000 {
		t.Fatalf("%+v", rec.Test)
	}
	// The pg_dump command source's dumps were loaded into scratch
	// databases, each dropped after (issue 15).
	if len(rec.Test.Databases) != 3 || !rec.Test.Databases[0].Loaded || !rec.Test.Databases[0].Dropped || len(pg.live) != 0 || rec.Note.Code != "test-ok-db-commands-no-checks" {
		t.Fatalf("databases %+v, left %v, note %+v", rec.Test.Databases, pg.live, rec.Note)
	}
	if _, err := os.Stat(rec.Test.Scratch); !errors.Is(err, os.ErrNotExist) {
		t.Error("scratch directory left behind")
	}
	// The record says which snapshots were dumps (every dump file
	// restored), for the report to say the sample without the
	// configuration.
	dumps := 0
	for _, s := range rec.Test.Snapshots {
		if s.Dump != (s.Source == "database") {
			t.Errorf("snapshot %s of %s: dump %v", s.ID, s.Source, s.Dump)
		}
		if s.Dump {
			dumps++
		}
	}
	if dumps == 0 {
		t.Errorf("no dump snapshot recorded: %+v", rec.Test.Snapshots)
	}
	// a corrupted file and a dump that does not verify
	for p := range src.content["up00"] {
		src.corrupt[p] = true
	}
	for _, s := range src.snaps {
		if s.Source == "database" {
			src.content[s.ID]["epns_prod.dump"] = []byte("garbage")
		}
	}
	rec = runlog.Record{}
	err = tester.Run(context.Background(), job(t), Options{Sample: 500, Snapshots: 10, Seed: 7, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if runlog.KindOf(err) != runlog.KindIntegrity || rec.Test.Commands[0].OK || rec.Test.Commands[0].ExitCode == 0 {
		t.Fatalf("%v %+v", err, rec.Test.Commands)
	}
	// the record says it as facts; the error's English only repeats them
	if rec.Note == nil || rec.Note.Code != "test-checks" || !runlog.IsNoted(err) {
		t.Fatalf("note %+v, noted %v", rec.Note, runlog.IsNoted(err))
	}
	// 500 files differ and 10 verify commands fail; the 10 garbage dumps
	// are not loaded into the source's server (not an archive): 510 of
	// 530 checks failed, 10 not carried out.
	if want := []any{510, 10, 530, 510, 10, 10, 0}; !reflect.DeepEqual(rec.Note.Args, want) {
		t.Errorf("note %v, want %v", rec.Note.Args, want)
	}
	bad := 0
	for _, it := range rec.Test.Items {
		if !it.OK {
			bad++
		}
	}
	if bad != 500 { // corrupt is keyed by path, so every upload snapshot is hit
		t.Fatalf("%d bad items", bad)
	}
	errorsSaid(t, rec)
}

// TestVerifyCommandHidesSecrets: a verify command runs on files restored
// from a backup that may be hostile, and its output goes into the run log;
// it sees neither the repository password nor cloud credentials.
func TestVerifyCommandHidesSecrets(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", "repo-password-c4e8")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-93ab")
	t.Setenv("AWS_SESSION_TOKEN", "aws-token-17fd")
	t.Setenv("CADANG_TEST_VISIBLE", "yes")
	out, code, err := runCommand(context.Background(), []string{"env"})
	if err != nil || code != 0 {
		t.Fatalf("env: %d %v", code, err)
	}
	for _, s := range []string{"repo-password-c4e8", "aws-secret-93ab", "aws-token-17fd"} {
		if bytes.Contains([]byte(out), []byte(s)) {
			t.Errorf("the verify command saw %q", s)
		}
	}
	if !bytes.Contains([]byte(out), []byte("CADANG_TEST_VISIBLE=yes")) {
		t.Errorf("the verify command lost its environment:\n%s", out)
	}
}

// cancelledSource is a Source whose restore is interrupted during its last
// file and, as a careless Source might, reports that file as failed
// without an error.
type cancelledSource struct {
	*fakeSource
	cancel context.CancelFunc
}

func (c cancelledSource) Restore(ctx context.Context, s Snapshot, files []File, dir string) ([]runlog.TestItem, error) {
	items, err := c.fakeSource.Restore(ctx, s, files, dir)
	if err != nil || len(items) == 0 {
		return items, err
	}
	c.cancel()
	items[len(items)-1].OK = false
	items[len(items)-1].Error = "restore: context canceled"
	return items, nil
}

// An interrupted restore test says it was interrupted; it is not a test
// whose checks failed (an integrity failure in the run log, with its
// notification).
func TestRunInterruptedIsNotAFailedTest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := job(t)
	for i := range j.Sources {
		// No database is loaded and no command verifies: nothing else
		// would notice the interruption after the last pick.
		j.Sources[i].RestoreInto = jobs.RestoreIntoNone
		j.Sources[i].Verify = nil
	}
	tester := &Tester{Source: cancelledSource{newFake(), cancel}, Postgres: newFakePG()}
	var rec runlog.Record
	err := tester.Run(ctx, j, Options{Sample: 5, Seed: 7, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if !errors.Is(err, context.Canceled) || runlog.KindOf(err) == runlog.KindIntegrity {
		t.Fatalf("interrupted restore test: %v (kind %v), want context.Canceled", err, runlog.KindOf(err))
	}
}

// repoFake is a repository tested without a configuration file: for ten
// days, one snapshot of the database dump (one file) and one of the
// uploads (50 files) a day, grouped by the source their tags say.
func repoFake() *fakeSource {
	f := newFake()
	for i := range f.snaps {
		s := &f.snaps[i]
		s.Group = "source\x00spse-prod\x00" + s.Source
		s.Source += " (spse-prod)"
	}
	return f
}

// Without a configuration file the job has no sources, and the sample is
// drawn from every source the snapshots' tags name: the one-file database
// dump was drawn by 1 of 8 seeds when every file of every snapshot was
// one pool. Each source's newest snapshot is tested, every snapshot drawn
// gets a file (none is left out of the report), and the sample size holds.
func TestSampleWithoutSourcesTestsEverySource(t *testing.T) {
	src := repoFake()
	j := &jobs.Job{Name: "/mnt/backup"}
	for _, o := range []Options{{Sample: 20}, {Sample: 20, Snapshots: 5}, {Sample: 3}, {SampleBytes: 20000}} {
		for seed := uint64(1); seed <= 10; seed++ {
			p, err := Sample(context.Background(), src, j, o, seed)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Sample(context.Background(), src, j, o, seed)
			if !reflect.DeepEqual(p, again) {
				t.Fatalf("%+v seed %d: the same seed drew another sample", o, seed)
			}
			k := max(o.Snapshots, jobs.DefaultSnapshots)
			snaps, files, dumps := map[string]int{}, 0, 0
			var bytes int64
			newest := map[string]bool{}
			for _, pk := range p.Picks {
				if len(pk.Files) == 0 || pk.Dump {
					t.Fatalf("%+v seed %d: pick %+v", o, seed, pk)
				}
				snaps[pk.Snapshot.Source]++
				files += len(pk.Files)
				for _, f := range pk.Files {
					bytes += f.Size
					if f.Path == "epns_prod.dump" {
						dumps++
					}
				}
				if pk.Snapshot.ID == "db09" || pk.Snapshot.ID == "up09" {
					newest[pk.Snapshot.ID] = true
				}
			}
			if dumps == 0 || !newest["db09"] || !newest["up09"] {
				t.Fatalf("%+v seed %d: the dump or a source's newest snapshot is not tested: %+v", o, seed, p.Picks)
			}
			if snaps["database (spse-prod)"] > k || snaps["upload (spse-prod)"] > k {
				t.Fatalf("%+v seed %d: more than %d snapshots of a source: %v", o, seed, k, snaps)
			}
			switch {
			case o.Sample > 0 && files != o.Sample:
				t.Fatalf("%+v seed %d: %d files sampled", o, seed, files)
			case o.SampleBytes > 0 && bytes > o.SampleBytes:
				t.Fatalf("%+v seed %d: %d bytes sampled", o, seed, bytes)
			}
			if o.Sample == 20 && (snaps["database (spse-prod)"] != k || snaps["upload (spse-prod)"] != k) {
				t.Fatalf("%+v seed %d: %v snapshots drawn, want %d of each source", o, seed, snaps, k)
			}
		}
	}
	// A sample smaller than the number of sources still tests each.
	p, _ := Sample(context.Background(), src, j, Options{Sample: 1}, 7)
	if len(p.Picks) != 2 || p.Picks[0].Snapshot.ID != "db09" || p.Picks[1].Snapshot.ID != "up09" {
		t.Fatalf("--sample 1: %+v", p.Picks)
	}
	// The picks a test restores are listed: its note counts them.
	var rec runlog.Record
	tester := &Tester{Source: src, Clock: clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	if err := tester.Run(context.Background(), j, Options{Sample: 20, Seed: 3, HasSeed: true, Scratch: t.TempDir()}, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Test.Snapshots) != 6 || len(rec.Test.Items) != 20 || rec.Note.Code != "test-ok-no-commands" || fmt.Sprint(rec.Note.Args[1]) != "6" {
		t.Fatalf("record %+v, note %+v", rec.Test, rec.Note)
	}
}

// A configured job's path sources are drawn per source, as a repository's
// sources are without a configuration: every source gets a file (its
// newest snapshot's, even beyond --sample), each other snapshot drawn gets
// one while the sample allows, no snapshot is drawn without a file, and a
// source that never held a file is named (its newest snapshot, no_files),
// not left out. Drawn as one pool, a config directory beside uploads was
// often not tested at all (the README walk of 2026-12-08: seeds 2 and 3).
func TestSampleEverySourceTested(t *testing.T) {
	f := &fakeSource{content: map[string]map[string][]byte{}}
	t0 := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	for d := 0; d < 30; d++ {
		up := Snapshot{ID: fmt.Sprintf("up%02d", d), Source: "upload", Time: t0.AddDate(0, 0, d)}
		cf := Snapshot{ID: fmt.Sprintf("cf%02d", d), Source: "config", Time: t0.AddDate(0, 0, d)}
		em := Snapshot{ID: fmt.Sprintf("em%02d", d), Source: "empty", Time: t0.AddDate(0, 0, d)}
		f.snaps = append(f.snaps, up, cf, em)
		f.content[up.ID] = map[string][]byte{}
		for i := 0; i < 200; i++ {
			f.content[up.ID][fmt.Sprintf("/upload/%03d.pdf", i)] = []byte{byte(i)}
		}
		f.content[cf.ID] = map[string][]byte{"/etc/app.conf": []byte("conf")}
		f.content[em.ID] = map[string][]byte{}
	}
	f.content["cf00"] = map[string][]byte{} // a day the directory was empty
	j := &jobs.Job{Name: "app", Sources: []jobs.Source{
		{Name: "upload", Paths: []string{"/upload"}}, {Name: "config", Paths: []string{"/etc"}}, {Name: "empty", Paths: []string{"/srv/empty"}}}}
	for seed := uint64(0); seed < 60; seed++ {
		plan, err := Sample(context.Background(), f, j, Options{Sample: 5, Snapshots: 4}, seed)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		per := map[string]int{}
		for _, p := range plan.Picks {
			per[p.Snapshot.Source]++
			n += len(p.Files)
			switch {
			case p.Snapshot.Source == "empty":
				if p.Snapshot.ID != "em29" || len(p.Files) != 0 {
					t.Fatalf("seed %d: the empty source drawn as %+v, want its newest, em29, without files", seed, p)
				}
			case len(p.Files) == 0 || p.Snapshot.ID == "cf00":
				t.Fatalf("seed %d: snapshot %s drawn with no file: %+v", seed, p.Snapshot.ID, plan.Picks)
			}
		}
		if per["upload"] == 0 || per["config"] == 0 || per["empty"] != 1 || per["upload"] > 4 || per["config"] > 4 {
			t.Fatalf("seed %d: snapshots drawn per source %v: want 1 to 4 of upload and of config, and the empty one named", seed, per)
		}
		if n != 5 {
			t.Fatalf("seed %d: %d files, want 5", seed, n)
		}
	}
	var rec runlog.Record
	err := (&Tester{Source: f}).Run(context.Background(), j, Options{Sample: 20, Snapshots: 3, Seed: 1, HasSeed: true, Scratch: t.TempDir()}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	var empty []string
	for _, s := range rec.Test.Snapshots {
		if s.NoFiles {
			empty = append(empty, s.ID)
		}
	}
	if len(rec.Test.Snapshots) != 7 || !reflect.DeepEqual(empty, []string{"em29"}) || len(rec.Snapshots) != 6 {
		t.Errorf("snapshots %+v, record's %v: want 7 listed (3 of upload, 3 of config, em29 without files), 6 tested", rec.Test.Snapshots, rec.Snapshots)
	}
}

// A scratch directory that cannot be made is the test's own target, not
// the backup medium: its failure kind is target-not-writable, never
// media-read-only (the hostile review of 2026-12-08 saw a read-only TMPDIR
// reported as "the backup medium was mounted read-only").
func TestScratchNotWritableKind(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(parent, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// root writes into a directory of mode 0500: a read-only mount
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", parent).CombinedOutput(); err != nil {
			t.Skipf("root, and no read-only tmpfs could be mounted: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", parent).Run() })
	}
	f := &fakeSource{content: map[string]map[string][]byte{"s1": {"/etc/a": []byte("a")}}, snaps: []Snapshot{{ID: "s1", Source: "etc", Time: time.Now()}}}
	j := &jobs.Job{Name: "app", Sources: []jobs.Source{{Name: "etc", Paths: []string{"/etc"}}}}
	var rec runlog.Record
	err := (&Tester{Source: f}).Run(context.Background(), j, Options{Sample: 1, Scratch: parent}, &rec)
	if k := runlog.KindOf(err); k != runlog.KindTargetNotWritable {
		t.Errorf("kind %q (%v), want target-not-writable", k, err)
	}
}

// A configured source with no snapshot at all was passed over without a
// word (the hostile review of 2026-12-08: a database source whose every
// backup failed, and the test said OK of the uploads alone). It is now in
// the record, which the report names.
func TestMissingSourceNamed(t *testing.T) {
	f := &fakeSource{content: map[string]map[string][]byte{"u1": {"/upload/a.pdf": []byte("a")}},
		snaps: []Snapshot{{ID: "u1", Source: "upload", Time: time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)}}}
	j := &jobs.Job{Name: "app", Sources: []jobs.Source{{Name: "upload", Paths: []string{"/upload"}}, {Name: "config", Paths: []string{"/etc"}}}}
	var rec runlog.Record
	if err := (&Tester{Source: f}).Run(context.Background(), j, Options{Sample: 5, Scratch: t.TempDir()}, &rec); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.Test.MissingSources, []string{"config"}) {
		t.Errorf("missing sources %v, want [config]", rec.Test.MissingSources)
	}
}

package pgdb

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/testpg"
)

func TestTablesOfList(t *testing.T) {
	out := `;
; Archive created at 2026-11-27 02:00:01 WITA
;     dbname: spse
;
215; 1259 16390 TABLE public penyedia postgres
216; 1259 16395 TABLE lelang Paket_Baru epns
3350; 0 16390 TABLE DATA public penyedia postgres
3199; 2606 16394 CONSTRAINT public penyedia penyedia_pkey postgres
`
	if got := tablesOfList(out); !slices.Equal(got, []string{"public.penyedia", "lelang.Paket_Baru"}) {
		t.Errorf("tables %q", got)
	}
	got, err := tablesOfScript(strings.NewReader("SET x = 1;\nCREATE TABLE public.tender (\n id integer\n);\nCREATE TABLE lelang.\"Paket_Baru\" (\n"))
	if err != nil || !slices.Equal(got, []string{"public.tender", "lelang.Paket_Baru"}) {
		t.Errorf("tables %q %v", got, err)
	}
}

// TestSessionDumpMatchesChecks: the checks recorded at backup time run in
// the snapshot the dump reads, so a row written between them and the dump
// changes neither (the dump and the recorded count agree on a busy
// database). Then the dump loads into a scratch database and a throwaway
// server, and the scratch database is dropped.
func TestSessionDumpMatchesChecks(t *testing.T) {
	s := testpg.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := Conn{Bin: s.Bin, Host: s.Host, Port: s.Port, User: s.User}
	s.Exec(t, "postgres", "CREATE DATABASE spse")
	s.Exec(t, "spse", "CREATE TABLE tender (id int PRIMARY KEY, nama text); INSERT INTO tender SELECT i, 'paket ' || i FROM generate_series(1, 1000) i;")

	dbs, err := c.Databases(ctx)
	if err != nil || !slices.Equal(dbs, []string{"postgres", "spse"}) {
		t.Fatalf("databases %q %v", dbs, err)
	}
	sess, err := c.Begin(ctx, "spse")
	if err != nil {
		t.Fatal(err)
	}
	n, err := sess.Query("SELECT count(*) FROM tender")
	if err != nil || n != "1000" {
		t.Fatalf("count %q %v", n, err)
	}
	// Written after the count, before the dump: in neither.
	s.Exec(t, "spse", "INSERT INTO tender VALUES (1001, 'baru')")
	dir := t.TempDir()
	file := filepath.Join(dir, "spse.dump")
	if err := c.Dump(ctx, "spse", sess.Snapshot, file); err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Query("SELECT 1"); err == nil {
		t.Error("a query on a closed session succeeded")
	}
	if err := c.DumpGlobals(ctx, filepath.Join(dir, "globals.sql")); err != nil {
		t.Fatal(err)
	}

	if err := c.CreateDB(ctx, "cadang_rt_test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx, "cadang_rt_test", file); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Query(ctx, "cadang_rt_test", "SELECT count(*) FROM tender"); err != nil || got != "1000" {
		t.Errorf("restored count %q %v, want the 1000 rows of the checked snapshot", got, err)
	}
	tbl, err := c.Tables(ctx, "cadang_rt_test")
	want, err2 := c.DumpTables(ctx, file)
	if err != nil || err2 != nil || !slices.Equal(tbl, want) || !slices.Equal(want, []string{"public.tender"}) {
		t.Errorf("tables %q (%v), dump's %q (%v)", tbl, err, want, err2)
	}
	if err := c.DropDB(ctx, "cadang_rt_test"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Query(ctx, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'cadang_rt_test'"); got != "0" {
		t.Errorf("scratch database not dropped: %s", got)
	}
	// A broken dump fails to load, naming the file.
	bad := filepath.Join(dir, "bad.dump")
	os.WriteFile(bad, []byte("PGDMP garbage"), 0o600)
	if err := c.CreateDB(ctx, "cadang_rt_bad"); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(ctx, "cadang_rt_bad", bad); err == nil || !strings.Contains(err.Error(), "bad.dump") {
		t.Errorf("loading garbage: %v", err)
	}
	c.DropDB(ctx, "cadang_rt_bad")

	tw, err := StartThrowaway(ctx, s.Bin, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Stop()
	if err := tw.LoadGlobals(ctx, filepath.Join(dir, "globals.sql")); err != nil {
		t.Logf("globals (roles that exist are reported): %v", err)
	}
	if err := tw.CreateDB(ctx, "spse"); err != nil {
		t.Fatal(err)
	}
	if err := tw.Load(ctx, "spse", file); err != nil {
		t.Fatal(err)
	}
	if got, err := tw.Query(ctx, "spse", "SELECT max(id) FROM tender"); err != nil || got != "1000" {
		t.Errorf("throwaway max(id) %q %v", got, err)
	}
	if err := tw.Stop(); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(tw.dir); !os.IsNotExist(err) {
		t.Errorf("throwaway directory left: %v", err)
	}
}

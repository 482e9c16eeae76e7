package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/snapshot"
)

// craftedTree returns a tree blob, written by hand as a hostile host
// would (cadang's encoder refuses it), with one file "f" whose single
// extent claims 2^62 bytes of the data blob id.
func craftedTree(id repo.ID) []byte {
	var node []byte
	node = append(node, 1<<3|2, 1, 'f')                 // name
	node = append(node, 2<<3, 1)                        // type: file
	node = append(node, 3<<3)                           // mode
	node = binary.AppendUvarint(node, 0o644)            //
	node = append(node, 14<<3)                          // size
	node = binary.AppendUvarint(node, 1<<62)            //
	ext := binary.AppendUvarint(nil, 1<<62<<1)          // data extent of 2^62 bytes
	ext = append(ext, id[:]...)                         //
	node = binary.AppendUvarint(node, 21<<3|2)          // content
	node = binary.AppendUvarint(node, uint64(len(ext))) //
	node = append(node, ext...)                         //
	b := []byte{'C', 'D', 'T', 1, 1}                    // magic, one node
	b = binary.AppendUvarint(b, uint64(len(node)))      //
	return append(b, node...)
}

// recordOf returns the record of a run-log line ({"record": {...}, ...}),
// or the line itself in the older flat form.
func recordOf(line []byte) []byte {
	var w struct {
		Record json.RawMessage `json:"record"`
	}
	if json.Unmarshal(line, &w) == nil && len(w.Record) > 0 {
		return w.Record
	}
	return line
}

// The finding: restore --verify of a snapshot whose file claims
// 2^62 bytes panicked (makeslice), leaving a stale lock and no run-log
// record. Now it is an error naming the tree, the lock is gone, and the
// run log records the restore as failed: its only tree cannot be read, so
// nothing was restored (exit 1, not the partial restore's 3).
func TestCLICraftedSnapshotRestoreFailsCleanly(t *testing.T) {
	repoDir := cliNewRepo(t)
	logFile := filepath.Join(t.TempDir(), "runlog.jsonl")
	t.Setenv(envLog, logFile)
	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	did, _, err := r.SaveBlob(ctx, repo.DataBlob, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	tid, _, err := r.SaveBlob(ctx, repo.TreeBlob, craftedTree(did))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sn := &snapshot.Snapshot{Time: time.Now(), Tree: tid, Paths: []string{"/srv"}, Hostname: "evil"}
	if _, err := snapshot.SaveSnapshot(ctx, r, sn); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	target := filepath.Join(t.TempDir(), "target")
	res := cliRun(t, nil, "-r", repoDir, "restore", "--verify", "--target", target, "latest")
	if res.code != 1 {
		t.Fatalf("restore of a crafted snapshot: exit %d, want 1 (failed, nothing restored):\n%s", res.code, res)
	}
	if !strings.Contains(res.stderr, "tree "+tid.Short()) || !strings.Contains(res.stderr, "invalid tree") ||
		!strings.Contains(res.stderr, "exceeds the largest blob") || strings.Contains(res.stderr, "panic") {
		t.Fatalf("the error does not name the tree and what is wrong with it:\n%s", res)
	}
	if n := len(repoFiles(t, repoDir, "locks")); n != 0 {
		t.Fatalf("%d lock files left behind", n)
	}
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatalf("no run log: %v", err)
	}
	defer f.Close()
	var found bool
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			Op     string `json:"op"`
			Result string `json:"result"`
		}
		if json.Unmarshal(recordOf(sc.Bytes()), &rec) == nil && rec.Op == "restore" && rec.Result != "ok" {
			found = true
		}
	}
	if !found {
		b, _ := os.ReadFile(logFile)
		t.Fatalf("the run log has no failed or partial restore:\n%s\n%s", b, res)
	}
	// The next command needs no unlock.
	cliOK(t, "-r", repoDir, "snapshots")
}

// The chain: depth trees, each with two directories naming the
// next, describe 2^depth paths in depth+1 tiny blobs. ls and diff stop it
// with an error naming the snapshot and a tree; check visits each tree
// once and passes.
func TestCLIExponentialChainIsBounded(t *testing.T) {
	repoDir := cliNewRepo(t)
	ctx := context.Background()
	be, err := local.Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte(cliTestPassword), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := snapshot.SaveTree(ctx, r, &snapshot.Tree{})
	if err != nil {
		t.Fatal(err)
	}
	id := empty
	for i := 0; i < 30; i++ {
		if id, err = snapshot.SaveTree(ctx, r, &snapshot.Tree{Nodes: []*snapshot.Node{
			{Name: "a", Type: snapshot.TypeDir, Mode: 0o755, Subtree: id},
			{Name: "b", Type: snapshot.TypeDir, Mode: 0o755, Subtree: id},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	old := &snapshot.Snapshot{Time: time.Now().Add(-time.Hour), Tree: empty, Paths: []string{"/srv"}, Hostname: "evil"}
	sn := &snapshot.Snapshot{Time: time.Now(), Tree: id, Paths: []string{"/srv"}, Hostname: "evil"}
	oldID, err := snapshot.SaveSnapshot(ctx, r, old)
	if err != nil {
		t.Fatal(err)
	}
	snID, err := snapshot.SaveSnapshot(ctx, r, sn)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		// find and dump share ls's walk (snapshot/walker tests all four).
		{"ls", "--recursive", snID.String()},
		{"diff", oldID.String(), snID.String()},
	} {
		res := cliRun(t, nil, append([]string{"-r", repoDir}, args...)...)
		t.Logf("%s: %s", args[0], strings.TrimSpace(res.stderr))
		if res.code != 1 || !strings.Contains(res.stderr, "snapshot "+snID.Short()) ||
			!strings.Contains(res.stderr, "tree walk limit exceeded") || !strings.Contains(res.stderr, "tree ") {
			t.Fatalf("%s: want exit 1 and an error naming the snapshot and tree:\n%s", args[0], res)
		}
	}
	cliOK(t, "-r", repoDir, "check")
	if n := len(repoFiles(t, repoDir, "locks")); n != 0 {
		t.Fatalf("%d lock files left behind", n)
	}
}

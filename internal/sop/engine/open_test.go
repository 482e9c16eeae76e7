package engine_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/local"
	"github.com/lpse/cadang/repo/backend/rest/server"
	"github.com/lpse/cadang/repo/repotest"
)

// TestOpenerOpensRemoteLocations: a medium (or --repo of an SOP command) on
// a rest: server is opened through the same location opener as the engine
// commands use. OpenLocal made every location a local path, so such a
// medium was "not connected" and the SOP layer worked on local disks only
// (issue 15).
func TestOpenerOpensRemoteLocations(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	be, err := local.Create(ctx, filepath.Join(root, "lpse"))
	if err != nil {
		t.Fatal(err)
	}
	want := repotest.New(t, be, "rahasia", repo.InitOptions{}).ID()
	srv, err := server.New(server.Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	loc := "rest:" + hs.URL + "/lpse"

	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("rahasia\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A relative configuration directory must not be joined to a remote
	// location.
	cfg := &jobs.Config{Path: "etc/cadang.toml"}
	op := &engine.Opener{Config: cfg}
	r, err := op.Open(ctx, jobs.Medium{Name: "remote", Repository: loc, PasswordFile: pwFile})
	if err != nil {
		t.Fatalf("open medium at %s: %v", loc, err)
	}
	if r.ID() != want {
		t.Errorf("opened repository %s, want %s", r.ID(), want)
	}
	r.Close()

	r2, err := engine.OpenLocation(ctx, loc, []byte("rahasia"), repo.Options{Lock: repo.SharedLock})
	if err != nil {
		t.Fatalf("OpenLocation %s: %v", loc, err)
	}
	r2.Close()
}

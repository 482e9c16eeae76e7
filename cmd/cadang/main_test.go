package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain keeps the package's tests off the machine's real state and
// makes key derivation cheap: new key files use a small argon2id cost, and
// the SOP run log goes to a temporary file unless a test sets its own.
//
// With CADANG_TEST_AS_CLI=1 the test binary is cadang itself (see
// cliProcess): tests that need real concurrent processes run it so.
func TestMain(m *testing.M) {
	if os.Getenv("CADANG_TEST_AS_CLI") == "1" {
		ctx, stop := signalContext()
		code := run(ctx, append([]string{"cadang"}, os.Args[1:]...), os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	dir, err := os.MkdirTemp("", "cadang-cmd-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("CADANG_KDF", "1,8192,1")
	os.Setenv("CADANG_INSECURE_KDF", "1") // that cost is below the floor new key files need
	os.Setenv("CADANG_LOG", filepath.Join(dir, "runlog.jsonl"))
	// Resume records of killed test backups stay out of the user's cache.
	os.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain keeps the package's tests off the machine's real state and
// makes key derivation cheap: new key files use a small argon2id cost, and
// the SOP run log goes to a temporary file unless a test sets its own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cadang-cmd-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("CADANG_KDF", "1,8192,1")
	os.Setenv("CADANG_LOG", filepath.Join(dir, "runlog.jsonl"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

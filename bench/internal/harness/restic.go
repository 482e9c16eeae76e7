package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ResticRelease is the restic the issue-16 figures compare with; it is
// what `go install github.com/restic/restic/cmd/restic@v0.19.1` puts in
// $(go env GOPATH)/bin.
const ResticRelease = "0.19.1"

// ResticBinary picks the restic to run: path when it is not empty, else
// the one `go install` put in GOPATH/bin (the release the figures are
// measured against; a distribution's restic on PATH is often years older),
// else restic on PATH, else "".
func ResticBinary(path string) string {
	if path != "" {
		if abs, err := filepath.Abs(path); err == nil {
			return abs
		}
		return path
	}
	if p := goBinRestic(); p != "" {
		return p
	}
	if p, err := exec.LookPath("restic"); err == nil {
		return p
	}
	return ""
}

// goBinRestic returns GOPATH/bin/restic if it is an executable file. GOPATH
// comes from the environment or `go env GOPATH`, else ~/go.
func goBinRestic() string {
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "restic")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

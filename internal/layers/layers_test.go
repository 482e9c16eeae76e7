// Package layers holds a test that guards the dependency direction of the
// code base (see doc/design.md, "Layers"): data flows down, never back up.
package layers

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/lpse/cadang/"

func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, mod+"...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			if bad := violates(pkg, dep); bad != "" {
				t.Errorf("%s imports %s: %s", pkg, dep, bad)
			}
		}
	}
}

func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

func violates(pkg, dep string) string {
	switch {
	case under(pkg, "chunk"), under(pkg, "crypto"):
		return "chunk and crypto are leaf packages"
	case under(pkg, "repo/backend"):
		if !under(dep, "repo/backend") {
			return "backends must not import the engine above them"
		}
	case under(pkg, "repo"):
		if under(dep, "snapshot") || under(dep, "internal") || under(dep, "cmd") {
			return "repo must not import snapshot, internal or cmd"
		}
	case under(pkg, "snapshot"):
		if under(dep, "internal") || under(dep, "cmd") {
			return "snapshot must not import internal or cmd"
		}
	case under(pkg, "internal/sop"):
		if under(dep, "cmd") || under(dep, "internal/ui") {
			return "the SOP layer must not import the CLI"
		}
	}
	if !under(pkg, "cmd") && under(dep, "cmd") {
		return "nothing imports cmd"
	}
	return ""
}

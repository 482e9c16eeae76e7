// Package layers holds a test that guards the dependency direction of the
// code base (see doc/design.md, "Layers"): data flows down, never back up.
package layers

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/lpse/cadang/"

func TestLayers(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, mod+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list failed: %v\nstderr:\n%s", err, stderr.String())
	}
	var pkgs int
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasPrefix(f[0], mod) {
			t.Errorf("go list returned a package outside the module: %q", f[0])
			continue
		}
		pkgs++
		pkg := strings.TrimPrefix(f[0], mod)
		for _, root := range layerRoots {
			if under(pkg, root) {
				seen[root] = true
			}
		}
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
	if pkgs == 0 {
		t.Fatalf("go list returned no packages for %s...; output:\n%s\nstderr:\n%s", mod, out, stderr.String())
	}
	// Every layer the rules below name must have been seen, or a rule
	// guards nothing and the test passes for the wrong reason.
	for _, root := range layerRoots {
		if !seen[root] {
			t.Errorf("go list listed no package under %s (%d packages listed)", root, pkgs)
		}
	}
}

// layerRoots are the layers that violates names.
var layerRoots = []string{"chunk", "crypto", "repo", "repo/backend", "snapshot", "internal/sop", "cmd"}

func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

// leafUtilities are internal packages that the engine (repo, its
// backends, snapshot) may import: small helpers with no knowledge of any
// layer, which import nothing from this module (TestLayers checks that),
// so the engine still depends on nothing above it.
var leafUtilities = []string{"internal/panicerr", "internal/childenv", "internal/readahead", "internal/units"}

func isLeafUtility(pkg string) bool {
	for _, u := range leafUtilities {
		if pkg == u {
			return true
		}
	}
	return false
}

func violates(pkg, dep string) string {
	if isLeafUtility(pkg) {
		return "a leaf utility imports nothing from the module"
	}
	if isLeafUtility(dep) && (under(pkg, "repo") || under(pkg, "snapshot")) {
		return ""
	}
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
	case pkg == "snapshot":
		if under(dep, "snapshot") {
			return "the format package must not import the jobs built on it"
		}
		if under(dep, "internal") || under(dep, "cmd") {
			return "snapshot must not import internal or cmd"
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
	if !under(pkg, "bench") && under(dep, "bench") {
		return "the benchmark suite is not API"
	}
	return ""
}

// TestNoTestingInBinary: test helpers live in _test files or in packages
// only tests import (repo/repotest), so the cadang binary does not link
// package testing (which also registers its flags).
func TestNoTestingInBinary(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/cadang")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps failed: %v\nstderr:\n%s", err, stderr.String())
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %d packages: %q", len(deps), out)
	}
	for _, d := range deps {
		if d == "testing" || strings.HasSuffix(d, "/repotest") || strings.HasSuffix(d, "/snapshottest") || strings.Contains(d, "goleak") {
			t.Errorf("cmd/cadang links %s", d)
		}
	}
}

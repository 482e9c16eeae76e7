package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// [organization] numbering is checked on load: a misspelt placeholder would
// otherwise print in every restore minutes' number.
func TestNumberingPlaceholders(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	for pattern, bad := range map[string]bool{"{seq}/BA-RESTORE/LPSE/{roman_month}/{year}": false, "{nomor}/BA/{year}": true} {
		text := strings.Replace(string(b), "[organization]\n", "[organization]\nnumbering = \""+pattern+"\"\n", 1)
		p := filepath.Join("../../../testdata/sop", "numbering-test.toml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		os.Remove(p)
		if bad != (err != nil) || (bad && !strings.Contains(err.Error(), "{nomor}")) {
			t.Errorf("%s: %v", pattern, err)
		}
		if !bad && c.Organization.Numbering != pattern {
			t.Errorf("%s: loaded %q", pattern, c.Organization.Numbering)
		}
	}
}

package jobs

import (
	"os"
	"path/filepath"
	"regexp"
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

// [organization] timezone is checked on load: a mistyped zone would date
// every document, the schedule's days and the CLI's times in the machine's
// zone without a word.
func TestTimezoneChecked(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	for tz, bad := range map[string]bool{"Asia/Makassar": false, "Asia/Makasar": true, "WITA": true} {
		text := strings.Replace(string(b), `timezone = "Asia/Makassar"`, `timezone = "`+tz+`"`, 1)
		c, err := Parse("cadang.toml", []byte(text))
		if bad != (err != nil) || (bad && !strings.Contains(err.Error(), "organization.timezone") && !strings.Contains(err.Error(), tz)) {
			t.Errorf("%s: %v", tz, err)
		}
		if !bad && c.Location().String() != tz {
			t.Errorf("%s: location %s", tz, c.Location())
		}
	}
}

// A medium without repository_id is told what is missing and where to find
// it, not shown an empty value as malformed (README walk).
func TestMissingRepositoryID(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/sop/cadang.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?m)^\s*repository_id = .*$`).ReplaceAllString(string(b), "")
	_, err = Parse("cadang.toml", []byte(text))
	if err == nil || !strings.Contains(err.Error(), "repository_id: missing") || !strings.Contains(err.Error(), "cat config") {
		t.Errorf("%v", err)
	}
}

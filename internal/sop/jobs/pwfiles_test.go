package jobs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The password files a run reads are checked before it: the due medium's
// is an error (cadang run leaves it to the run, which fails naming it),
// the others are warnings; each error names file, line and key.
func TestCheckRunPasswordFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pw")
	if err := os.WriteFile(good, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pw")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("a", 64)
	conf := func(a, b, off string) *Config {
		t.Helper()
		p := writeConf(t, fmt.Sprintf(`[[job]]
name = "j"
info_class = 7
classification = "rahasia"
  [[job.source]]
  paths = ["/srv"]
  [[job.medium]]
  name = "disk-A"
  repository = "/mnt/a"
  repository_id = %q
  password_file = %q
  [[job.medium]]
  name = "disk-B"
  repository = "/mnt/b"
  repository_id = %q
  password_file = %q
  [job.offsite]
  repository = "/srv/off"
  password_file = %q
`, id, a, strings.Repeat("b", 64), b, off))
		c, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := conf(good, good, good)
	if errs, warns := c.CheckRunPasswordFiles("j", 0, false); errs != nil || warns != nil {
		t.Fatalf("all readable: %v / %v", errs, warns)
	}

	// disk-A (due) missing: an error at line 12; disk-B empty and the
	// offsite's relative file missing: warnings.
	c = conf("NOPE", empty, "off.pw")
	errs, warns := c.CheckRunPasswordFiles("j", 0, false)
	if len(errs) != 1 || errs[0].Key != "job[0].medium[0].password_file" || errs[0].Line != 11 || errs[0].File != c.Path ||
		!strings.Contains(errs[0].Error(), filepath.Join(filepath.Dir(c.Path), "NOPE")+" does not exist") {
		t.Fatalf("due medium's missing file: %v", errs)
	}
	if len(warns) != 2 || warns[0].Key != "job[0].medium[1].password_file" || !strings.Contains(warns[0].Msg, "is empty") ||
		warns[1].Key != "job[0].offsite.password_file" || warns[1].Line != 19 {
		t.Fatalf("warnings: %v", warns)
	}
	// disk-B due: disk-A's file is now only a warning.
	if errs, _ = c.CheckRunPasswordFiles("j", 1, false); len(errs) != 1 || errs[0].Key != "job[0].medium[1].password_file" {
		t.Fatalf("disk-B due: %v", errs)
	}
	// A backup before a change takes any medium: an error only when no
	// medium's password can be read.
	if errs, warns = c.CheckRunPasswordFiles("j", 0, true); len(errs) != 2 || len(warns) != 1 {
		t.Fatalf("before a change, no medium readable: %v / %v", errs, warns)
	}
	c = conf("NOPE", good, good)
	if errs, warns = c.CheckRunPasswordFiles("j", 0, true); errs != nil || len(warns) != 1 {
		t.Fatalf("before a change, disk-B readable: %v / %v", errs, warns)
	}
	// A FIFO (a password handed over once) is looked up, not read: a read
	// would block here, or use up the password the run needs.
	fifo := filepath.Join(dir, "once.pw")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	c = conf(fifo, good, good)
	if errs, warns = c.CheckRunPasswordFiles("j", 0, false); errs != nil || warns != nil {
		t.Fatalf("a FIFO as password file: %v / %v", errs, warns)
	}
	// A wrong password names where it came from.
	if w := c.PasswordFileWhere(good, c.OffsitePasswordFile(*c.Jobs[0].Offsite)); w != good+", "+c.Path+":19 key job[0].offsite.password_file" {
		t.Errorf("PasswordFileWhere: %q", w)
	}
}

// Two jobs that share a disk, an offsite medium and a password file: the
// medium and offsite medium of each name that job's key and line, not
// the first job's (a README walk's spse-config named spse-prod's line).
func TestPasswordFileOfSharedMedium(t *testing.T) {
	job := func(name string) string {
		return fmt.Sprintf(`[[job]]
name = %q
info_class = 7
classification = "rahasia"
  [[job.source]]
  paths = ["/srv"]
  [[job.medium]]
  name = "disk-A"
  repository = "/mnt/a"
  repository_id = %q
  password_file = "/etc/cadang/pw"
  [job.offsite]
  repository = "/srv/off"
  password_file = "/etc/cadang/pw"
`, name, strings.Repeat("a", 64))
	}
	c, err := Load(writeConf(t, job("one")+job("two")))
	if err != nil {
		t.Fatal(err)
	}
	two := c.Jobs[1]
	if r := c.MediumPasswordFile(two.Media[0]); r == nil || r.Key != "job[1].medium[0].password_file" || r.Job != "two" {
		t.Errorf("job two's medium: %+v", r)
	}
	if r := c.OffsitePasswordFile(*two.Offsite); r == nil || r.Key != "job[1].offsite.password_file" || r.Job != "two" {
		t.Errorf("job two's offsite medium: %+v", r)
	}
	if w := c.PasswordFileWhere("/etc/cadang/pw", c.MediumPasswordFile(two.Media[0])); w != "/etc/cadang/pw, "+c.Path+":25 key job[1].medium[0].password_file" {
		t.Errorf("PasswordFileWhere: %q", w)
	}
	// A medium not from the configuration: the first job's, as before.
	if r := c.MediumPasswordFile(Medium{Name: "disk-A", PasswordFile: "/etc/cadang/pw"}); r == nil || r.Job != "one" {
		t.Errorf("a medium made by hand: %+v", r)
	}
}

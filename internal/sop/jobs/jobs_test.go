package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const example = "../../../testdata/sop/cadang.toml"

func TestExampleConfig(t *testing.T) {
	c, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Jobs) != 2 {
		t.Fatalf("jobs: %d", len(c.Jobs))
	}
	j, err := c.Job("spse-prod")
	if err != nil {
		t.Fatal(err)
	}
	if j.Info().NameID != "Database Production SPSE" || j.Classification != Rahasia || j.Schedule != Daily {
		t.Errorf("job: %+v", j)
	}
	if j.TimeStandard.D() != 3*time.Hour || len(j.Media) != 3 || j.Media[1].Name != "disk-B" {
		t.Errorf("job: %+v", j)
	}
	if !j.Sources[0].IsDump() || j.Sources[0].Verify[0] != "pg_restore" || j.Sources[1].Name != "upload" {
		t.Errorf("sources: %+v", j.Sources)
	}
	if c.RestoreTest.Interval.D() != 90*24*time.Hour || c.SMTP.Server == "" || c.Location().String() != "Asia/Makassar" {
		t.Errorf("config: %+v", c)
	}
	n := c.NotifyFor(j)
	if len(n.Email) != 1 || n.Hook[0] != "/usr/local/bin/lapor-kegagalan" {
		t.Errorf("notify: %+v", n)
	}
	s, _ := c.Job("server-security")
	if s.Schedule != Weekly || s.TimeStandard.D() != DefaultTimeStandard || s.Sources[0].Name != "source1" {
		t.Errorf("defaults: %+v", s)
	}
	if _, err := c.Job("nope"); err == nil || !strings.Contains(err.Error(), "spse-prod") {
		t.Errorf("unknown job: %v", err)
	}
}

func TestRotation(t *testing.T) {
	c, _ := Load(example)
	j := &c.Jobs[0]
	day := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	if got := j.DueMedium("", day); got != 0 {
		t.Errorf("first: %d", got)
	}
	if got := j.DueMedium("disk-C", day); got != 0 {
		t.Errorf("after C: %d", got)
	}
	if got := j.DueMedium("disk-A", day); got != 1 {
		t.Errorf("after A: %d", got)
	}
	j.Rotation = Rotation{Mode: "calendar", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Days: 1}
	for d, want := range []int{0, 1, 2, 0} {
		if got := j.DueMedium("", time.Date(2026, 1, 1+d, 23, 0, 0, 0, time.UTC)); got != want {
			t.Errorf("day %d: %d want %d", d, got, want)
		}
	}
}

func writeConf(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "cadang.toml")
	os.WriteFile(p, []byte(text), 0o600)
	return p
}

func TestErrorsNameFileLineAndKey(t *testing.T) {
	base, _ := os.ReadFile(example)
	cases := []struct {
		name, old, new string
		line           int
		key            string
	}{
		{"unknown key", `  exclude = ["*.tmp", "cache/"]`, `  exclude = ["*.tmp", "cache/"]
  excludes = ["x"]`, 57, "job[0].source[1].excludes"},
		{"bad id", `repository_id = "bbbb`, `repository_id = "zzzz`, 68, "job[0].medium[1].repository_id"},
		{"bad class", `info_class = 6`, `info_class = 11`, 90, "job[1].info_class"},
		{"bad duration", `time_standard = "3h"`, `time_standard = "3 jam"`, 45, "time_standard"},
		{"syntax", `schedule = "weekly"`, `schedule = weekly`, 92, ""},
		{"bad classification", `classification = "rahasia"
schedule = "weekly"`, `classification = "biasa"
schedule = "weekly"`, 91, "job[1].classification"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := strings.Replace(string(base), c.old, c.new, 1)
			if text == string(base) {
				t.Fatal("replacement did not apply")
			}
			p := writeConf(t, text)
			_, err := Load(p)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v", err)
			}
			if ce.File != p || ce.Line != c.line || !strings.Contains(ce.Key, c.key) {
				t.Errorf("got %q (line %d key %q), want line %d key %q", err, ce.Line, ce.Key, c.line, c.key)
			}
			if !strings.Contains(err.Error(), p+":") {
				t.Errorf("message lacks the file: %v", err)
			}
		})
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.toml")
	os.WriteFile(p, []byte("x"), 0o600)
	env := func(v string) func(string) string { return func(string) string { return v } }
	if got, err := Find(p, env("")); err != nil || got != p {
		t.Errorf("explicit: %v %v", got, err)
	}
	if got, err := Find("", env(p)); err != nil || got != p {
		t.Errorf("env: %v %v", got, err)
	}
	if _, err := Find("", env(filepath.Join(dir, "missing"))); err == nil || !strings.Contains(err.Error(), EnvConfig) {
		t.Errorf("missing env file: %v", err)
	}
	old := SearchPaths
	defer func() { SearchPaths = old }()
	SearchPaths = []string{filepath.Join(dir, "none.toml"), p}
	if got, err := Find("", env("")); err != nil || got != p {
		t.Errorf("search: %v %v", got, err)
	}
	SearchPaths = []string{filepath.Join(dir, "none.toml")}
	if _, err := Find("", env("")); !errors.Is(err, ErrNoConfig) {
		t.Errorf("none: %v", err)
	}
}

func TestSize(t *testing.T) {
	for s, want := range map[string]int64{"1024": 1024, "2G": 2 << 30, "500MiB": 500 << 20, "1.5k": 1536} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("%s: %d %v", s, got, err)
		}
	}
}

// TestSourcePathOptions: a path source takes the path options of
// `cadang backup`; a dump source refuses them rather than ignore them.
func TestSourcePathOptions(t *testing.T) {
	base, _ := os.ReadFile(example)
	opts := `  exclude = ["*.tmp", "cache/"]
  exclude_file = ["x.txt"]
  exclude_if_present = [".nobackup"]
  one_file_system = true
  read_concurrency = 3`
	cfg, err := Load(writeConf(t, strings.Replace(string(base), `  exclude = ["*.tmp", "cache/"]`, opts, 1)))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Jobs[0].Sources[1]
	if len(s.ExcludeFile) != 1 || s.ExcludeFile[0] != "x.txt" || len(s.ExcludeIfPresent) != 1 || !s.OneFileSystem || s.ReadConcurrency != 3 {
		t.Errorf("source %+v lost its path options", s)
	}
	_, err = Load(writeConf(t, strings.Replace(string(base), `  filename = "epns_prod.dump"`, `  filename = "epns_prod.dump"
  one_file_system = true`, 1)))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Key, "source[0]") {
		t.Errorf("a dump source with one_file_system: %v, want an error naming the source", err)
	}
}

func TestRetentionAndPrune(t *testing.T) {
	base, _ := os.ReadFile(example)
	ret := `  [job.retention]
  last = 2
  hourly = 24
  daily = 7
  within = "30d"
  protect_before_change = "60d"`
	conf := strings.Replace(string(base), "  [job.retention]\n  daily = 7", ret, 1)
	conf = strings.Replace(conf, "  monthly = 12\n", "  monthly = 12\n\n  [job.prune]\n  every = \"7d\"\n", 1)
	cfg, err := Load(writeConf(t, conf))
	if err != nil {
		t.Fatal(err)
	}
	j := cfg.Jobs[0]
	if r := j.Retention; r.Last != 2 || r.Hourly != 24 || r.Daily != 7 || r.Weekly != 4 || r.Within.D() != 30*24*time.Hour ||
		r.Protect() != 60*24*time.Hour || j.Prune.Every.D() != 7*24*time.Hour {
		t.Fatalf("retention %+v, prune %+v", r, j.Prune)
	}
	if p := cfg.Jobs[1].Retention.Protect(); p != DefaultProtect || cfg.Jobs[1].Prune.Every != 0 {
		t.Fatalf("defaults: protect %v, prune %v", p, cfg.Jobs[1].Prune)
	}
	if (Retention{ProtectBeforeChange: Duration(time.Hour)}).IsZero() != true {
		t.Fatal("protect_before_change alone is a rule")
	}
	for _, bad := range []struct{ from, to, key string }{
		{"  daily = 7", "  daily = -1", "retention.daily"},
		{"  weekly = 4", "  weekly = 4\n  within = \"30m\"", "retention.within"},
		{"  monthly = 12", "  monthly = 12\n  [job.prune]\n  every = \"10m\"", "prune.every"},
	} {
		_, err := Load(writeConf(t, strings.Replace(string(base), bad.from, bad.to, 1)))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Key, bad.key) {
			t.Errorf("%q: %v, want an error naming %s", bad.to, err, bad.key)
		}
	}
}

// TestOffsite: [job.offsite] takes any location with its password file,
// gets its defaults, and every mistake is an error naming the key.
func TestOffsite(t *testing.T) {
	base, _ := os.ReadFile(example)
	const anchor = "  [job.retention]\n  daily = 7"
	with := func(off string) string {
		s := strings.Replace(string(base), anchor, off+"\n"+anchor, 1)
		if s == string(base) {
			t.Fatal("replacement did not apply")
		}
		return s
	}
	cfg, err := Load(writeConf(t, with(`  [job.offsite]
  repository = "s3:https://s3.kominfo.example:9000/cadang-offsite/spse"
  password_file = "offsite.pw"`)))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Jobs[0].Offsite
	if o == nil || o.Name != DefaultOffsiteName || o.MaxAge.D() != DefaultOffsiteMaxAge || o.PasswordFile != "offsite.pw" || cfg.Jobs[1].Offsite != nil {
		t.Fatalf("offsite %+v", o)
	}
	cfg, err = Load(writeConf(t, with(`  [job.offsite]
  name = "kominfo"
  repository = "sftp://cadang@10.1.2.3/srv/cadang/spse"
  repository_id = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
  password_file = "/etc/cadang/offsite.pw"
  max_age = "3d"
  sftp_identity = "id_ed25519"`)))
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Jobs[0].Offsite; o.Name != "kominfo" || o.MaxAge.D() != 72*time.Hour || o.SFTPIdentity != "id_ed25519" {
		t.Fatalf("offsite %+v", o)
	}
	for _, bad := range []struct{ off, key, msg string }{
		{"  [job.offsite]\n  password_file = \"p\"", "offsite.repository", "missing"},
		{"  [job.offsite]\n  repository = \"/srv/offsite\"", "offsite.password_file", "missing"},
		{"  [job.offsite]\n  repository = \"gs:bucket/x\"\n  password_file = \"p\"", "offsite.repository", "gs"},
		{"  [job.offsite]\n  repository = \"/mnt/backup/cadang\"\n  password_file = \"p\"", "offsite.repository", "disk-A"},
		{"  [job.offsite]\n  repository = \"/srv/o\"\n  password_file = \"p\"\n  repository_id = \"12ab\"", "offsite.repository_id", "64 hex"},
		{"  [job.offsite]\n  repository = \"/srv/o\"\n  password_file = \"p\"\n  repository_id = \"" + strings.Repeat("b", 64) + "\"", "offsite.repository_id", "disk-B"},
		{"  [job.offsite]\n  repository = \"/srv/o\"\n  password_file = \"p\"\n  max_age = \"30m\"", "offsite.max_age", "at least 1h"},
		{"  [job.offsite]\n  repository = \"/srv/o\"\n  password_file = \"p\"\n  name = \"disk-C\"", "offsite.name", "rotation medium"},
		{"  [job.offsite]\n  repository = \"/srv/o\"\n  password_file = \"p\"\n  sftp_identity = \"k\"", "offsite.sftp_identity", "sftp://"},
		{"  [job.offsite]\n  repository = \"/srv/o\"\n  password_file = \"p\"\n  passwort = \"x\"", "offsite.passwort", "unknown key"},
	} {
		_, err := Load(writeConf(t, with(bad.off)))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, "job[0]."+bad.key) || !strings.Contains(ce.Msg, bad.msg) || ce.Line == 0 {
			t.Errorf("%q: %v, want an error at a line naming job[0].%s (%q)", bad.off, err, bad.key, bad.msg)
		}
	}
}

// TestMonitoringKeys: [monitoring] textfile and ping_url are checked when
// the configuration loads, naming the key.
func TestMonitoringKeys(t *testing.T) {
	base, _ := os.ReadFile(example)
	withNotify := func(extra string) string {
		return strings.Replace(string(base), "[notify]\n", "[notify]\n"+extra, 1)
	}
	for _, c := range []struct{ text, key string }{
		{withNotify("ping_url = \"hc-ping.com/x\"\n"), "notify.ping_url"},
		{"[monitoring]\ntextfile = \"/var/lib/node_exporter/cadang.txt\"\n" + string(base), "monitoring.textfile"},
	} {
		_, err := Load(writeConf(t, c.text))
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("want an error naming %s, got %v", c.key, err)
		}
	}
	cfg, err := Load(writeConf(t, "[monitoring]\ntextfile = \"/var/lib/node_exporter/cadang.prom\"\n"+
		withNotify("ping_url = \"https://hc-ping.com/abc\"\nping_timeout = \"5s\"\n")))
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg.NotifyFor(&cfg.Jobs[0]); n.PingURL != "https://hc-ping.com/abc" || n.PingTimeout.D() != 5*time.Second {
		t.Errorf("the configuration-wide ping is not the job's: %+v", n)
	}
}

// A configuration without [[job]] loads, with what it sets besides jobs
// (the second host of an append-only setup trusts the first's key); only
// NeedJobs, for the commands that run or report on jobs, says none is
// defined.
func TestConfigWithoutJobs(t *testing.T) {
	c, err := Parse("backup-host.toml", []byte("[organization]\ntimezone = \"Asia/Makassar\"\n[log]\npath = \"/var/lib/cadang/runlog.jsonl\"\ntrust_keys = [\"4fca:5cb1:0000:0000:0000:0000:0000:0001\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Log.TrustKeys) != 1 || c.Location().String() != "Asia/Makassar" {
		t.Errorf("config: %+v", c)
	}
	err = c.NeedJobs()
	if !errors.Is(err, ErrNoJobs) || err.Error() != "backup-host.toml: key job: no [[job]] defined" {
		t.Errorf("NeedJobs: %v", err)
	}
	// A malformed key is still an error, jobs or not.
	if _, err := Parse("backup-host.toml", []byte("[log]\ntrust_keys = [\"12ab\"]\n")); err == nil || !strings.Contains(err.Error(), "key log.trust_keys[0]") {
		t.Errorf("malformed trust key: %v", err)
	}
}

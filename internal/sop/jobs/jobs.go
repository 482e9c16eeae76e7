// Package jobs reads the cadang configuration: the organisation named in the
// documents, the run log location, notification targets and the backup jobs
// that make up the SOP's "Daftar Backup Database dan Aplikasi".
package jobs

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is a parsed cadang.toml.
type Config struct {
	// Path is the file the configuration was read from.
	Path string `toml:"-"`

	Organization Organization      `toml:"organization"`
	Log          LogConfig         `toml:"log"`
	RestoreTest  RestoreTestConfig `toml:"restore_test"`
	SMTP         *SMTP             `toml:"smtp"`
	// Notify is added to the targets of every job.
	Notify     Notify     `toml:"notify"`
	Monitoring Monitoring `toml:"monitoring"`
	Jobs       []Job      `toml:"job"`

	// loc finds the line of a key in the file (Parse sets it), for the
	// errors found after loading (PasswordFileError).
	loc *locator
}

// Monitoring is what cadang writes for monitoring systems after each run.
type Monitoring struct {
	// Textfile is a Prometheus textfile-collector file, e.g.
	// /var/lib/node_exporter/cadang.prom (package monitor says what is in
	// it); empty writes none.
	Textfile string `toml:"textfile"`
}

// Organization names the office in document headers and signature blocks.
type Organization struct {
	Name string `toml:"name"` // e.g. "LPSE Provinsi Gorontalo"
	Unit string `toml:"unit"` // e.g. "Biro Pengadaan Sekretariat Daerah Provinsi Gorontalo"
	City string `toml:"city"` // place of signing, e.g. "Gorontalo"
	// Timezone of the documents and of "a day" in the schedule, e.g.
	// "Asia/Makassar" (WITA). Empty: the machine's local zone.
	Timezone string `toml:"timezone"`
	// People in signature blocks; any may be empty (a blank line is printed).
	Head          Person `toml:"head"`          // Kepala LPSE
	Administrator Person `toml:"administrator"` // Administrator Sistem LPSE
	// The letterhead (kop surat) of every document, both optional: a PNG
	// or JPEG logo (relative to the configuration file's directory, or
	// absolute) and the agency's lines, e.g. ["PEMERINTAH PROVINSI
	// GORONTALO", "LAYANAN PENGADAAN SECARA ELEKTRONIK", "Jl. ..."].
	LetterheadLogo  string   `toml:"letterhead_logo"`
	LetterheadLines []string `toml:"letterhead_lines"`
	// Numbering is the pattern of the restore minutes' number, e.g.
	// "{seq}/BA-RESTORE/LPSE/{roman_month}/{year}" (NumberingFields lists
	// the placeholders); empty: the run ID of the restore.
	Numbering string `toml:"numbering"`
}

// NumberingFields are the placeholders of Organization.Numbering: {seq},
// the restore's place among the year's restores in the run log (1 for the
// first); the restore's {year}, {month} (01-12) and {roman_month} (I-XII);
// and {run_id}.
var NumberingFields = []string{"seq", "year", "month", "roman_month", "run_id"}

// Person is a name and title for a signature block.
type Person struct {
	Name  string `toml:"name"`
	Title string `toml:"title"`
	NIP   string `toml:"nip"` // civil servant number, printed under the name
}

// LogConfig says where the local mirror of the run log is.
type LogConfig struct {
	Path string `toml:"path"` // default DefaultLogPath
	// TrustKeys are the run-log signing keys of other hosts whose records
	// `log verify` and every command accept, as --trust-key does: the
	// fingerprint (or hex public key) that 'cadang log key' prints on
	// that host, e.g. the backup host's that runs forget and prune on an
	// append-only server's repository.
	TrustKeys []string `toml:"trust_keys"`
}

// DefaultLogPath is the local mirror of the run log when none is configured.
const DefaultLogPath = "/var/lib/cadang/runlog.jsonl"

// RestoreTestConfig sets the SOP step 4 restore tests.
type RestoreTestConfig struct {
	Interval    Duration `toml:"interval"`     // default 90 days
	Sample      int      `toml:"sample"`       // files per test, default 20
	SampleBytes Size     `toml:"sample_bytes"` // alternatively a byte budget
	Snapshots   int      `toml:"snapshots"`    // snapshots to draw from, default 3
	Scratch     string   `toml:"scratch"`      // parent of scratch directories; default the OS temp dir
}

// SMTP is the mail server for failure notices.
type SMTP struct {
	Server       string `toml:"server"` // host:port
	From         string `toml:"from"`
	Username     string `toml:"username"`
	PasswordFile string `toml:"password_file"` // read at send time; never put the password in this file
	// Lang of the messages; default id.
	Lang string `toml:"lang"`
}

// Notify lists who is told about a failed run.
type Notify struct {
	// Hook is a command (argv) that receives the run record as JSON on stdin.
	Hook        []string `toml:"hook"`
	HookTimeout Duration `toml:"hook_timeout"`
	Email       []string `toml:"email"`
	// PingURL is a dead-man's switch in the style of healthchecks.io:
	// `cadang run` calls PingURL/start when the backup starts, PingURL when
	// it ends ok and PingURL/fail when it does not, each within
	// PingTimeout (default 10 s). A ping that fails is a warning; it never
	// fails the backup. The service raises the alarm when the pings stop.
	PingURL     string   `toml:"ping_url"`
	PingTimeout Duration `toml:"ping_timeout"`
}

// Job is one entry of the list of database and application backups.
type Job struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	// InfoClass is the number of the information in the SOP appendix (1-10).
	InfoClass      int            `toml:"info_class"`
	Classification Classification `toml:"classification"`
	Sources        []Source       `toml:"source"`
	// Media are the repositories in rotation order.
	Media    []Medium `toml:"medium"`
	Rotation Rotation `toml:"rotation"`
	Schedule Schedule `toml:"schedule"`
	// ActiveSince is the first day a run is expected (for missed-run counting).
	ActiveSince  time.Time `toml:"active_since"`
	TimeStandard Duration  `toml:"time_standard"`
	Retention    Retention `toml:"retention"`
	Prune        Prune     `toml:"prune"`
	Notify       Notify    `toml:"notify"`
	// Offsite, if set, is the repository off the server to which `cadang
	// run` copies the job's snapshots after each successful backup.
	Offsite *Offsite `toml:"offsite"`
	// Checks are the queries a restore test runs on each database it
	// loaded from the job's PostgreSQL source.
	Checks []Check `toml:"check"`
}

// Offsite is a job's offsite medium: a repository at any location cadang
// can open (a local path, s3:..., sftp://...), kept away from the server
// and the rotation media, so that a backup survives the loss of both.
// Copies re-encrypt under its own keys; for them to deduplicate, it is
// created with `cadang init --copy-chunker-params --from-repo` the first
// rotation medium (whose media share those parameters too).
type Offsite struct {
	// Name labels the medium in records and documents; default "offsite".
	Name       string `toml:"name"`
	Repository string `toml:"repository"`
	// RepositoryID, if set, is checked as a medium's is: a repository with
	// another ID at the location gets no copy.
	RepositoryID string `toml:"repository_id"`
	PasswordFile string `toml:"password_file"`
	// MaxAge is how old the last successful copy may be before `cadang
	// status` warns; default DefaultOffsiteMaxAge.
	MaxAge Duration `toml:"max_age"`
	// SFTPIdentity and SFTPKnownHosts are the private key file and the
	// known hosts file of an sftp:// location (the command line's
	// --sftp-identity and --sftp-known-hosts apply when they are empty).
	SFTPIdentity   string `toml:"sftp_identity"`
	SFTPKnownHosts string `toml:"sftp_known_hosts"`
	// job is the name of the job it belongs to, as Medium's.
	job string
}

// DefaultOffsiteMaxAge is how old the last offsite copy of a job may be
// before status warns, when [job.offsite] max_age is not given: two days,
// so that one failed daily copy is caught by the next day's status and a
// copy that is a little slower than yesterday's does not warn.
const DefaultOffsiteMaxAge = 48 * time.Hour

// DefaultOffsiteName is the name of an offsite medium that has none.
const DefaultOffsiteName = "offsite"

// Source is what a job backs up: paths, or the output of a dump command.
type Source struct {
	Name    string   `toml:"name"`
	Paths   []string `toml:"paths"`
	Exclude []string `toml:"exclude"`
	// The rest of the path options of `cadang backup`, with the same
	// meaning: files of exclude patterns (relative to the configuration
	// file), marker files that exclude their directory, staying on one
	// file system, and how many files are read at once (0: the default).
	// A dump source takes none of them (its exclude is ignored, as it
	// always was).
	ExcludeFile      []string `toml:"exclude_file"`
	ExcludeIfPresent []string `toml:"exclude_if_present"`
	OneFileSystem    bool     `toml:"one_file_system"`
	ReadConcurrency  int      `toml:"read_concurrency"`
	// Command is run and its standard output stored as one file named Filename.
	Command  []string `toml:"command"`
	Filename string   `toml:"filename"`
	// Verify is run on a restored dump during a restore test; "{file}" is
	// replaced by the restored file's path (e.g. pg_restore --list {file}).
	Verify []string `toml:"verify"`

	// Databases makes the source a PostgreSQL cluster that cadang dumps
	// itself, as borgmatic does: ["all"] (every database that allows
	// connections and is no template) or a list of names. One snapshot
	// holds /globals.sql (pg_dumpall --globals-only) and /DB.dump
	// (pg_dump -Fc -Z0) for each database.
	Databases []string `toml:"databases"`
	// PGHost, PGPort and PGUser reach the server (empty: libpq's PGHOST,
	// PGPORT, PGUSER or its defaults; the password from PGPASSWORD or
	// ~/.pgpass); PGBin is the directory of pg_dump, pg_dumpall, psql,
	// pg_restore, initdb and pg_ctl (empty: $PATH, then Debian's newest
	// /usr/lib/postgresql/N/bin). They apply to the restore test of a
	// dump command's source too, where one not set is taken from a
	// pg_dump or pg_dumpall command line's -h, -p or -U
	// (pgdb.FromSource).
	PGHost string `toml:"pg_host"`
	PGPort int    `toml:"pg_port"`
	PGUser string `toml:"pg_user"`
	PGBin  string `toml:"pg_bin"`
	// Spool is the directory the dumps of a databases source are written
	// to before they are stored (default the OS temp directory); it needs
	// room for the uncompressed dumps of one run.
	Spool string `toml:"spool"`
	// RestoreInto is where a restore test loads a PostgreSQL dump:
	// "server" (default): a scratch database cadang_rt_* created and
	// dropped on the source's server; "throwaway": a server initdb'd and
	// started from PGBin on a temporary directory and port; "none": the
	// dump is only restored and compared byte for byte.
	RestoreInto string `toml:"restore_into"`
}

// The values of Source.RestoreInto.
const (
	RestoreIntoServer    = "server"
	RestoreIntoThrowaway = "throwaway"
	RestoreIntoNone      = "none"
)

// AllDatabases in Source.Databases stands for every database of the cluster.
const AllDatabases = "all"

// IsDump reports whether the source is a dump: a dump command, or
// PostgreSQL databases that cadang dumps itself.
func (s Source) IsDump() bool { return len(s.Command) > 0 || len(s.Databases) > 0 }

// IsPostgres reports whether the source's snapshots hold PostgreSQL dumps
// that a restore test loads into a database: a databases source, a
// pg_dump command, or a dump command with restore_into server or
// throwaway (a wrapper script around pg_dump).
func (s Source) IsPostgres() bool {
	switch {
	case len(s.Databases) > 0:
		return true
	case len(s.Command) == 0 || s.RestoreInto == RestoreIntoNone:
		return false
	case s.RestoreInto != "":
		return true
	}
	return filepath.Base(s.Command[0]) == "pg_dump"
}

// DumpDatabase is the name under which a restore test knows the database
// of a pg_dump command source: its file name without the extension
// (epns_prod.dump: epns_prod), which [[job.check]] database names.
func (s Source) DumpDatabase() string {
	return strings.TrimSuffix(s.Filename, filepath.Ext(s.Filename))
}

// Check is a query a restore test runs on a restored database
// ([[job.check]]): its result must equal Expect, or with Compare "source"
// the result the same query gave on the source database in the dump's own
// snapshot at backup time (recorded in the backup's run-log record).
type Check struct {
	// Database the query runs on; may be empty when the job's PostgreSQL
	// source has exactly one database (or is a pg_dump command).
	Database string  `toml:"database"`
	Query    string  `toml:"query"`
	Expect   *string `toml:"expect"`
	Compare  string  `toml:"compare"`
}

// CompareSource is the value of Check.Compare that compares with the
// source at backup time.
const CompareSource = "source"

// ChecksFor returns the job's checks that run on database db of a source
// with n databases (n is 1 for a pg_dump command source).
func (j *Job) ChecksFor(db string, n int) []Check {
	var out []Check
	for _, c := range j.Checks {
		if c.Database == db || (c.Database == "" && n == 1) {
			out = append(out, c)
		}
	}
	return out
}

// Medium is one repository of the rotation.
type Medium struct {
	Name       string `toml:"name"`
	Repository string `toml:"repository"`
	// RepositoryID is the ID of the repository expected on this medium; the
	// run refuses a connected repository with another ID.
	RepositoryID string `toml:"repository_id"`
	PasswordFile string `toml:"password_file"`
	// job is the name of the job whose [[job.medium]] this is, set when
	// the configuration loads: two jobs often name the same disk and the
	// same password file, and a message about that file must point at
	// the key of the job that ran (MediumPasswordFile).
	job string
}

// Rotation says how the medium due for a run is chosen.
type Rotation struct {
	// Mode "sequence" (default): the medium after the one that held the last
	// successful backup. "calendar": medium (days since Start / Days) mod n.
	Mode  string    `toml:"mode"`
	Start time.Time `toml:"start"`
	Days  int       `toml:"days"` // period of the calendar rotation, default 1
}

// Retention is what the job wants kept: `cadang run` applies it to the
// job's snapshots on the medium after each successful backup, each source
// on its own (restic's rules, see snapshot/retention): the Last newest
// snapshots, the newest of each of the Hourly, Daily, Weekly, Monthly and
// Yearly newest hours, days, weeks, months and years, and all Within of
// the newest. A before-change backup (SOP step 2) and a snapshot a restore
// used (step 7) are kept for ProtectBeforeChange whatever the rules say.
type Retention struct {
	Last    int      `toml:"last"`
	Hourly  int      `toml:"hourly"`
	Daily   int      `toml:"daily"`
	Weekly  int      `toml:"weekly"`
	Monthly int      `toml:"monthly"`
	Yearly  int      `toml:"yearly"`
	Within  Duration `toml:"within"`
	// ProtectBeforeChange defaults to DefaultProtect.
	ProtectBeforeChange Duration `toml:"protect_before_change"`
}

// DefaultProtect is how long before-change backups are protected from the
// retention policy when the job does not say.
const DefaultProtect = 90 * 24 * time.Hour

// IsZero reports whether no retention rule is set (the job keeps
// everything; protect_before_change alone is no rule).
func (r Retention) IsZero() bool {
	r.ProtectBeforeChange = 0
	return r == Retention{}
}

// Protect returns how long before-change backups are protected.
func (r Retention) Protect() time.Duration {
	if r.ProtectBeforeChange > 0 {
		return r.ProtectBeforeChange.D()
	}
	return DefaultProtect
}

// Prune is when `cadang run` prunes the medium after a backup: when Every
// has passed since the job's last successful prune on that medium (or
// none was recorded). Zero: never automatically.
type Prune struct {
	Every Duration `toml:"every"`
}

// Classification is the SOP appendix classification of the information.
type Classification string

// The classifications of the SOP appendix.
const (
	Rahasia  Classification = "rahasia"  // confidential
	Terbatas Classification = "terbatas" // restricted
)

// Schedule is how often a job must run.
type Schedule string

// The schedules.
const (
	Daily   Schedule = "daily"
	Weekly  Schedule = "weekly"
	Monthly Schedule = "monthly"
)

// Interval returns the nominal time between runs.
func (s Schedule) Interval() time.Duration {
	switch s {
	case Weekly:
		return 7 * 24 * time.Hour
	case Monthly:
		return 31 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// Defaults of the SOP.
const (
	DefaultTimeStandard        = 3 * time.Hour       // SOP steps 1-3
	DefaultRestoreTestInterval = 90 * 24 * time.Hour // SOP step 4: once every three months
	DefaultSample              = 20
	DefaultSnapshots           = 3
)

// InfoClass is an entry of the SOP appendix.
type InfoClass struct {
	No             int
	NameID, NameEN string
	Format         string // original format
}

// InfoClasses is the SOP appendix: confidential and restricted information
// to back up. All are backed up as soft copy.
var InfoClasses = []InfoClass{
	{1, "Dokumen Aset", "Asset documents", "Softcopy"},
	{2, "Laporan Kegiatan Layanan", "Service activity reports", "Softcopy"},
	{3, "Laporan Pengelolaan SPSE", "SPSE management reports", "Hardcopy/Softcopy"},
	{4, "Laporan Kegiatan Infrastruktur", "Infrastructure activity reports", "Hardcopy/Softcopy"},
	{5, "Laporan Kegiatan Hukum dan Verifikasi", "Legal and verification activity reports", "Hardcopy/Softcopy"},
	{6, "Data Password, IP, dan Security Server", "Passwords, IP addresses and server security data", "Softcopy"},
	{7, "Database Production SPSE", "SPSE production database", "Softcopy"},
	{8, "Database Backup SPSE", "SPSE backup database", "Softcopy"},
	{9, "Database Aplikasi Helpdesk SPSE Production", "SPSE helpdesk application production database", "Softcopy"},
	{10, "Dokumen yang dianggap penting oleh personil untuk di backup", "Other documents staff consider important to back up", "Hardcopy/Softcopy"},
}

// Info returns the appendix entry of the job.
func (j *Job) Info() InfoClass {
	if j.InfoClass >= 1 && j.InfoClass <= len(InfoClasses) {
		return InfoClasses[j.InfoClass-1]
	}
	return InfoClass{}
}

// Job returns the job named name.
func (c *Config) Job(name string) (*Job, error) {
	for i := range c.Jobs {
		if c.Jobs[i].Name == name {
			return &c.Jobs[i], nil
		}
	}
	names := make([]string, len(c.Jobs))
	for i := range c.Jobs {
		names[i] = c.Jobs[i].Name
	}
	return nil, fmt.Errorf("%s: no job %q (jobs: %s)", c.Path, name, strings.Join(names, ", "))
}

// Location returns the time zone of the documents and schedules.
func (c *Config) Location() *time.Location {
	if c.Organization.Timezone != "" {
		if loc, err := time.LoadLocation(c.Organization.Timezone); err == nil {
			return loc
		}
	}
	return time.Local
}

// NotifyFor returns the notification targets of a job: the job's own and
// the global ones.
func (c *Config) NotifyFor(j *Job) Notify {
	n := Notify{
		Hook:        j.Notify.Hook,
		HookTimeout: j.Notify.HookTimeout,
		Email:       append(append([]string(nil), c.Notify.Email...), j.Notify.Email...),
	}
	if len(n.Hook) == 0 {
		n.Hook = c.Notify.Hook
	}
	if n.HookTimeout == 0 {
		n.HookTimeout = c.Notify.HookTimeout
	}
	n.PingURL, n.PingTimeout = j.Notify.PingURL, j.Notify.PingTimeout
	if n.PingURL == "" {
		n.PingURL = c.Notify.PingURL
	}
	if n.PingTimeout == 0 {
		n.PingTimeout = c.Notify.PingTimeout
	}
	return n
}

// MediumByID returns the index of the medium whose repository has the given
// ID, or -1.
func (j *Job) MediumByID(id string) int {
	for i, m := range j.Media {
		if strings.EqualFold(m.RepositoryID, id) {
			return i
		}
	}
	return -1
}

// DueMedium returns the index of the medium due at now. lastOK is the name
// of the medium that held the job's last successful backup ("" if none).
func (j *Job) DueMedium(lastOK string, now time.Time) int {
	n := len(j.Media)
	if n <= 1 {
		return 0
	}
	if j.Rotation.Mode == "calendar" {
		days := j.Rotation.Days
		if days <= 0 {
			days = 1
		}
		d := daysBetween(j.Rotation.Start, now)
		i := (d / days) % n
		if i < 0 {
			i += n
		}
		return i
	}
	for i, m := range j.Media {
		if m.Name == lastOK {
			return (i + 1) % n
		}
	}
	return 0
}

// daysBetween counts calendar days from a to b in b's zone.
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	da := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// Duration is a time.Duration written as "3h", "90m" or "90d" (days).
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText parses a duration; a "d" suffix means days.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("invalid duration %q", s)
		}
		*d = Duration(v * float64(24*time.Hour))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q (use e.g. 3h, 90m, 90d)", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Size is a byte count written as "500MiB", "2G" or a plain number.
type Size int64

var sizeRE = regexp.MustCompile(`^(?i)\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(i?b?)\s*$`)

// UnmarshalText parses a size.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// ParseSize parses "500MiB", "2G", "1.5GB" or "1024". K, M, G and T are
// powers of 1024.
func ParseSize(str string) (int64, error) {
	m := sizeRE.FindStringSubmatch(str)
	if m == nil {
		return 0, fmt.Errorf("invalid size %q (use e.g. 500MiB, 2G)", str)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", str)
	}
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[strings.ToLower(m[2])]
	return int64(v * mult), nil
}

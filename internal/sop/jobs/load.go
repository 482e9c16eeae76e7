package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/lpse/cadang/repo/backend/location"
)

// EnvConfig is the environment variable that names the configuration file.
const EnvConfig = "CADANG_CONFIG"

// SearchPaths are tried, in order, when neither a path nor EnvConfig is given.
var SearchPaths = []string{"cadang.toml", "/etc/cadang/cadang.toml"}

// ErrNoConfig is returned by Find when no configuration file exists.
var ErrNoConfig = errors.New("no configuration file")

// Find returns the configuration file to use: explicit if not empty, else
// $CADANG_CONFIG, else the first of SearchPaths that exists. getenv may be
// nil (os.Getenv).
func Find(explicit string, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, c := range []struct{ path, from string }{{explicit, "--config"}, {getenv(EnvConfig), EnvConfig}} {
		if c.path == "" {
			continue
		}
		if _, err := os.Stat(c.path); err != nil {
			return "", fmt.Errorf("configuration file %s (from %s): %w", c.path, c.from, err)
		}
		return c.path, nil
	}
	for _, p := range SearchPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("configuration file %s: %w", p, err)
		}
	}
	return "", fmt.Errorf("%w: give --config, set %s, or create %s", ErrNoConfig, EnvConfig, strings.Join(SearchPaths, " or "))
}

// ErrNoJobs is wrapped by Config.NeedJobs for a configuration that
// defines no [[job]].
var ErrNoJobs = errors.New("no [[job]] defined")

// NeedJobs returns nil when c defines a job, else an error naming the file
// that wraps ErrNoJobs. A configuration without jobs is valid: a host that
// runs no scheduled backup (the second host of an append-only setup, which
// verifies the run log and runs retention) still has its [organization]
// timezone and its [log] path and trust_keys, which the commands that read
// no job honour; the commands that run or report on jobs call this.
func (c *Config) NeedJobs() error {
	if len(c.Jobs) > 0 {
		return nil
	}
	return &ConfigError{File: c.Path, Key: "job", Msg: ErrNoJobs.Error(), err: ErrNoJobs}
}

// LoadDefault finds the configuration (see Find) and loads it.
func LoadDefault(explicit string, getenv func(string) string) (*Config, error) {
	p, err := Find(explicit, getenv)
	if err != nil {
		return nil, err
	}
	return Load(p)
}

// Load reads and validates the configuration file at path. A syntax error,
// an unknown key or an invalid value is returned as ConfigErrors, each
// naming the file, the line and the key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return Parse(path, data)
}

// Parse parses configuration data; path is used in messages only.
func Parse(path string, data []byte) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, ConfigErrors{{File: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}}
		}
		return nil, ConfigErrors{{File: path, Msg: err.Error()}}
	}
	c.Path = path
	loc := locate(string(data))
	c.loc = loc
	var errs ConfigErrors
	used := map[string]int{}
	for _, k := range md.Undecoded() {
		key := k.String()
		line := loc.nth(key, used[key])
		used[key]++
		errs = append(errs, &ConfigError{File: path, Line: line.line, Key: line.path, Msg: "unknown key"})
	}
	c.setDefaults()
	for _, e := range c.validate() {
		e.File = path
		e.Line = loc.line(e.Key)
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &c, nil
}

// ConfigError is one problem in a configuration file.
type ConfigError struct {
	File string
	Line int    // 0 when unknown
	Key  string // e.g. job[1].medium[0].repository_id (indices from 0)
	Msg  string
	err  error // what it wraps, if anything (ErrNoJobs)
}

// Unwrap returns the error e stands for, if any.
func (e *ConfigError) Unwrap() error { return e.err }

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %s", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ConfigErrors are all problems found in one file.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the single errors, for errors.As.
func (es ConfigErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (c *Config) setDefaults() {
	if c.Log.Path == "" {
		c.Log.Path = DefaultLogPath
	}
	if c.RestoreTest.Interval == 0 {
		c.RestoreTest.Interval = Duration(DefaultRestoreTestInterval)
	}
	if c.RestoreTest.Sample == 0 && c.RestoreTest.SampleBytes == 0 {
		c.RestoreTest.Sample = DefaultSample
	}
	if c.RestoreTest.Snapshots == 0 {
		c.RestoreTest.Snapshots = DefaultSnapshots
	}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		if j.Schedule == "" {
			j.Schedule = Daily
		}
		if j.TimeStandard == 0 {
			j.TimeStandard = Duration(DefaultTimeStandard)
		}
		if j.Rotation.Mode == "" {
			j.Rotation.Mode = "sequence"
		}
		for k := range j.Media {
			j.Media[k].job = j.Name
		}
		if o := j.Offsite; o != nil {
			o.job = j.Name
			if o.Name == "" {
				o.Name = DefaultOffsiteName
			}
			if o.MaxAge == 0 {
				o.MaxAge = Duration(DefaultOffsiteMaxAge)
			}
		}
		j.Classification = Classification(strings.ToLower(string(j.Classification)))
		for k := range j.Sources {
			s := &j.Sources[k]
			if s.Name == "" {
				switch {
				case len(s.Databases) > 0:
					s.Name = "postgresql"
				case s.IsDump():
					s.Name = s.Filename
				default:
					s.Name = fmt.Sprintf("source%d", k+1)
				}
			}
		}
	}
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	idRE   = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	// TrustKeyRE matches a run-log key to trust, its colons removed: a
	// fingerprint (32 hex digits) or a public key (64).
	TrustKeyRE = regexp.MustCompile(`^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$`)
	// placeholderRE finds the placeholders of [organization] numbering.
	placeholderRE = regexp.MustCompile(`\{([^{}]*)\}`)
)

func (c *Config) validate() []*ConfigError {
	var errs []*ConfigError
	add := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.SMTP != nil {
		if c.SMTP.Server == "" {
			add("smtp.server", "missing: the mail server as host:port")
		}
		if c.SMTP.From == "" {
			add("smtp.from", "missing: the sender address")
		}
	}
	for i, k := range c.Log.TrustKeys {
		if !TrustKeyRE.MatchString(strings.ReplaceAll(strings.TrimSpace(k), ":", "")) {
			add(fmt.Sprintf("log.trust_keys[%d]", i), "%q: want a key's fingerprint as 'cadang log key' prints it on the host that signs (32 hex digits in groups of four) or its public key (64 hex digits)", k)
		}
	}
	if tz := c.Organization.Timezone; tz != "" {
		// A mistyped zone would date every document, the schedule's days
		// and the CLI's times in the machine's zone, without a word.
		if _, err := time.LoadLocation(tz); err != nil {
			add("organization.timezone", "%q is not a time zone: use an IANA name such as \"Asia/Jakarta\", \"Asia/Makassar\" or \"Asia/Jayapura\"", tz)
		}
	}
	checkPing := func(key, u string) {
		if u == "" {
			return
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			add(key, "%q: want an http:// or https:// URL (e.g. https://hc-ping.com/UUID)", u)
		}
	}
	checkPing("notify.ping_url", c.Notify.PingURL)
	for i := range c.Jobs {
		checkPing(fmt.Sprintf("job[%d].notify.ping_url", i), c.Jobs[i].Notify.PingURL)
	}
	for _, m := range placeholderRE.FindAllStringSubmatch(c.Organization.Numbering, -1) {
		if !slices.Contains(NumberingFields, m[1]) {
			add("organization.numbering", "unknown placeholder {%s} (known: {%s})", m[1], strings.Join(NumberingFields, "}, {"))
		}
	}
	if p := c.Monitoring.Textfile; p != "" && !strings.HasSuffix(p, ".prom") {
		add("monitoring.textfile", "%q: node_exporter reads only files ending in .prom", p)
	}
	seen := map[string]bool{}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		p := fmt.Sprintf("job[%d]", i)
		switch {
		case j.Name == "":
			add(p+".name", "missing: every job needs a name")
		case !nameRE.MatchString(j.Name):
			add(p+".name", "%q: use letters, digits, '.', '_' and '-'", j.Name)
		case seen[j.Name]:
			add(p+".name", "job %q is defined twice", j.Name)
		}
		seen[j.Name] = true
		if j.InfoClass < 1 || j.InfoClass > len(InfoClasses) {
			add(p+".info_class", "%d: must be the number (1-%d) of the information in the SOP appendix", j.InfoClass, len(InfoClasses))
		}
		if j.Classification != Rahasia && j.Classification != Terbatas {
			add(p+".classification", "%q: must be \"rahasia\" or \"terbatas\"", j.Classification)
		}
		switch j.Schedule {
		case Daily, Weekly, Monthly:
		default:
			add(p+".schedule", "%q: must be daily, weekly or monthly", j.Schedule)
		}
		if len(j.Sources) == 0 {
			add(p+".source", "job %q has no [[job.source]]", j.Name)
		}
		srcNames := map[string]bool{}
		for k, s := range j.Sources {
			sp := fmt.Sprintf("%s.source[%d]", p, k)
			switch {
			case s.IsDump() && len(s.Paths) > 0:
				add(sp+".command", "a source has either paths or a command, not both")
			case len(s.Databases) > 0 && (len(s.Command) > 0 || len(s.Paths) > 0):
				add(sp+".databases", "a source has either paths, a command or databases")
			case len(s.Databases) > 0 && s.Filename != "":
				add(sp+".filename", "a databases source stores /globals.sql and /DB.dump per database; it takes no filename")
			case !s.IsDump() && len(s.Paths) == 0:
				add(sp+".paths", "missing: a source needs paths, a command or databases")
			case len(s.Command) > 0 && s.Filename == "":
				add(sp+".filename", "missing: a dump command needs the file name to store its output as")
			}
			// exclude on a dump source has always been accepted and
			// ignored; the options added beside it are refused there, so
			// that nobody believes they apply.
			if s.IsDump() && (len(s.ExcludeFile) > 0 || len(s.ExcludeIfPresent) > 0 || s.OneFileSystem) {
				add(sp+".exclude_file", "exclude_file, exclude_if_present and one_file_system are for path sources, not dump commands")
			}
			if s.ReadConcurrency < 0 {
				add(sp+".read_concurrency", "%d: must be 0 (the default) or more", s.ReadConcurrency)
			}
			if len(s.Verify) > 0 && !s.IsDump() {
				add(sp+".verify", "a verify command is only for dump sources")
			}
			for _, e := range validatePostgres(sp, s) {
				add(e.Key, "%s", e.Msg)
			}
			if srcNames[s.Name] {
				add(sp+".name", "source %q is defined twice in job %q", s.Name, j.Name)
			}
			srcNames[s.Name] = true
		}
		for _, e := range validateChecks(p, j) {
			add(e.Key, "%s", e.Msg)
		}
		if len(j.Media) == 0 {
			add(p+".medium", "job %q has no [[job.medium]] (the backup media in rotation order)", j.Name)
		}
		mNames := map[string]bool{}
		for k, m := range j.Media {
			mp := fmt.Sprintf("%s.medium[%d]", p, k)
			if m.Name == "" {
				add(mp+".name", "missing: every medium needs a name (e.g. the label on the disk)")
			} else if mNames[m.Name] {
				add(mp+".name", "medium %q is defined twice in job %q", m.Name, j.Name)
			}
			mNames[m.Name] = true
			if m.Repository == "" {
				add(mp+".repository", "missing: the repository location on this medium")
			}
			switch {
			case m.RepositoryID == "":
				// It tells the media apart (the rotation, a wrong disk):
				// required, and the message says where to find it.
				add(mp+".repository_id", "missing: the ID of the repository on this medium, 64 hex digits ('cadang -r LOCATION cat config' shows it as \"id\")")
			case !idRE.MatchString(m.RepositoryID):
				add(mp+".repository_id", "%q: must be the 64 hex digit ID of the repository on this medium ('cadang -r LOCATION cat config' shows it as \"id\")", m.RepositoryID)
			}
		}
		for _, x := range []struct {
			key string
			n   int
		}{{"last", j.Retention.Last}, {"hourly", j.Retention.Hourly}, {"daily", j.Retention.Daily}, {"weekly", j.Retention.Weekly},
			{"monthly", j.Retention.Monthly}, {"yearly", j.Retention.Yearly}} {
			if x.n < 0 {
				add(p+".retention."+x.key, "%d: must be 0 (no such rule) or more", x.n)
			}
		}
		if w := j.Retention.Within.D(); w > 0 && w < time.Hour {
			add(p+".retention.within", "%s: must be at least 1h (it counts whole hours and days)", w)
		}
		if e := j.Prune.Every.D(); e > 0 && e < time.Hour {
			add(p+".prune.every", "%s: must be at least 1h (e.g. \"7d\"), or 0 for no automatic prune", e)
		}
		if j.Offsite != nil {
			errs = append(errs, c.validateOffsite(p+".offsite", j)...)
		}
		switch j.Rotation.Mode {
		case "sequence":
		case "calendar":
			if j.Rotation.Start.IsZero() {
				add(p+".rotation.start", "missing: a calendar rotation needs its first day")
			}
			if j.Rotation.Days < 0 {
				add(p+".rotation.days", "must not be negative")
			}
		default:
			add(p+".rotation.mode", "%q: must be sequence or calendar", j.Rotation.Mode)
		}
	}
	return errs
}

// validatePostgres checks the PostgreSQL keys of source sp.
func validatePostgres(sp string, s Source) []*ConfigError {
	var errs []*ConfigError
	add := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: sp + "." + key, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for _, d := range s.Databases {
		switch {
		case d == AllDatabases && len(s.Databases) > 1:
			add("databases", "\"all\" stands alone: it already means every database")
		case d == "" || strings.ContainsAny(d, "/\x00") || d == "." || d == "..":
			add("databases", "%q: not a database name cadang can store as a file", d)
		case seen[d]:
			add("databases", "%q is listed twice", d)
		}
		seen[d] = true
	}
	switch s.RestoreInto {
	case "", RestoreIntoServer, RestoreIntoThrowaway, RestoreIntoNone:
	default:
		add("restore_into", "%q: must be server, throwaway or none", s.RestoreInto)
	}
	if s.PGPort < 0 || s.PGPort > 65535 {
		add("pg_port", "%d: not a TCP port", s.PGPort)
	}
	if !s.IsDump() && (s.RestoreInto != "" || s.PGHost != "" || s.PGPort != 0 || s.PGUser != "" || s.PGBin != "" || s.Spool != "") {
		add("restore_into", "restore_into, pg_host, pg_port, pg_user, pg_bin and spool are for database sources")
	}
	if s.Spool != "" && len(s.Databases) == 0 {
		add("spool", "spool is for a databases source (a dump command streams its output)")
	}
	return errs
}

// validateChecks checks the [[job.check]] queries of job j at p: each
// names a database of the job's PostgreSQL source (or the only one), and
// compares with an expected value or with the source at backup time, which
// only a databases source (dumped by cadang in the snapshot it queries)
// records.
func validateChecks(p string, j *Job) []*ConfigError {
	var errs []*ConfigError
	if len(j.Checks) == 0 {
		return nil
	}
	var pgs, dbSources []Source
	var named []string // the databases the sources name; open: a source has "all"
	open := false
	for _, s := range j.Sources {
		if !s.IsPostgres() {
			continue
		}
		pgs = append(pgs, s)
		switch {
		case len(s.Databases) == 0:
			named = append(named, s.DumpDatabase())
		case s.Databases[0] == AllDatabases:
			open = true
		default:
			named = append(named, s.Databases...)
		}
		if len(s.Databases) > 0 {
			dbSources = append(dbSources, s)
		}
	}
	single := len(pgs) == 1 && (len(pgs[0].Databases) == 0 || (len(pgs[0].Databases) == 1 && pgs[0].Databases[0] != AllDatabases))
	for k, c := range j.Checks {
		cp := fmt.Sprintf("%s.check[%d]", p, k)
		add := func(key, format string, args ...any) {
			errs = append(errs, &ConfigError{Key: cp + "." + key, Msg: fmt.Sprintf(format, args...)})
		}
		if strings.TrimSpace(c.Query) == "" {
			add("query", "missing: the SQL query to run on the restored database")
		}
		switch {
		case c.Expect != nil && c.Compare != "":
			add("compare", "give expect or compare, not both")
		case c.Expect == nil && c.Compare == "":
			add("expect", "missing: the expected result, or compare = \"source\"")
		case c.Compare != "" && c.Compare != CompareSource:
			add("compare", "%q: the only comparison is \"source\" (the result on the source database at backup time)", c.Compare)
		}
		if len(pgs) == 0 {
			add("query", "job %q has no PostgreSQL source (databases, or a pg_dump command) to check", j.Name)
			continue
		}
		if c.Compare == CompareSource && len(dbSources) == 0 {
			add("compare", "compare = \"source\" needs a databases source: cadang then runs the query in the dump's own snapshot")
		}
		switch {
		case c.Database == "" && !single:
			add("database", "missing: the job has several databases; say which one the query runs on")
		case c.Database != "" && !open && !slices.Contains(named, c.Database):
			add("database", "%q is not one of the job's databases (%s)", c.Database, strings.Join(named, ", "))
		}
	}
	return errs
}

// validateOffsite checks [job.offsite]: a location cadang can open, a
// password file, an ID if one is given, and a medium that is none of the
// job's rotation media (a copy onto the medium it comes from is no copy).
func (c *Config) validateOffsite(p string, j *Job) []*ConfigError {
	var errs []*ConfigError
	add := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: p + "." + key, Msg: fmt.Sprintf(format, args...)})
	}
	o := j.Offsite
	if !nameRE.MatchString(o.Name) {
		add("name", "%q: use letters, digits, '.', '_' and '-'", o.Name)
	}
	for _, m := range j.Media {
		if m.Name == o.Name {
			add("name", "%q is also the name of a rotation medium of job %q", o.Name, j.Name)
		}
	}
	var kind string
	if o.Repository == "" {
		add("repository", "missing: the offsite repository's location (a path, s3:... or sftp://...)")
	} else if l, err := location.Parse(o.Repository); err != nil {
		add("repository", "%v", err)
	} else {
		kind = l.Kind
		if kind == location.Local {
			for _, m := range j.Media {
				if cleanPath(c.Abs(strings.TrimPrefix(m.Repository, "local:"))) == cleanPath(c.Abs(l.Path)) {
					add("repository", "%q is the repository of rotation medium %q: the offsite copy must be on another medium", o.Repository, m.Name)
				}
			}
		}
	}
	if o.PasswordFile == "" {
		add("password_file", "missing: the file holding the offsite repository's password")
	}
	if o.RepositoryID != "" {
		if !idRE.MatchString(o.RepositoryID) {
			add("repository_id", "%q: must be the 64 hex digit ID of the offsite repository", o.RepositoryID)
		} else if i := j.MediumByID(o.RepositoryID); i >= 0 {
			add("repository_id", "%.8s is the ID of rotation medium %q: the offsite copy must be another repository", o.RepositoryID, j.Media[i].Name)
		}
	}
	if a := o.MaxAge.D(); a < time.Hour {
		add("max_age", "%s: must be at least 1h (e.g. \"48h\" or \"2d\")", a)
	}
	if (o.SFTPIdentity != "" || o.SFTPKnownHosts != "") && kind != "" && kind != location.SFTP {
		add("sftp_identity", "sftp_identity and sftp_known_hosts are for sftp:// locations only")
	}
	return errs
}

func cleanPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// locator maps key paths with array indices (job[1].medium[0].name) to lines.
type locator struct {
	lines map[string]int
	order []keyLine
}

type keyLine struct {
	path string // with indices
	bare string // without indices
	line int
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]`)

// line returns the line of key, or of its closest enclosing table.
func (l *locator) line(key string) int {
	for k := key; k != ""; {
		if n, ok := l.lines[k]; ok {
			return n
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// nth returns the n-th occurrence of the key path without indices.
func (l *locator) nth(bare string, n int) keyLine {
	for _, kl := range l.order {
		if kl.bare == bare {
			if n == 0 {
				return kl
			}
			n--
		}
	}
	return keyLine{path: bare}
}

// locate scans TOML text for table headers and keys. It follows arrays of
// tables to give each occurrence its index; values spanning lines are skipped.
func locate(text string) *locator {
	l := &locator{lines: map[string]int{}}
	add := func(path string, line int) {
		if _, ok := l.lines[path]; !ok {
			l.lines[path] = line
		}
		l.order = append(l.order, keyLine{path, indexRE.ReplaceAllString(path, ""), line})
	}
	lastIdx := map[string]int{} // array-of-tables path (with parent indices) -> current index
	resolve := func(parts []string, array bool) string {
		cur := ""
		for i, p := range parts {
			k := strings.Trim(strings.TrimSpace(p), `"'`)
			if cur != "" {
				k = cur + "." + k
			}
			if i == len(parts)-1 && array {
				n, ok := lastIdx[k]
				if ok {
					n++
				}
				lastIdx[k] = n
				// a new element resets the indices of nested arrays
				for key := range lastIdx {
					if strings.HasPrefix(key, k+"[") {
						delete(lastIdx, key)
					}
				}
				return fmt.Sprintf("%s[%d]", k, n)
			}
			if n, ok := lastIdx[k]; ok {
				k = fmt.Sprintf("%s[%d]", k, n)
			}
			cur = k
		}
		return cur
	}
	table := ""
	depth := 0  // open brackets of a multi-line array
	inStr := "" // open multi-line string delimiter
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		if inStr != "" {
			if strings.Contains(raw, inStr) {
				inStr = ""
			}
			continue
		}
		line := stripComment(raw)
		if depth > 0 {
			depth += bracketDepth(line)
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "":
		case strings.HasPrefix(t, "[["):
			name := strings.TrimSuffix(strings.TrimPrefix(t, "[["), "]]")
			table = resolve(strings.Split(name, "."), true)
			add(table, n)
		case strings.HasPrefix(t, "["):
			name := strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")
			table = resolve(strings.Split(name, "."), false)
			add(table, n)
		default:
			eq := strings.Index(t, "=")
			if eq < 0 {
				continue
			}
			key := strings.TrimSpace(t[:eq])
			val := strings.TrimSpace(t[eq+1:])
			parts := strings.Split(key, ".")
			for k := range parts {
				parts[k] = strings.Trim(strings.TrimSpace(parts[k]), `"'`)
			}
			path := strings.Join(parts, ".")
			if table != "" {
				path = table + "." + path
			}
			add(path, n)
			for _, d := range []string{`"""`, `'''`} {
				if strings.HasPrefix(val, d) && strings.Count(val, d) == 1 {
					inStr = d
				}
			}
			if strings.HasPrefix(val, "[") {
				depth = bracketDepth(val)
			}
		}
	}
	return l
}

// stripComment removes a # comment that is not inside a string.
func stripComment(s string) string {
	var q rune
	for i, c := range s {
		switch {
		case q != 0 && c == q:
			q = 0
		case q == '"' && c == '\\':
			// an escaped quote is handled well enough by ignoring it
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q == 0 && c == '#':
			return s[:i]
		}
	}
	return s
}

// bracketDepth counts [ minus ] outside strings.
func bracketDepth(s string) int {
	d := 0
	var q rune
	for _, c := range s {
		switch {
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q == 0 && c == '[':
			d++
		case q == 0 && c == ']':
			d--
		}
	}
	return d
}

// Abs makes relative paths in the configuration (log path, password files)
// relative to the configuration file's directory.
func (c *Config) Abs(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.Path), p)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/internal/childenv"
	"github.com/lpse/cadang/internal/kdfmem"
	"github.com/lpse/cadang/internal/panicerr"
	"github.com/lpse/cadang/internal/pwfile"
	"github.com/lpse/cadang/internal/sop/clock"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/ui"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
)

func globalFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "repo", Aliases: []string{"r"}, EnvVars: []string{"CADANG_REPOSITORY"}, Usage: "repository `LOCATION`: a local directory (local:PATH if it starts with NAME:), s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or ~/.aws), sftp://USER@HOST[:PORT]/PATH, or rest:http[s]://USER@HOST:PORT/NAME (cadang serve; password in the URL or CADANG_REST_PASSWORD)"},
		&cli.StringFlag{Name: "password-file", EnvVars: []string{"CADANG_PASSWORD_FILE"}, Usage: "read the repository password from `FILE`"},
		&cli.StringFlag{Name: "password-command", EnvVars: []string{"CADANG_PASSWORD_COMMAND"}, Usage: "run `COMMAND` (via sh -c) and use its output as the password"},
		&cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON instead of text"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors and results; no progress"},
		&cli.BoolFlag{Name: "utc", Usage: "print times in UTC instead of the SOP configuration's [organization] timezone (where set) or the local time zone", EnvVars: []string{"CADANG_UTC"}},
		&cli.IntFlag{Name: "backend-connections", EnvVars: []string{"CADANG_BACKEND_CONNECTIONS"}, Usage: "requests to an s3:, sftp:// or rest: repository in flight at once (default 5; more hides more latency)", Action: intRange("backend-connections", 1, 128)},
		&cli.BoolFlag{Name: "no-lock", Usage: "do not lock the repository (read-only commands only; unsafe while others write)"},
		&cli.DurationFlag{Name: "retry-lock", Usage: "wait up to `DURATION` (e.g. 10m) for a conflicting lock of another process to go, instead of failing at once"},
		// Destination: the location package reads them when it parses an
		// sftp:// location; every run sets them (to "" when not given).
		&cli.StringFlag{Name: "sftp-identity", EnvVars: []string{"CADANG_SFTP_IDENTITY"}, Destination: &location.SFTPIdentityFile, Usage: "log in to sftp:// repositories with the private key in `FILE` (default: the keys of ssh-agent at SSH_AUTH_SOCK, else ~/.ssh/id_*)"},
		&cli.StringFlag{Name: "sftp-known-hosts", EnvVars: []string{"CADANG_SFTP_KNOWN_HOSTS"}, Destination: &location.SFTPKnownHostsFile, Usage: "verify the host keys of sftp:// servers against `FILE` (default ~/.ssh/known_hosts)"},
	}, sopGlobalFlags()...)
}

// env is what every command needs: its streams and global options.
type env struct {
	c     *cli.Context
	stdin io.Reader
	// stdout and stderr escape what a terminal would act on
	// (ui.Printable): messages and tables carry text from repositories
	// and file names. rawStdout and rawStderr are the streams themselves,
	// for bytes (dump, cat, a rendered document) and the progress bar.
	stdout, rawStdout io.Writer
	stderr, rawStderr io.Writer
	json              bool
	quiet             bool
	// rec, while an operation is being recorded in the run log, keeps the
	// repository open after withRepo so the record can be copied into it.
	rec *recording
	sop *sopState
	clk clock.Clock // clock(), once made
	// afterUnlock, if set, replaces debug.FreeOSMemory as what openRepo
	// does with argon2id's memory once the key is open (see there).
	afterUnlock func()
	// snapshotsIn, if set, is the location of the repository that
	// findSnapshot looks in when it is not --repo (copy's source): its
	// hints name it.
	snapshotsIn string
	// zone and org cache displayZone and orgZone; plainCfg, plainCfgErr
	// and plainCfgRead cache plainConfig.
	zone, org    *time.Location
	plainCfg     *jobs.Config
	plainCfgErr  error
	plainCfgRead bool
	// writes is set by needLock: the command writes to the repository,
	// so a read-only medium fails it instead of being read unlocked.
	writes bool
}

func newEnv(c *cli.Context) *env {
	return &env{c: c, stdin: c.App.Reader,
		stdout: ui.PrintableWriter{W: c.App.Writer}, rawStdout: c.App.Writer,
		stderr: ui.PrintableWriter{W: c.App.ErrWriter}, rawStderr: c.App.ErrWriter,
		json: c.Bool("json"), quiet: c.Bool("quiet")}
}

// kdfMemory is CADANG_KDF_MEMORY, in MiB, as KiB: the most memory a key
// file's key derivation may ask for before it is tried (repo.Options.
// KDFMemory); unset or not a number, what the system has free.
func (e *env) kdfMemory() uint64 {
	mib, err := strconv.ParseUint(os.Getenv("CADANG_KDF_MEMORY"), 10, 32)
	if err != nil {
		return 0
	}
	return mib << 10
}

// logf prints a message for the user on stderr unless --quiet.
func (e *env) logf(format string, args ...any) {
	if !e.quiet {
		fmt.Fprintf(e.stderr, format+"\n", args...)
	}
}

// warnf prints a warning on stderr even with --quiet.
// parseLocation parses a repository location and applies the global
// backend flags to it.
func (e *env) parseLocation(s string) (location.Location, error) {
	l, err := location.Parse(s)
	if err != nil {
		return l, err
	}
	l.SetConnections(e.c.Int("backend-connections"))
	l.SetRetryNotify(e.retryNotify(l.String()))
	return l, nil
}

// retryNoticeEvery is the least time between two notices of retries of
// one location: a dead server retried for two minutes by every request in
// flight (uploads, index loads) would otherwise fill the screen.
const retryNoticeEvery = 20 * time.Second

// retryNotify returns the function that says on stderr that a request to
// where failed and will be retried (location.SetRetryNotify): the first
// retry at once, then at most one line per retryNoticeEvery for all the
// location's requests together, counting those not said. --quiet hides
// them; stdout (--json) never has them.
func (e *env) retryNotify(where string) func(err error, attempt int, wait time.Duration) {
	return retryNotifier(e.logf, where, time.Now)
}

func retryNotifier(logf func(string, ...any), where string, now func() time.Time) func(err error, attempt int, wait time.Duration) {
	var mu sync.Mutex
	var last time.Time
	unsaid := 0
	return func(err error, attempt int, wait time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		t := now()
		if !last.IsZero() && t.Sub(last) < retryNoticeEvery {
			unsaid++
			return
		}
		more := ""
		if unsaid > 0 {
			more = fmt.Sprintf("; %d more failed since the last notice", unsaid)
		}
		last, unsaid = t, 0
		logf("%s: %v; retrying in %s (attempt %d%s)", where, err, wait.Round(100*time.Millisecond), attempt, more)
	}
}

// timeText formats t for a person: in the local time zone (UTC with
// --utc), always with the zone's name, since a bare time on a server set
// to UTC reads as local time in Jakarta or Makassar at 3 a.m.
func (e *env) timeText(t time.Time) string { return zonedText(t, e.displayZone()) }

// zonedText is how the CLI prints a time: in loc, with the zone named.
// timeText gives it in the display zone; a time that belongs to the
// organisation's calendar (a protection's end, forget's plan) is printed
// in that zone even under --utc, so it reads as the day that was typed.
func zonedText(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// protectionText is p.Describe with its end as timeText prints times, its
// zone named ("until 2027-12-08 09:31:00 WITA (reason)"), as backup
// --reason prints the end of the protection it adds. An end at midnight of
// the organisation's zone is a day typed with --until, and stays that day.
func (e *env) protectionText(p snapshot.Protection) string {
	u := p.Until.In(e.orgZone())
	if p.Until.IsZero() || u.Equal(time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, u.Location())) {
		return p.Describe(e.orgZone())
	}
	s := "until " + e.timeText(p.Until)
	if p.Reason != "" {
		s += " (" + p.Reason + ")"
	}
	return s
}

// displayZone is the zone that times are printed in: UTC with --utc,
// else orgZone: the [organization] timezone of the SOP configuration where
// one is set, the zone of the run log and of every SOP document, else the
// machine's. A server kept on UTC then shows a snapshot at the hour its
// restore minutes give. A date typed on the command line is read in
// calendarZone instead, which --utc does not change.
func (e *env) displayZone() *time.Location {
	if e.zone == nil {
		e.zone = e.orgZone()
		if e.c.Bool("utc") {
			e.zone = time.UTC
		}
	}
	return e.zone
}

// orgZone is the SOP configuration's [organization] timezone, else the
// machine's zone. A configuration that cannot be read is passed over here
// without a word: the commands that need it say why, and a listing is no
// place to repeat it. It is also the zone a protection's end is shown in,
// the one its date was typed in, so that "--until 2027-01-01" reads back
// as that day under --utc too.
func (e *env) orgZone() *time.Location {
	if e.org == nil {
		e.org = time.Local
		if cfg, _ := e.plainConfig(); cfg != nil && cfg.Organization.Timezone != "" {
			e.org = cfg.Location()
		}
	}
	return e.org
}

// plainConfig is the SOP configuration as a plain command reads it: the
// one loadSOP read, else the file, read once (nil and ErrNoConfig when
// there is none). Unlike loadSOP it opens no run log.
func (e *env) plainConfig() (*jobs.Config, error) {
	if e.sop != nil {
		return e.sop.cfg, nil
	}
	if !e.plainCfgRead {
		e.plainCfg, e.plainCfgErr = jobs.LoadDefault(e.c.String("config"), nil)
		e.plainCfgRead = true
	}
	return e.plainCfg, e.plainCfgErr
}

func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "warning: "+format+"\n", args...)
}

// warnPasswordFile is pwfile.Read's warning: on stderr even with --quiet,
// since a password file that others can read is worth a cron mail.
func (e *env) warnPasswordFile(msg string) { e.warnf("%s", msg) }

// printJSON writes v as one line: every --json output is one JSON value
// per line, so that scripts can read them line by line.
func (e *env) printJSON(v any) error { return jsonLine(e.stdout, v) }

// printIndentedJSON is for `cat`, whose output is for people reading a
// repository's structures, not for scripts reading a stream.
func (e *env) printIndentedJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) repoLocation() (string, error) {
	loc := e.c.String("repo")
	if loc == "" {
		return "", errors.New("no repository given: use --repo/-r or set CADANG_REPOSITORY")
	}
	l, err := e.parseLocation(loc)
	if err != nil {
		return "", err
	}
	return l.String(), nil
}

// password returns the repository password from, in order: --password-file
// (or CADANG_PASSWORD_FILE), --password-command (or
// CADANG_PASSWORD_COMMAND), CADANG_PASSWORD, or a terminal prompt. A flag
// and its variable are one source; a password file, given either way,
// wins over a command given either way. A wrong password's error says
// which was used and which were set beside it (saySource).
func (e *env) password(prompt string, confirm bool) ([]byte, error) {
	if f := e.c.String("password-file"); f != "" {
		p, err := pwfile.Read(f, e.warnPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		return p, nil
	}
	if cmd := e.c.String("password-command"); cmd != "" {
		var stderr bytes.Buffer
		x := exec.CommandContext(e.c.Context, "sh", "-c", cmd)
		// Not cadang's passwords (it has no use for them: it produces
		// one), but cloud credentials: it may ask a cloud secret store.
		x.Env = childenv.Environ()
		x.Stderr = &stderr
		out, err := x.Output()
		if err != nil {
			return nil, fmt.Errorf("--password-command %q failed: %w: %s", cmd, err, strings.TrimSpace(stderr.String()))
		}
		p := bytes.TrimRight(out, "\r\n")
		if len(p) == 0 {
			return nil, fmt.Errorf("--password-command %q printed no password", cmd)
		}
		return p, nil
	}
	if p, ok := os.LookupEnv("CADANG_PASSWORD"); ok && p != "" {
		return []byte(p), nil
	}
	return e.promptPassword(prompt, confirm)
}

// noPasswordError is the error of a command that was given no password
// at all and cannot ask for one (stdin is no terminal): a mistake in how
// it was called, like a missing --repo, before anything ran. A plain
// command records no failed run for it (recorded); `cadang run` and the
// restore test, which the schedule starts, do.
type noPasswordError struct{ msg string }

func (e *noPasswordError) Error() string { return e.msg }

func isNoPassword(err error) bool {
	var np *noPasswordError
	return errors.As(err, &np)
}

func (e *env) promptPassword(prompt string, confirm bool) ([]byte, error) {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, &noPasswordError{"no password given: set CADANG_PASSWORD, --password-file or --password-command (stdin is not a terminal)"}
	}
	read := func(p string) ([]byte, error) {
		fmt.Fprint(e.stderr, p)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		return b, err
	}
	p, err := read(prompt)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty password")
	}
	if confirm {
		q, err := read("enter the password again: ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, q) {
			return nil, errors.New("the passwords do not match")
		}
	}
	return p, nil
}

func (e *env) openBackend(ctx context.Context) (backend.Backend, string, error) {
	loc, err := e.repoLocation()
	if err != nil {
		return nil, "", err
	}
	l, err := e.parseLocation(e.c.String("repo"))
	if err != nil {
		return nil, "", err
	}
	be, err := location.Open(ctx, l)
	if err != nil {
		return nil, loc, err
	}
	return be, loc, nil
}

// openRepo opens the repository named by the global flags.
func (e *env) openRepo(ctx context.Context, o repo.Options) (_ *repo.Repository, err error) {
	defer func() {
		if err != nil && e.rec != nil && e.rec.openErr == nil {
			e.rec.openErr = err // the record says so in its documents' language
		}
	}()
	be, _, err := e.openBackend(ctx)
	if err != nil {
		return nil, err
	}
	pw, err := e.password("enter the repository password: ", false)
	if err != nil {
		be.Close()
		return nil, err
	}
	if o.Logf == nil {
		o.Logf = e.logf
	}
	if o.Warnf == nil {
		o.Warnf = e.warnf
	}
	o.LockWait = e.c.Duration("retry-lock")
	o.Now = e.repoClock()
	o.KDFMemory = e.kdfMemory()
	// argon2id has just used 64 MiB that is garbage once the key is open.
	// Returning it before the index loads keeps it from adding to the
	// process's peak, and keeps the heap goal from being sized from it.
	// A command may keep it instead (e.afterUnlock; check does).
	o.AfterUnlock = debug.FreeOSMemory
	if e.afterUnlock != nil {
		o.AfterUnlock = e.afterUnlock
	}
	// The heap freed since start is returned before argon2id adds its
	// 64 MiB: that phase is the peak of a backup (bench/README.md).
	debug.FreeOSMemory()
	done := hugeKDF(&o)
	r, err := repo.Open(ctx, be, pw, o)
	done()
	if err != nil {
		be.Close()
		return nil, e.saySource(err)
	}
	return r, nil
}

// saySource adds to a wrong-password error where the password came from:
// at 3 a.m. a password file exported long ago silently wins over the
// CADANG_PASSWORD just typed, in the documented order.
func (e *env) saySource(err error) error {
	if !errors.Is(err, repo.ErrWrongPassword) {
		return err
	}
	var src string
	var unused []string
	switch {
	case e.c.String("password-file") != "":
		src = fmt.Sprintf("the password file %s (--password-file or CADANG_PASSWORD_FILE)", e.c.String("password-file"))
		if e.c.String("password-command") != "" {
			unused = append(unused, "--password-command (or CADANG_PASSWORD_COMMAND)")
		}
	case e.c.String("password-command") != "":
		src = "the output of --password-command (or CADANG_PASSWORD_COMMAND)"
	case os.Getenv("CADANG_PASSWORD") != "":
		return fmt.Errorf("%w (the password came from CADANG_PASSWORD)", err)
	default:
		return fmt.Errorf("%w (the password was typed at the prompt)", err)
	}
	if os.Getenv("CADANG_PASSWORD") != "" {
		unused = append(unused, "CADANG_PASSWORD")
	}
	if len(unused) > 0 {
		src += fmt.Sprintf("; %s set too, but not used: a password file wins over a command, and either over CADANG_PASSWORD", strings.Join(unused, " and "))
	}
	return fmt.Errorf("%w (the password came from %s)", err, src)
}

// hugeKDF has the memory of the key derivation that opening a repository
// runs put on huge pages where it can (internal/kdfmem: a fault per 4 KiB
// page was 0.2 CPU-seconds of every command on this project's VM), and
// ends that (MADV_NOHUGEPAGE) at the start of o.AfterUnlock, before the
// memory is handed back or reused. The caller calls the returned function
// once the open has returned, whatever its outcome: an open that fails, or
// that creates the repository, does not unlock. It prepares for the
// default cost's 64 MiB: a key file of another cost gets some huge pages
// or none, never more resident memory than the default cost's.
func hugeKDF(o *repo.Options) (done func()) {
	done = kdfmem.Prepare(int(crypto.DefaultKDFParams().Memory) << 10)
	after := o.AfterUnlock
	o.AfterUnlock = func() {
		done()
		if after != nil {
			after()
		}
	}
	return done
}

// openOrInitRepo opens the repository named by the global flags, or
// creates it there when the location holds none; only then is the password
// asked for twice. One session either way: the new repository is not
// unlocked a second time.
func (e *env) openOrInitRepo(ctx context.Context, o repo.Options) (*repo.Repository, error) {
	loc, err := e.repoLocation()
	if err != nil {
		return nil, err
	}
	l, err := e.parseLocation(e.c.String("repo"))
	if err != nil {
		return nil, err
	}
	be, err := location.Open(ctx, l)
	if err == nil {
		be.Close()
		return e.openRepo(ctx, o)
	}
	if !errors.Is(err, repo.ErrNoRepository) {
		return nil, err
	}
	kdf, err := kdfParams(insecureKDF(e.c))
	if err != nil {
		return nil, err
	}
	pw, err := e.password("enter a password for the new repository: ", true)
	if err != nil {
		return nil, err
	}
	nb, err := location.OpenOrCreate(ctx, l)
	if err != nil {
		return nil, err
	}
	o.Logf = e.logf
	o.LockWait = e.c.Duration("retry-lock")
	o.Now = e.repoClock()
	o.AfterUnlock = debug.FreeOSMemory // as openRepo does
	done := hugeKDF(&o)
	r, created, err := repo.OpenOrInit(ctx, nb, pw, o, repo.InitOptions{KDF: kdf})
	done()
	if err != nil {
		nb.Close()
		return nil, e.saySource(err)
	}
	if created {
		// Wrapping the new key ran argon2id: hand its memory back before
		// the backup adds to the peak.
		debug.FreeOSMemory()
		e.logf("created repository %s at %s", r.ID()[:10], loc)
	}
	return r, nil
}

// withRepo opens the repository, takes a lock (shared unless exclusive;
// none with --no-lock for a shared one), runs fn, and closes the session,
// which releases the lock. Stale locks in the way are removed and reported.
func (e *env) withRepo(ctx context.Context, exclusive bool, fn func(r *repo.Repository) error) error {
	return e.withRepoCreate(ctx, exclusive, false, fn)
}

// withRepoCreate is withRepo that, with create, first makes the repository
// when the location holds none (backup --init).
func (e *env) withRepoCreate(ctx context.Context, exclusive, create bool, fn func(r *repo.Repository) error) error {
	mode := repo.SharedLock
	switch {
	case exclusive:
		mode = repo.ExclusiveLock
	case e.c.Bool("no-lock"):
		mode = repo.NoLock
	}
	o := repo.Options{Lock: mode, KDFMemory: e.kdfMemory()}
	// A command that only reads reads a read-only medium (a rescue disk
	// mounted the safe way) without the lock it cannot write there.
	o.ReadOnlyUnlocked = mode == repo.SharedLock && !create && !e.writes
	var r *repo.Repository
	var err error
	if create {
		r, err = e.openOrInitRepo(ctx, o)
	} else {
		r, err = e.openRepo(ctx, o)
	}
	if err != nil {
		return err
	}
	e.noteUnlocked(r)
	if e.rec != nil {
		e.rec.keep(r)         // closed after the run-log record is copied into it
		e.checkRunLog(ctx, r) // a recorded command: an older copy of the repository is a warning
	} else {
		defer e.closeRepo(r)
	}
	// A panic becomes this command's error, so that the lock is released
	// and the run log records the failure as for any other error.
	return panicerr.Call(func() string { return e.c.Command.Name }, func() error { return fn(r) })
}

// noteUnlocked says, once, that r was opened without its lock because its
// storage is read-only. It is printed even with --quiet: what it warns of
// (a prune elsewhere) is not the reader's to see.
func (e *env) noteUnlocked(r *repo.Repository) {
	if r.Unlocked() {
		fmt.Fprintf(e.stderr, "note: %s\n", unlockedNote(r.Backend().Location(), r.ReadOnlyCause()))
	}
}

// unlockedNote is the note of a repository read without a lock because
// its storage is read-only: a file system mounted so (EROFS, or an SFTP
// server's), or a server that refuses this user's writes (S3, REST),
// where the one who may write is another user, not another mount.
func unlockedNote(loc string, cause error) string {
	if cause != nil && !errors.Is(cause, syscall.EROFS) && (strings.HasPrefix(loc, "s3:") || strings.HasPrefix(loc, "rest:")) {
		return fmt.Sprintf("the repository %s refuses this user's writes, so it is read without a lock; a prune run elsewhere by a user who may write there could remove data under it", loc)
	}
	return fmt.Sprintf("the repository %s is on a read-only file system, so it is read without a lock; a prune running elsewhere on a writable mount of the same storage could remove data under it", loc)
}

// needLock refuses --no-lock for a command that writes: a writer without
// a lock is invisible to prune, which could delete what it builds on. It
// also marks the command as a writer, which a read-only medium fails
// rather than lets read without a lock.
func (e *env) needLock(command string) error {
	e.writes = true
	if e.c.Bool("no-lock") {
		return fmt.Errorf("--no-lock is for read-only commands; %s writes to the repository and always takes its lock", command)
	}
	return nil
}

// closeRepo ends a repository session; a lock file it could not remove is
// a warning (it goes stale and the next run removes it), not a failure of
// the work already done.
func (e *env) closeRepo(r *repo.Repository) {
	if err := r.Close(); err != nil {
		e.warnf("%v", err)
	}
}

func jsonLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// insecureKDFFlag lets new key files be cheaper than repo.KDFFloor.
var insecureKDFFlag = &cli.BoolFlag{Name: "insecure-kdf", EnvVars: []string{"CADANG_INSECURE_KDF"},
	Usage: "accept a CADANG_KDF below OWASP's argon2id minimum (19 MiB, 2 passes); for test repositories only"}

// insecureKDF reports whether --insecure-kdf or CADANG_INSECURE_KDF allows
// a weak KDF. The variable is read here too because backup --init
// creates a key file and has no such flag.
func insecureKDF(c *cli.Context) bool {
	if c.Bool("insecure-kdf") {
		return true
	}
	v, _ := strconv.ParseBool(os.Getenv("CADANG_INSECURE_KDF"))
	return v
}

// kdfParams returns the argon2id cost for new key files: the default, or
// CADANG_KDF="time,memoryKiB,threads" (for test suites and very small
// machines). A cost below repo.KDFFloor is refused unless insecure.
func kdfParams(insecure bool) (crypto.KDFParams, error) {
	s := os.Getenv("CADANG_KDF")
	if s == "" {
		return crypto.DefaultKDFParams(), nil
	}
	var p crypto.KDFParams
	var threads uint
	if _, err := fmt.Sscanf(s, "%d,%d,%d", &p.Time, &p.Memory, &threads); err != nil || threads > 255 {
		return p, fmt.Errorf("CADANG_KDF=%q: want time,memoryKiB,threads (e.g. 3,65536,2)", s)
	}
	p.Threads = uint8(threads)
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("CADANG_KDF: %w", err)
	}
	if err := repo.CheckKDF(p); err != nil && !insecure {
		return p, fmt.Errorf("CADANG_KDF=%q: %w: a stolen key file would be cheap to attack; raise it, or give --insecure-kdf (CADANG_INSECURE_KDF=1) for a test repository", s, err)
	}
	return p, nil
}

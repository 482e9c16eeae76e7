// Package notify tells people about failed runs (SOP step 5): a command hook
// that receives the run record as JSON on its standard input, and e-mail.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/smtp"
	"os/exec"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/childenv"
	"github.com/lpse/cadang/internal/pwfile"
	"github.com/lpse/cadang/internal/sop/i18n"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// DefaultHookTimeout bounds a hook that sets no timeout.
const DefaultHookTimeout = time.Minute

// Notifier sends failure notices.
type Notifier struct {
	// SMTP is the mail server; nil disables e-mail.
	SMTP *jobs.SMTP
	// Loc is the time zone of times in messages; default time.Local.
	Loc *time.Location
	// Now dates the e-mail; default time.Now.
	Now func() time.Time
	// ReadFile reads the SMTP password file; default pwfile.Read, which
	// warns through Warnf when others can read the file.
	ReadFile func(string) ([]byte, error)
	// Warnf receives warnings (a password file that others can read).
	Warnf func(string, ...any)
	// TLS configures STARTTLS; default verifies the server name.
	TLS *tls.Config
}

// ShouldNotify reports whether a record calls for a notice: every run that
// did not end OK (follow-ups never do).
func ShouldNotify(r *runlog.Record) bool {
	return r.Op != runlog.OpFollowup && r.Result != runlog.OK && r.Result != ""
}

// Notify sends rec to every target: the hook, then e-mail. It tries all and
// returns their errors joined.
func (n *Notifier) Notify(ctx context.Context, t jobs.Notify, rec runlog.Record) error {
	var errs []error
	if len(t.Hook) > 0 {
		if err := RunHook(ctx, t.Hook, t.HookTimeout.D(), rec); err != nil {
			errs = append(errs, err)
		}
	}
	if len(t.Email) > 0 {
		if n.SMTP == nil {
			errs = append(errs, fmt.Errorf("notify: e-mail to %s: no [smtp] server configured", strings.Join(t.Email, ", ")))
		} else if err := n.Mail(ctx, t.Email, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunHook runs argv with the record as JSON on its standard input and
// CADANG_RUN_ID, CADANG_JOB, CADANG_RESULT and CADANG_FAILURE in its
// environment. It inherits the rest of the environment except cadang's
// passwords (see package childenv): a hook needs the run, not the key to
// every backup. A non-zero exit is an error that quotes its output.
func RunHook(ctx context.Context, argv []string, timeout time.Duration, rec runlog.Record) error {
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(append(data, '\n'))
	cmd.Env = append(childenv.Environ(),
		"CADANG_RUN_ID="+rec.ID, "CADANG_JOB="+rec.Job,
		"CADANG_RESULT="+string(rec.Result), "CADANG_FAILURE="+string(rec.Failure))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("notify: hook %s: %w: %s", argv[0], err, tail(out.String(), 500))
	}
	return nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// Subject returns the e-mail subject for a record.
func Subject(l i18n.Lang, r *runlog.Record) string {
	return fmt.Sprintf("[cadang] %s %s: %s - %s", runlog.OpLabel(l, r.Op), strings.ToUpper(runlog.ResultLabel(l, r.Result)),
		r.Job, runlog.KindLabel(l, r.Failure))
}

// Body returns the plain-text e-mail body for a record.
func Body(l i18n.Lang, r *runlog.Record, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", l.T("mail.intro"))
	row := func(k, v string) { fmt.Fprintf(&b, "%-22s %s\n", l.T(k)+":", v) }
	row("f.run_id", r.ID)
	row("f.job", r.Job)
	row("f.op", runlog.OpLabel(l, r.Op))
	row("f.medium", r.Medium+" "+r.RepositoryID)
	row("f.host", r.Host)
	row("f.operator", r.Operator)
	row("f.start", l.DateTime(r.Start.In(loc)))
	row("f.duration", l.Duration(r.Duration()))
	row("f.result", runlog.ResultLabel(l, r.Result))
	row("f.failure", runlog.KindLabel(l, r.Failure))
	row("f.message", runlog.MessageText(l, r))
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "  - %s\n", e)
	}
	fmt.Fprintf(&b, "\n%s\n  cadang report failure %s\n  cadang followup add %s --action \"...\"\n", l.T("mail.next"), r.ID, r.ID)
	return b.String()
}

// Message builds the RFC 5322 message.
func (n *Notifier) Message(to []string, r *runlog.Record) []byte {
	l, _ := i18n.Parse(n.SMTP.Lang)
	loc := n.Loc
	if loc == nil {
		loc = time.Local
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", n.SMTP.From)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", Subject(l, r)))
	fmt.Fprintf(&b, "Date: %s\r\n", now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "X-Cadang-Run-ID: %s\r\n", r.ID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(Body(l, r, loc), "\n", "\r\n"))
	return b.Bytes()
}

// Mail sends the notice for r to the given addresses. It uses STARTTLS when
// the server offers it, and authenticates when a username is configured
// (net/smtp refuses to send a password unencrypted except to localhost).
func (n *Notifier) Mail(ctx context.Context, to []string, r runlog.Record) error {
	cfg := n.SMTP
	host, _, err := net.SplitHostPort(cfg.Server)
	if err != nil {
		return fmt.Errorf("notify: smtp server %q: %w", cfg.Server, err)
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", cfg.Server)
	if err != nil {
		return fmt.Errorf("notify: smtp: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(2 * time.Minute)
	}
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("notify: smtp %s: %w", cfg.Server, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := n.TLS
		if tc == nil {
			tc = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("notify: smtp %s: starttls: %w", cfg.Server, err)
		}
	}
	if cfg.Username != "" {
		read := n.ReadFile
		if read == nil {
			read = func(name string) ([]byte, error) {
				return pwfile.Read(name, func(msg string) {
					if n.Warnf != nil {
						n.Warnf("%s", msg)
					}
				})
			}
		}
		pw, err := read(cfg.PasswordFile)
		if err != nil {
			return fmt.Errorf("notify: smtp password: %w", err)
		}
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, strings.TrimSpace(string(pw)), host)); err != nil {
			return fmt.Errorf("notify: smtp %s: auth: %w", cfg.Server, err)
		}
	}
	if err := c.Mail(addr(cfg.From)); err != nil {
		return fmt.Errorf("notify: smtp MAIL FROM: %w", err)
	}
	for _, a := range to {
		if err := c.Rcpt(addr(a)); err != nil {
			return fmt.Errorf("notify: smtp RCPT TO %s: %w", a, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("notify: smtp DATA: %w", err)
	}
	if _, err := w.Write(n.Message(to, &r)); err != nil {
		return fmt.Errorf("notify: smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: smtp DATA: %w", err)
	}
	return c.Quit()
}

// addr extracts the address from "Name <addr>".
func addr(s string) string {
	if i := strings.LastIndex(s, "<"); i >= 0 {
		return strings.TrimSuffix(s[i+1:], ">")
	}
	return strings.TrimSpace(s)
}

// DefaultPingTimeout bounds a ping that sets no timeout.
const DefaultPingTimeout = 10 * time.Second

// Ping events, healthchecks.io style: the URL with /start, as it is, or
// with /fail.
const (
	PingStart   = "start"
	PingSuccess = ""
	PingFail    = "fail"
)

// Ping tells a dead-man's switch service that a run started, succeeded or
// failed: a POST to base (plus "/"+event) with msg as the body (services
// keep it as the ping's log). It gives up after timeout (0:
// DefaultPingTimeout) and returns the error for a warning: a monitoring
// service that is down must never fail a backup.
func Ping(ctx context.Context, base, event string, timeout time.Duration, msg string) error {
	if base == "" {
		return nil
	}
	if timeout <= 0 {
		timeout = DefaultPingTimeout
	}
	u := strings.TrimSuffix(base, "/")
	if event != "" {
		u += "/" + event
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(msg))
	if err != nil {
		return fmt.Errorf("ping %s: %w", u, err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ping %s: %w", u, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ping %s: %s", u, resp.Status)
	}
	return nil
}

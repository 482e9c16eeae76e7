package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/lpse/cadang/internal/pwfile"
)

// PasswordFileRef is one *password_file key of a configuration: a
// medium's, an offsite medium's or the mail server's.
type PasswordFileRef struct {
	Key  string // e.g. job[0].medium[1].password_file (indices from 0)
	Path string // as the configuration gives it
	// What the password opens, for messages: "the repository on medium
	// disk-A of job spse-db".
	What string
	// Job and Medium name the job and medium (or offsite medium) whose
	// key it is; both empty for [smtp].
	Job, Medium string
	Offsite     bool
}

// PasswordFiles lists the password_file keys of the job named, or of
// every job when job is empty, and the [smtp] one. Media without a
// password_file (their password then comes from the command line) are
// not listed.
func (c *Config) PasswordFiles(job string) []PasswordFileRef {
	var out []PasswordFileRef
	for i := range c.Jobs {
		j := &c.Jobs[i]
		if job != "" && j.Name != job {
			continue
		}
		for k, m := range j.Media {
			if m.PasswordFile != "" {
				out = append(out, PasswordFileRef{Key: fmt.Sprintf("job[%d].medium[%d].password_file", i, k), Path: m.PasswordFile,
					What: fmt.Sprintf("the repository on medium %s of job %s", m.Name, j.Name), Job: j.Name, Medium: m.Name})
			}
		}
		if o := j.Offsite; o != nil && o.PasswordFile != "" {
			out = append(out, PasswordFileRef{Key: fmt.Sprintf("job[%d].offsite.password_file", i), Path: o.PasswordFile,
				What: fmt.Sprintf("the offsite repository %s of job %s", o.Name, j.Name), Job: j.Name, Medium: o.Name, Offsite: true})
		}
	}
	if c.SMTP != nil && c.SMTP.PasswordFile != "" {
		out = append(out, PasswordFileRef{Key: "smtp.password_file", Path: c.SMTP.PasswordFile, What: "the mail server " + c.SMTP.Server})
	}
	return out
}

// CheckPasswordFiles reads each password file of refs and returns one
// ConfigError (naming the file, line and key) for each that is missing,
// unreadable by this user or empty; nil when all hold a password. A
// password "file" that is a FIFO or a device (a secret handed over once,
// or a token) is only looked up, not read: reading it here would block,
// or use up the password the run then needs.
func (c *Config) CheckPasswordFiles(refs []PasswordFileRef) ConfigErrors {
	return c.CheckPasswordFilesWarn(refs, nil)
}

// CheckPasswordFilesWarn is CheckPasswordFiles that also tells warn of a
// password file others may read (pwfile.ModeWarning), as the commands
// that read it do: cadang job check is the step meant to catch it.
func (c *Config) CheckPasswordFilesWarn(refs []PasswordFileRef, warn func(string)) ConfigErrors {
	var errs ConfigErrors
	for _, r := range refs {
		path := c.Abs(r.Path)
		if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
			continue
		}
		if _, err := pwfile.Read(path, warn); err != nil {
			errs = append(errs, c.PasswordFileError(r, err))
		}
	}
	return errs
}

// MediumPasswordFile returns the reference of the password_file of the
// medium m, or nil when the configuration has none. A medium loaded from
// the configuration knows its job, so that two jobs sharing a disk and a
// password file each get their own key and line; one made otherwise gets
// the first job that has a medium of that name and file.
func (c *Config) MediumPasswordFile(m Medium) *PasswordFileRef {
	for _, r := range c.PasswordFiles(m.job) {
		if !r.Offsite && r.Job != "" && r.Medium == m.Name && r.Path == m.PasswordFile {
			return &r
		}
	}
	return nil
}

// OffsitePasswordFile is MediumPasswordFile for an offsite medium.
func (c *Config) OffsitePasswordFile(o Offsite) *PasswordFileRef {
	for _, r := range c.PasswordFiles(o.job) {
		if r.Offsite && r.Medium == o.Name && r.Path == o.PasswordFile {
			return &r
		}
	}
	return nil
}

// PasswordFileError is the error for the password file of r that could
// not be read (err, from reading it): a ConfigError naming the file, the
// line and the key, and saying what to do.
func (c *Config) PasswordFileError(r PasswordFileRef, err error) *ConfigError {
	path := c.Abs(r.Path)
	var msg string
	var fi os.FileInfo
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg = fmt.Sprintf("password file %s does not exist: write the password of %s into it (chmod 600), or correct the path", path, r.What)
	case errors.Is(err, fs.ErrPermission):
		msg = fmt.Sprintf("password file %s cannot be read by this user (%v): run cadang as the user the file belongs to (root for the scheduled runs), or correct the path", path, err)
	case errors.Is(err, pwfile.ErrEmpty):
		msg = fmt.Sprintf("password file %s is empty: write the password of %s into it", path, r.What)
	default:
		if fi, _ = os.Stat(path); fi != nil && fi.IsDir() {
			msg = fmt.Sprintf("password file %s is a directory: name the file holding the password of %s", path, r.What)
		} else {
			msg = fmt.Sprintf("password file %s cannot be read: %v", path, err)
		}
	}
	return c.KeyError(r.Key, msg)
}

// KeyError makes a ConfigError about key (as in ConfigError.Key) of this
// configuration, with its file and line.
func (c *Config) KeyError(key, msg string) *ConfigError {
	e := &ConfigError{File: c.Path, Key: key, Msg: msg}
	if c.loc != nil {
		e.Line = c.loc.line(key)
	}
	return e
}

// PasswordFileWhere says where the password file path comes from, for a
// message about the password in it: "/etc/cadang/offsite.pw,
// cadang.toml:31 key job[0].offsite.password_file", or
// the path alone when r is nil.
func (c *Config) PasswordFileWhere(path string, r *PasswordFileRef) string {
	abs := c.Abs(path)
	if r == nil {
		return abs
	}
	e := c.KeyError(r.Key, "")
	at := e.File
	if e.Line > 0 {
		at += fmt.Sprintf(":%d", e.Line)
	}
	return fmt.Sprintf("%s, %s key %s", abs, at, r.Key)
}

// CheckRunPasswordFiles checks, before `cadang run` of job starts, the
// password files the run may read. It returns as errs the problems of
// the password file of the medium due (index due in j.Media), which the
// backup cannot do without (cadang run leaves those to the run itself,
// which fails naming the key and is recorded); and as
// warnings the others (another medium's, read on a later day; the
// offsite medium's, whose copy comes after the backup and which must not
// cost the backup; the mail server's). With anyMedium (a backup before a
// change, which goes to whichever medium is connected) a medium's file
// is an error only when no medium's file can be read.
func (c *Config) CheckRunPasswordFiles(job string, due int, anyMedium bool) (errs, warnings ConfigErrors) {
	var media ConfigErrors
	readable := 0 // media whose password can be had (a medium without
	// password_file gets it from the command line)
	if j, err := c.Job(job); err == nil {
		for _, m := range j.Media {
			if m.PasswordFile == "" {
				readable++
			}
		}
	}
	for _, r := range c.PasswordFiles(job) {
		bad := c.CheckPasswordFiles([]PasswordFileRef{r})
		isMedium := r.Job != "" && !r.Offsite
		if isMedium && len(bad) == 0 {
			readable++
		}
		if len(bad) == 0 {
			continue
		}
		dueMedium := false
		if isMedium {
			if j, err := c.Job(job); err == nil && due >= 0 && due < len(j.Media) && j.Media[due].Name == r.Medium {
				dueMedium = true
			}
		}
		switch {
		case dueMedium && !anyMedium:
			errs = append(errs, bad...)
		case isMedium:
			media = append(media, bad...)
		default:
			warnings = append(warnings, bad...)
		}
	}
	if anyMedium && readable == 0 && len(media) > 0 {
		return append(errs, media...), warnings
	}
	return errs, append(media, warnings...)
}

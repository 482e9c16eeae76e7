// Package pwfile reads password files: the repository's (--password-file,
// a medium's password_file), a source repository's, a new key's, the SMTP
// server's. It warns when a file can be read by more people than its
// owner, because a password file is only as private as its mode.
package pwfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrEmpty is returned (wrapped) for a file that holds no password.
var ErrEmpty = errors.New("password file is empty")

// Read returns the content of the file name without its trailing line
// ends. An empty file is an error wrapping ErrEmpty. When the file is a
// regular file that its group or others may read, warn (if not nil) gets
// a message naming the file and its mode. The mode is taken from the open
// file, so the warning is about the file that was read.
func Read(name string, warn func(msg string)) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err // a *PathError: it names the file
	}
	defer f.Close()
	if warn != nil {
		if fi, err := f.Stat(); err == nil {
			if msg := ModeWarning(name, fi.Mode()); msg != "" {
				warn(msg)
			}
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	p := bytes.TrimRight(b, "\r\n")
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrEmpty, name)
	}
	return p, nil
}

// ModeWarning returns the warning for a password file name of mode m, or
// "" when only its owner may read it. Only regular files are judged: a
// pipe (--password-file <(pass show x)) or a device has no mode worth
// warning about.
func ModeWarning(name string, m fs.FileMode) string {
	if !m.IsRegular() {
		return ""
	}
	var who string
	switch m.Perm() & 0o044 {
	case 0:
		return ""
	case 0o040:
		who = "its group"
	case 0o004:
		who = "others"
	default:
		who = "its group and others"
	}
	return fmt.Sprintf("password file %s can be read by %s (mode %04o); make it private: chmod 600 %s", name, who, m.Perm(), name)
}

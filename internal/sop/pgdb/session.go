package pgdb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// Session is a read-only repeatable-read transaction on one database whose
// snapshot is exported (pg_export_snapshot): pg_dump --snapshot dumps
// exactly the data the session's queries see, so that a check recorded at
// backup time describes the dump, however busy the database is.
type Session struct {
	// Snapshot is the exported snapshot's name, for pg_dump --snapshot.
	Snapshot string

	db     string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *lockedBuffer
	marker string
}

// lockedBuffer is psql's standard error, read while psql writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Begin opens a Session on database db: psql reads the statements from a
// pipe and each result ends at a marker line it echoes.
func (c Conn) Begin(ctx context.Context, db string) (*Session, error) {
	var m [8]byte
	if _, err := rand.Read(m[:]); err != nil {
		return nil, err
	}
	s := &Session{db: db, marker: "cadang-end-" + hex.EncodeToString(m[:]), stderr: &lockedBuffer{}}
	s.cmd = c.Command(ctx, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", DBArg(db))
	s.cmd.Stderr = s.stderr
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.out = bufio.NewReader(stdout)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("database %s: psql: %w", db, err)
	}
	if _, err := s.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"); err != nil {
		s.Close()
		return nil, err
	}
	if s.Snapshot, err = s.exec("SELECT pg_export_snapshot()"); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Query runs sql in the session's snapshot and returns its result as
// Conn.Query does. An error in the query ends the session (psql stops).
func (s *Session) Query(sql string) (string, error) { return s.exec(sql) }

// OneStatement returns sql without its trailing ";", or an error if it is
// more than one statement or holds a backslash: a check query runs inside
// the session's read-only transaction, written to psql's standard input,
// where a ";" would let "COMMIT; ..." end that transaction and run the
// rest outside it, and a backslash starts a psql command (\! runs a
// shell command). Setting default_transaction_read_only for the session
// would not do instead: the next statement may SET it off.
func OneStatement(sql string) (string, error) {
	q := strings.TrimSpace(sql)
	for strings.HasSuffix(q, ";") {
		q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	}
	switch {
	case q == "":
		return "", fmt.Errorf("query %q: empty", sql)
	case strings.Contains(q, ";"):
		return "", fmt.Errorf("query %q: a check query must be one statement, without \";\" except at its end", sql)
	case strings.Contains(q, `\`):
		return "", fmt.Errorf("query %q: a check query must not contain a backslash (psql takes it for a command)", sql)
	}
	return q, nil
}

func (s *Session) exec(sql string) (string, error) {
	sql, err := OneStatement(sql)
	if err != nil {
		return "", fmt.Errorf("database %s: %w", s.db, err)
	}
	if _, err := fmt.Fprintf(s.stdin, "%s;\n\\echo %s\n", sql, s.marker); err != nil {
		return "", s.failed(err)
	}
	var lines []string
	for {
		l, err := s.out.ReadString('\n')
		if err != nil {
			return "", s.failed(err)
		}
		l = strings.TrimRight(l, "\n")
		if l == s.marker {
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, l)
	}
}

// failed describes psql having stopped: its standard error says why.
func (s *Session) failed(err error) error {
	s.stdin.Close()
	werr := s.cmd.Wait()
	if msg := lastLines(s.stderr.String(), 10); msg != "" {
		return fmt.Errorf("database %s: psql: %s", s.db, msg)
	}
	if werr != nil {
		err = werr
	}
	return fmt.Errorf("database %s: psql: %w", s.db, err)
}

// Close ends the transaction and psql.
func (s *Session) Close() error {
	if s.cmd.ProcessState != nil {
		return nil
	}
	_, _ = io.WriteString(s.stdin, "COMMIT;\n")
	s.stdin.Close()
	err := s.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("database %s: psql: %s", s.db, lastLines(s.stderr.String(), 10))
	}
	return err
}

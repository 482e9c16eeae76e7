package pgdb

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/internal/testpg"
)

func TestOneStatement(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT count(*) FROM tender":       "SELECT count(*) FROM tender",
		" SELECT 1 ; \n":                    "SELECT 1",
		"SELECT 1;;":                        "SELECT 1",
		"SELECT max(id)\nFROM lelang.paket": "SELECT max(id)\nFROM lelang.paket",
	} {
		if got, err := OneStatement(q); err != nil || got != want {
			t.Errorf("OneStatement(%q) = %q, %v", q, got, err)
		}
	}
	for _, q := range []string{"COMMIT; DROP TABLE tender", "SELECT 1; SELECT 2;", "SELECT 1 \\! id", "SELECT 1\n\\o /tmp/x", "", " ; "} {
		if got, err := OneStatement(q); err == nil {
			t.Errorf("OneStatement(%q) = %q, want an error", q, got)
		}
	}
}

// TestSessionStaysReadOnly: a check query cannot end the session's
// read-only transaction ("COMMIT; CREATE ...") nor run a psql command.
func TestSessionStaysReadOnly(t *testing.T) {
	s := testpg.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := Conn{Bin: s.Bin, Host: s.Host, Port: s.Port, User: s.User}
	sess, err := c.Begin(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Query("COMMIT; CREATE TABLE escaped (i int)"); err == nil {
		t.Error("a query with COMMIT; ran")
	}
	if _, err := sess.Query("SELECT 1 \\! touch /tmp/cadang-escaped"); err == nil {
		t.Error("a query with a psql command ran")
	}
	sess.Close()
	if got := strings.TrimSpace(s.Exec(t, "postgres", "SELECT count(*) FROM pg_tables WHERE tablename = 'escaped'")); got != "0" {
		t.Errorf("the session's query created a table outside its read-only transaction (%s)", got)
	}
}

package rest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo/backend"
)

// A save that the server refuses with 403 (it, or a proxy before it,
// lets this user read only; or an append-only server's refusal) is
// read-only storage, backend.ErrReadOnly, with the server's answer as the
// detail; a 401 (a wrong password) is not.
func TestSaveRefusedIsReadOnly(t *testing.T) {
	for _, c := range []struct {
		code     int
		body     string
		readOnly bool
		detail   string
	}{
		{http.StatusForbidden, "writes are not allowed here", true, "server answered 403 Forbidden: writes are not allowed here"},
		{http.StatusForbidden, AppendOnlyPrefix + "overwriting is refused", true, "is append-only: overwriting is refused"},
		{http.StatusUnauthorized, "", false, ""},
		{http.StatusBadRequest, "bad name", false, ""},
	} {
		b := newTestBackend(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, c.body, c.code)
		})
		err := b.Save(context.Background(), backend.Handle{Type: backend.LockFile, Name: testName}, []byte("lock"))
		if err == nil || errors.Is(err, backend.ErrReadOnly) != c.readOnly {
			t.Errorf("%d %q: want read-only %v, got %v", c.code, c.body, c.readOnly, err)
			continue
		}
		if d, ok := backend.ReadOnlyDetail(err); c.readOnly && (!ok || !strings.Contains(d.Error(), c.detail)) {
			t.Errorf("%d %q: detail %v, want it to hold %q", c.code, c.body, d, c.detail)
		}
	}
}

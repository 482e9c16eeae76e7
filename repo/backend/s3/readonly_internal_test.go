package s3

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend"
)

// A put that the bucket refuses with AccessDenied (a policy, or a key,
// that lets this user read only) is read-only storage, backend.ErrReadOnly,
// with the server's answer as the detail, refused at once, not retried.
// Any other refusal is not.
func TestPutDeniedIsReadOnly(t *testing.T) {
	for _, code := range []string{"AccessDenied", "InvalidArgument"} {
		var puts int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			switch r.Method {
			case http.MethodHead:
				w.WriteHeader(http.StatusNotFound)
			case http.MethodPut:
				puts++
				status := http.StatusForbidden
				if code != "AccessDenied" {
					status = http.StatusBadRequest
				}
				w.WriteHeader(status)
				_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>Access Denied.</Message><Resource>/bkt/repo/locks/x</Resource><RequestId>1</RequestId></Error>`)
			default:
				w.WriteHeader(http.StatusNotImplemented)
			}
		}))
		b, err := newBackend(Config{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: "bkt", Prefix: "repo", Region: "us-east-1",
			AccessKey: "a", SecretKey: "s", RetryTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = b.Save(context.Background(), backend.Handle{Type: backend.LockFile, Name: strings.Repeat("ab", 32)}, []byte("lock"))
		srv.Close()
		if want := code == "AccessDenied"; err == nil || errors.Is(err, backend.ErrReadOnly) != want {
			t.Errorf("%s: want read-only %v, got %v", code, want, err)
			continue
		}
		if d, ok := backend.ReadOnlyDetail(err); code == "AccessDenied" && (!ok || !strings.Contains(d.Error(), "Access Denied")) {
			t.Errorf("%s: detail %v, want the server's message", code, d)
		}
		if code == "AccessDenied" && puts != 1 {
			t.Errorf("an AccessDenied put was sent %d times", puts)
		}
	}
}

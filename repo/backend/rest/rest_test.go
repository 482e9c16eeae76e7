package rest

// The client's retries and error messages, against a fake server that
// fails on purpose. The real server and the conformance suite are tested
// in package server.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lpse/cadang/repo/backend"
)

const testName = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func testConfig(srv *httptest.Server) Config {
	return Config{Scheme: "http", Host: strings.TrimPrefix(srv.URL, "http://"), Path: "/r",
		User: "u", Password: "hunter2", RetryTimeout: 5 * time.Second}
}

func newTestBackend(t *testing.T, h http.HandlerFunc) *Backend {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b, err := newBackend(testConfig(srv))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRetryTransient: 503s and dropped connections are retried until the
// server answers.
func TestRetryTransient(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 10_000)
	var calls atomic.Int32
	b := newTestBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			// Announce the whole body, send half, hang up.
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(data[:len(data)/2])
			panic(http.ErrAbortHandler)
		case 3:
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
		default:
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			_, _ = w.Write(data)
		}
	})
	got, err := b.Load(context.Background(), backend.Handle{Type: backend.PackFile, Name: testName}, 0, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Load: %d bytes, %v", len(got), err)
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

// TestGiveUp: a server that keeps failing gives, after the retry time, an
// error naming the backend, the file and the last failure, not the password.
func TestGiveUp(t *testing.T) {
	b := newTestBackend(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "disk on fire", http.StatusInternalServerError)
	})
	b.cfg.RetryTimeout = 500 * time.Millisecond
	h := backend.Handle{Type: backend.IndexFile, Name: testName}
	err := b.Save(context.Background(), h, []byte("x"))
	if err == nil {
		t.Fatal("Save succeeded")
	}
	for _, want := range []string{"save index/" + testName, "rest:http://u@", "giving up after", "500 Internal Server Error: disk on fire"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestPermanentNotRetried: 4xx answers fail at once.
func TestPermanentNotRetried(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict} {
		var calls atomic.Int32
		b := newTestBackend(t, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, AppendOnlyPrefix+"no", code)
		})
		err := b.Save(context.Background(), backend.Handle{Type: backend.SnapshotFile, Name: testName}, []byte("x"))
		if err == nil || calls.Load() != 1 {
			t.Errorf("%d: %d requests, error %v", code, calls.Load(), err)
		}
	}
}

// TestShortBodyIsNotShortFile: a range the server cuts short is retried;
// only a 416 means the file is shorter.
func TestShortBodyIsNotShortFile(t *testing.T) {
	var calls atomic.Int32
	b := newTestBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(make([]byte, 10))
			panic(http.ErrAbortHandler)
		}
		http.Error(w, "range 0+100 beyond end of 50-byte file", http.StatusRequestedRangeNotSatisfiable)
	})
	_, err := b.Load(context.Background(), backend.Handle{Type: backend.PackFile, Name: testName}, 0, 100)
	if !errors.Is(err, io.ErrUnexpectedEOF) || calls.Load() != 2 {
		t.Errorf("%d requests, error %v", calls.Load(), err)
	}
}

// TestRangeIgnoredNotRetried: a whole file sent back for a range request
// (a proxy that drops the Range header does it every time) fails at once,
// naming the likely cause, instead of being asked again for minutes.
func TestRangeIgnoredNotRetried(t *testing.T) {
	var calls atomic.Int32
	b := newTestBackend(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write(make([]byte, 1000))
	})
	_, err := b.Load(context.Background(), backend.Handle{Type: backend.PackFile, Name: testName}, 100, 50)
	if err == nil || !strings.Contains(err.Error(), "not 206") || !strings.Contains(err.Error(), "Range header") || calls.Load() != 1 {
		t.Errorf("%d requests, error %v", calls.Load(), err)
	}
}

// TestRemoveRetried: a DELETE whose answer was lost, retried, finds the
// file gone: that is success.
func TestRemoveRetried(t *testing.T) {
	var calls atomic.Int32
	b := newTestBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
		http.Error(w, "not found", http.StatusNotFound)
	})
	if err := b.Remove(context.Background(), backend.Handle{Type: backend.LockFile, Name: testName}); err != nil {
		t.Errorf("Remove: %v", err)
	}
}

// TestUnreachable: nothing listening gives a clear error within the
// retry time.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Open(context.Background(), Config{Scheme: "http", Host: addr, Path: "/r", RetryTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "rest:http://"+addr+"/r") {
		t.Errorf("Open of an unreachable server: %v", err)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"spse", "SPSE-2024", "a", "lpse_kab.bandung", strings.Repeat("a", 100)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", ".x", "-x", "a/b", "a b", "a%2f", strings.Repeat("a", 101), "é"} {
		if err := ValidName(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// An older server's 400 for a file type added since matches
// backend.ErrUnknownType; no other answer does.
func TestStatusErrorUnknownType(t *testing.T) {
	old := &statusError{code: http.StatusBadRequest, body: `bad path "/r/forgotten/": unknown file type "forgotten"`}
	if !errors.Is(old, backend.ErrUnknownType) {
		t.Error("the older server's answer does not match ErrUnknownType")
	}
	for _, e := range []*statusError{{code: http.StatusBadRequest, body: "bad name"}, {code: http.StatusInternalServerError, body: "unknown file type"}} {
		if errors.Is(e, backend.ErrUnknownType) {
			t.Errorf("%v matches ErrUnknownType", e)
		}
	}
}

// TestLoadMaxRefusesAnnouncedSize: a server that answers a whole-file GET
// with a body larger than the bound (it announces 3 GiB and would send
// them) is refused on its Content-Length, before the client allocates or
// reads the body, and not asked again.
func TestLoadMaxRefusesAnnouncedSize(t *testing.T) {
	var calls atomic.Int32
	var sent atomic.Int64
	b := newTestBackend(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Length", fmt.Sprint(int64(3)<<30))
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 64<<10)
		for range 16 { // 1 MiB at most: the client hangs up long before
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	h := backend.Handle{Type: backend.SnapshotFile, Name: testName}
	_, err := b.LoadMax(context.Background(), h, 1<<20)
	var tl *backend.TooLargeError
	if !errors.As(err, &tl) || tl.Size != 3<<30 || tl.Max != 1<<20 || !strings.Contains(err.Error(), "snapshots/"+testName) {
		t.Fatalf("LoadMax: want a TooLargeError naming the file, got %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d requests, want 1", calls.Load())
	}
}

package server

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Htpasswd holds the users of an htpasswd file. Only bcrypt entries are
// accepted (`htpasswd -B`, which writes $2y$; $2a$ and $2b$ too): the
// other kinds htpasswd can write (MD5 "$apr1$", SHA-1 "{SHA}", crypt, plain
// text) are fast to guess offline, and a file with one is refused when it
// is read, naming the line.
type Htpasswd struct {
	users map[string][]byte
	// bcrypt costs tens of milliseconds by design, and a client sends its
	// password with every request: a password that matched once is
	// remembered (as a SHA-256 of user, password and entry), so only
	// wrong passwords pay the cost again.
	mu   sync.Mutex
	good map[[32]byte]bool
	// cpu bounds the bcrypt comparisons running at once, so that a flood
	// of wrong passwords cannot take every core.
	cpu chan struct{}
}

// ReadHtpasswd reads the htpasswd file at path.
func ReadHtpasswd(path string) (*Htpasswd, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	defer f.Close()
	h, err := ParseHtpasswd(f)
	if err != nil {
		return nil, fmt.Errorf("htpasswd %s: %w", path, err)
	}
	return h, nil
}

// ParseHtpasswd reads lines "USER:HASH"; empty lines and lines starting
// with '#' are skipped.
func ParseHtpasswd(r io.Reader) (*Htpasswd, error) {
	h := &Htpasswd{users: map[string][]byte{}, good: map[[32]byte]bool{}, cpu: make(chan struct{}, max(1, runtime.NumCPU()/2))}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("line %d: want USER:HASH", n)
		}
		if _, dup := h.users[user]; dup {
			return nil, fmt.Errorf("line %d: user %q appears twice", n, user)
		}
		if !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$") {
			return nil, fmt.Errorf("line %d: user %q: only bcrypt entries ($2y$, $2b$, $2a$; made with htpasswd -B) are accepted", n, user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("line %d: user %q: bad bcrypt entry: %w", n, user, err)
		}
		h.users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(h.users) == 0 {
		return nil, fmt.Errorf("no users")
	}
	return h, nil
}

// dummyHash is compared against for unknown users, so that a wrong user
// takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)
	return h
})

// Check reports whether user and password match an entry.
func (h *Htpasswd) Check(user, password string) bool {
	hash, known := h.users[user]
	if !known {
		hash = dummyHash()
	}
	d := sha256.New()
	for _, s := range [][]byte{[]byte(user), {0}, []byte(password), {0}, hash} {
		d.Write(s)
	}
	var key [32]byte
	d.Sum(key[:0])
	h.mu.Lock()
	ok := h.good[key]
	h.mu.Unlock()
	if ok {
		return known
	}
	h.cpu <- struct{}{}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	<-h.cpu
	if err != nil || !known {
		return false
	}
	h.mu.Lock()
	if len(h.good) > 10_000 { // bounded: a cache, not a record
		clear(h.good)
	}
	h.good[key] = true
	h.mu.Unlock()
	return true
}

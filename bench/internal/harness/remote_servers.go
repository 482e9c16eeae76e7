package harness

// The servers of the remote-backend benchmark (bench/cmd/remotebench):
// versitygw for S3 and a throwaway OpenSSH sshd for SFTP, both on loopback,
// started and stopped by the harness (recipes of scripts/test.sh and
// ../shared/test-servers.md), and how much CPU each used.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// VersitygwModule is what -install builds when no versitygw is found.
const VersitygwModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// The S3 credentials and bucket of the benchmark's versitygw.
const (
	s3Access = "cadangbench"
	s3Secret = "cadangbenchsecret"
	s3Bucket = "bench"
)

// server is a server process the harness started.
type server struct {
	name string
	addr string // 127.0.0.1:PORT
	pid  int
	cmd  *exec.Cmd // versitygw; nil for sshd (it daemonises; stopped by pid)
	dir  string    // its state: data, keys, logs
	data string    // where repositories are stored (the bucket directory for S3)

	// sshd only
	user       string
	identity   string // the client's private key
	hostPubKey string // "ssh-ed25519 AAAA..."
}

// freePort returns a loopback port nobody listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until addr accepts connections, the process pid
// is gone, or timeout.
func waitListening(addr string, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if pid > 0 && syscall.Kill(pid, 0) != nil {
			return fmt.Errorf("process %d exited", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening after %v", addr, timeout)
}

// findBinary returns name found in binDir, on PATH or in $(go env
// GOPATH)/bin, or "".
func findBinary(name, binDir string) string {
	if p := filepath.Join(binDir, name); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		if p := filepath.Join(strings.TrimSpace(string(out)), "bin", name); isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// versitygwBinary finds versitygw, or installs VersitygwModule into
// binDir when install is set.
func (o *Options) versitygwBinary(ctx context.Context, path, binDir string, install bool) (string, error) {
	if path != "" {
		if !isExecutable(path) {
			return "", fmt.Errorf("versitygw %s: not an executable", path)
		}
		return filepath.Abs(path)
	}
	if p := findBinary("versitygw", binDir); p != "" {
		return p, nil
	}
	if !install {
		return "", errors.New("versitygw not found (-install runs go install " + VersitygwModule + ")")
	}
	o.logf("installing versitygw: go install %s", VersitygwModule)
	cmd := exec.CommandContext(ctx, "go", "install", VersitygwModule)
	cmd.Env = append(os.Environ(), "GOBIN="+binDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v: %s", VersitygwModule, err, tail(string(out), 3))
	}
	return filepath.Join(binDir, "versitygw"), nil
}

// startVersitygw starts versitygw's posix gateway over dir/data on a free
// loopback port, with the bucket created (as a directory: the posix
// backend keeps a bucket's metadata in user xattrs, which dir's file
// system must support).
func startVersitygw(ctx context.Context, bin, dir string) (*server, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	probe := filepath.Join(data, ".xattr-probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		return nil, err
	}
	err := unix.Setxattr(probe, "user.cadang", []byte("1"), 0)
	os.Remove(probe)
	if err != nil {
		return nil, fmt.Errorf("versitygw needs user xattrs in %s: %w", data, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "--access", s3Access, "--secret", s3Secret, "--port", addr, "posix", data)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	s := &server{name: "versitygw", addr: addr, pid: cmd.Process.Pid, cmd: cmd, dir: dir, data: filepath.Join(data, s3Bucket)}
	go cmd.Wait() // reaps it when stopped
	if err := waitListening(addr, s.pid, 20*time.Second); err != nil {
		s.stop()
		b, _ := os.ReadFile(filepath.Join(dir, "versitygw.log"))
		return nil, fmt.Errorf("versitygw: %v: %s", err, tail(string(b), 3))
	}
	return s, nil
}

// startSSHD starts Debian's /usr/sbin/sshd with a fresh host key and
// client key in dir, on a free loopback port, serving SFTP with
// internal-sftp. Repositories go under dir/data.
func startSSHD(ctx context.Context, dir string) (*server, error) {
	if !isExecutable("/usr/sbin/sshd") {
		return nil, errors.New("/usr/sbin/sshd not found (apt-get install -y openssh-server)")
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	for _, k := range []string{"host_ed25519", "client_ed25519"} {
		os.Remove(filepath.Join(dir, k))
		os.Remove(filepath.Join(dir, k+".pub"))
		if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ssh-keygen %s: %v: %s", k, err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "client_ed25519.pub"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		return nil, err
	}
	hostPub, err := os.ReadFile(filepath.Join(dir, "host_ed25519.pub"))
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// StrictModes no: the directory may sit below a world-writable /tmp,
	// whose ownership sshd would otherwise refuse for authorized_keys.
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %[2]s/host_ed25519
PidFile %[2]s/sshd.pid
AuthorizedKeysFile %[2]s/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100
MaxSessions 100
Subsystem sftp internal-sftp
`, port, dir)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	pidFile := filepath.Join(dir, "sshd.pid")
	os.Remove(pidFile)
	if out, err := exec.CommandContext(ctx, "/usr/sbin/sshd", "-f", filepath.Join(dir, "sshd_config"), "-E", filepath.Join(dir, "sshd.log")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sshd: %v: %s", err, out)
	}
	s := &server{name: "sshd", addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, data: filepath.Join(dir, "data"),
		user: u.Username, identity: filepath.Join(dir, "client_ed25519"), hostPubKey: strings.TrimSpace(string(hostPub))}
	for i := 0; i < 100 && s.pid == 0; i++ {
		if b, err := os.ReadFile(pidFile); err == nil {
			s.pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if s.pid == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if s.pid == 0 {
		return nil, fmt.Errorf("sshd wrote no pid file %s", pidFile)
	}
	if err := waitListening(s.addr, s.pid, 10*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("sshd: %w", err)
	}
	return s, nil
}

// knownHosts writes a known_hosts file that vouches for the sshd's host
// key on each of addrs (the server's own port and the delay proxy's).
func (s *server) knownHosts(path string, addrs ...string) error {
	var b strings.Builder
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "[%s]:%s %s\n", host, port, s.hostPubKey)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// stop ends the server (SIGTERM, then SIGKILL after 5 s).
func (s *server) stop() {
	if s == nil || s.pid <= 0 {
		return
	}
	syscall.Kill(s.pid, syscall.SIGTERM)
	for i := 0; i < 100; i++ {
		if syscall.Kill(s.pid, 0) != nil {
			return
		}
		if s.cmd == nil && !pidAlive(s.pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(s.pid, syscall.SIGKILL)
}

// pidAlive is false for a process that is gone or a zombie.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// cpuSeconds is the CPU time (user + system) of the server process and of
// its children that have ended and been waited for: for sshd, the
// per-connection processes that did the SFTP work.
func (s *server) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0
	}
	// Fields after the command name: state is field 3; utime, stime,
	// cutime, cstime are fields 14-17.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 15 {
		return 0
	}
	var ticks float64
	for _, x := range f[11:15] {
		v, _ := strconv.ParseFloat(x, 64)
		ticks += v
	}
	return ticks / 100 // USER_HZ is 100 on Linux
}

// waitChildren waits (at most 5 s) until the server has no child
// processes left, so that cpuSeconds includes the sessions of the command
// that just ended (an sshd session ends a little after its client).
func (s *server) waitChildren() {
	path := fmt.Sprintf("/proc/%d/task/%d/children", s.pid, s.pid)
	for i := 0; i < 100; i++ {
		b, err := os.ReadFile(path)
		if err != nil || strings.TrimSpace(string(b)) == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// selfCPU is this process's own CPU time (not its children's): during a
// step it is the delay proxies' work, the harness being idle.
func selfCPU() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// settleBriefly is settle with a 5 s limit instead of 30: on a machine
// that others share the disk may never go quiet, and a remote run has
// some thirty steps. It syncs, then waits for half a second without
// writes.
func settleBriefly() {
	syscall.Sync()
	deadline := time.Now().Add(5 * time.Second)
	last, quiet := sectorsWritten(), 0
	for time.Now().Before(deadline) && quiet < 5 {
		time.Sleep(100 * time.Millisecond)
		cur := sectorsWritten()
		if cur == last {
			quiet++
		} else {
			quiet = 0
		}
		last = cur
	}
}

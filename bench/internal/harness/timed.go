package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Timing is what Timed measured of one command: wall and CPU seconds, and
// the peak RSS in KiB (0 without GNU time).
type Timing struct {
	Wall, User, Sys float64
	RSSKiB          int64
}

// Timed runs argv with env under GNU time when there is one, for the
// child's own peak RSS, and returns its timing. Without GNU time the CPU
// times come from wait4. A command that fails is an error naming it, with
// its standard error.
func Timed(env []string, argv ...string) (Timing, error) {
	var m Timing
	tf, err := os.CreateTemp("", "cadang-bench-time")
	if err != nil {
		return m, err
	}
	tf.Close()
	defer os.Remove(tf.Name())
	run := argv
	if gt := findGNUTime(); gt != "" {
		run = append([]string{gt, "-f", "%e %U %S %M", "-o", tf.Name()}, argv...)
	}
	cmd := exec.Command(run[0], run[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return m, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, stderr.String())
	}
	m.Wall = time.Since(start).Seconds()
	if b, err := os.ReadFile(tf.Name()); err == nil && len(b) > 0 {
		// GNU time may put a "Command exited ..." line first.
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		fmt.Sscan(lines[len(lines)-1], &m.Wall, &m.User, &m.Sys, &m.RSSKiB)
	} else {
		m.User = cmd.ProcessState.UserTime().Seconds()
		m.Sys = cmd.ProcessState.SystemTime().Seconds()
	}
	return m, nil
}

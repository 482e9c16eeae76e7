package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Step is one timed operation of the benchmark.
type Step string

// The steps, in the order each tool runs them.
const (
	StepInit    Step = "init"
	StepBackup  Step = "first backup"
	StepRerun   Step = "unchanged re-run"
	StepDay1    Step = "day-1 backup"
	StepRestore Step = "restore"
	StepCheck   Step = "check --read-data"
)

// Steps lists the steps in order.
var Steps = []Step{StepInit, StepBackup, StepRerun, StepDay1, StepRestore, StepCheck}

// toolEnv is what a tool's commands need to know.
type toolEnv struct {
	bin     string // the executable
	repo    string // repository directory
	home    string // private HOME (caches, config)
	src     string // the dataset root (absolute)
	restore string // restore target (exists, empty)
}

// A Tool knows how to run each step.
type Tool struct {
	Name string
	// Settings describes the non-default choices, for the report.
	Settings string
	bin      string
	version  string
	cadang   bool // a cadang build: gets Options.CadangEnv
	// env returns extra environment variables.
	env func(e *toolEnv) []string
	// cmds returns the command lines for a step (run in order, measured
	// together). dir, if not empty, is the working directory.
	cmds func(e *toolEnv, s Step) (argvs [][]string, dir string, err error)
}

// Password used for every benchmark repository.
const benchPassword = "cadang-bench-password"

func resticTool(bin string) *Tool {
	return &Tool{
		Name: "restic", bin: bin,
		Settings: "defaults: repository v2, compression auto (zstd); cache in a private HOME",
		env: func(e *toolEnv) []string {
			return []string{"RESTIC_PASSWORD=" + benchPassword, "RESTIC_REPOSITORY=" + e.repo, "RESTIC_CACHE_DIR=" + filepath.Join(e.home, ".cache", "restic")}
		},
		cmds: func(e *toolEnv, s Step) ([][]string, string, error) {
			switch s {
			case StepInit:
				return [][]string{{e.bin, "init"}}, "", nil
			case StepBackup, StepRerun, StepDay1:
				return [][]string{{e.bin, "backup", "--quiet", e.src}}, "", nil
			case StepRestore:
				return [][]string{{e.bin, "restore", "latest", "--target", e.restore}}, "", nil
			case StepCheck:
				return [][]string{{e.bin, "check", "--read-data"}}, "", nil
			}
			return nil, "", fmt.Errorf("unknown step %q", s)
		},
	}
}

func borgTool(bin, compression, encryption string) *Tool {
	archive := map[Step]string{StepBackup: "::day0", StepRerun: "::day0-rerun", StepDay1: "::day1"}
	return &Tool{
		Name: "borg", bin: bin,
		Settings: fmt.Sprintf("--encryption %s, --compression %s (borg's default is lz4)", encryption, compression),
		env: func(e *toolEnv) []string {
			return []string{"BORG_PASSPHRASE=" + benchPassword, "BORG_REPO=" + e.repo, "BORG_BASE_DIR=" + e.home,
				"BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes", "BORG_RELOCATED_REPO_ACCESS_IS_OK=yes"}
		},
		cmds: func(e *toolEnv, s Step) ([][]string, string, error) {
			switch s {
			case StepInit:
				return [][]string{{e.bin, "init", "--encryption", encryption}}, "", nil
			case StepBackup, StepRerun, StepDay1:
				return [][]string{{e.bin, "create", "--compression", compression, archive[s], e.src}}, "", nil
			case StepRestore:
				return [][]string{{e.bin, "extract", archive[StepDay1]}}, e.restore, nil
			case StepCheck:
				return [][]string{{e.bin, "check", "--verify-data"}}, "", nil
			}
			return nil, "", fmt.Errorf("unknown step %q", s)
		},
	}
}

// kopiaTool is untested here (no kopia binary on the development machine).
func kopiaTool(bin string) *Tool {
	return &Tool{
		Name: "kopia", bin: bin,
		Settings: "filesystem repository, global policy --compression zstd",
		env: func(e *toolEnv) []string {
			return []string{"KOPIA_PASSWORD=" + benchPassword, "KOPIA_CONFIG_PATH=" + filepath.Join(e.home, "kopia.config"),
				"KOPIA_CHECK_FOR_UPDATES=false", "KOPIA_LOG_DIR=" + filepath.Join(e.home, "logs"),
				"KOPIA_CACHE_DIRECTORY=" + filepath.Join(e.home, ".cache", "kopia")}
		},
		cmds: func(e *toolEnv, s Step) ([][]string, string, error) {
			switch s {
			case StepInit:
				return [][]string{
					{e.bin, "repository", "create", "filesystem", "--path", e.repo},
					{e.bin, "policy", "set", "--global", "--compression", "zstd"},
				}, "", nil
			case StepBackup, StepRerun, StepDay1:
				return [][]string{{e.bin, "snapshot", "create", e.src}}, "", nil
			case StepRestore:
				id, err := kopiaLatest(e)
				if err != nil {
					return nil, "", err
				}
				return [][]string{{e.bin, "snapshot", "restore", id, filepath.Join(e.restore, "kopia")}}, "", nil
			case StepCheck:
				return [][]string{{e.bin, "snapshot", "verify", "--verify-files-percent=100"}}, "", nil
			}
			return nil, "", fmt.Errorf("unknown step %q", s)
		},
	}
}

// kopiaLatest returns the root object of the newest snapshot of e.src (not
// timed).
func kopiaLatest(e *toolEnv) (string, error) {
	cmd := exec.Command(e.bin, "snapshot", "list", "--json", e.src)
	cmd.Env = append(os.Environ(), kopiaTool(e.bin).env(e)...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("kopia snapshot list: %w", err)
	}
	var snaps []struct {
		RootEntry struct {
			Obj string `json:"obj"`
		} `json:"rootEntry"`
	}
	if err := json.Unmarshal(out, &snaps); err != nil {
		return "", fmt.Errorf("kopia snapshot list: %w", err)
	}
	if len(snaps) == 0 {
		return "", errors.New("kopia snapshot list: no snapshots")
	}
	return snaps[len(snaps)-1].RootEntry.Obj, nil
}

func cadangTool(bin string) *Tool {
	return &Tool{
		Name: "cadang", bin: bin, cadang: true,
		Settings: "defaults",
		env: func(e *toolEnv) []string {
			return []string{"CADANG_PASSWORD=" + benchPassword, "CADANG_LOG=" + filepath.Join(e.home, "runlog.jsonl")}
		},
		cmds: func(e *toolEnv, s Step) ([][]string, string, error) {
			switch s {
			case StepInit:
				return [][]string{{e.bin, "-r", e.repo, "init"}}, "", nil
			case StepBackup, StepRerun, StepDay1:
				return [][]string{{e.bin, "-r", e.repo, "backup", "--quiet", e.src}}, "", nil
			case StepRestore:
				return [][]string{{e.bin, "-r", e.repo, "restore", "latest", "--target", e.restore}}, "", nil
			case StepCheck:
				return [][]string{{e.bin, "-r", e.repo, "check", "--read-data"}}, "", nil
			}
			return nil, "", fmt.Errorf("unknown step %q", s)
		},
	}
}

// toolVersion runs `bin args...` and returns the first line of its output.
func toolVersion(bin string, args ...string) string {
	out, err := exec.Command(bin, args...).CombinedOutput()
	s := strings.TrimSpace(string(bytes.SplitN(out, []byte("\n"), 2)[0]))
	if err != nil {
		return "unknown"
	}
	return s
}

package repo

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// systemKDFMemory returns, in KiB, how much memory a key derivation may
// ask for here: what the system reports available (Linux: MemAvailable,
// and the cgroup's memory.max less what it uses, whichever is less), or 0
// where neither can be read (no limit). A key file is public, and anyone
// who can upload a file can add one that asks for the most the format
// allows (4 GiB): tried with a wrong password, after every genuine key
// file, it would push a small server into the OOM killer.
func systemKDFMemory() uint64 {
	var limit uint64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemAvailable:" {
				if kib, err := strconv.ParseUint(f[1], 10, 64); err == nil {
					limit = kib
				}
			}
		}
	}
	max, err1 := os.ReadFile("/sys/fs/cgroup/memory.max")
	cur, err2 := os.ReadFile("/sys/fs/cgroup/memory.current")
	if err1 == nil && err2 == nil {
		m, errm := strconv.ParseUint(strings.TrimSpace(string(max)), 10, 64) // "max" for none fails here
		c, errc := strconv.ParseUint(strings.TrimSpace(string(cur)), 10, 64)
		if errm == nil && errc == nil && m > c {
			if free := (m - c) >> 10; limit == 0 || free < limit {
				limit = free
			}
		}
	}
	return limit
}

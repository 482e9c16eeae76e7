package repo

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"strconv"
	"strings"
)

// kdfMemoryFloor is the argon2id memory, in KiB, that unlock always tries,
// whatever the system reports free: four times a writer's default. A
// report of little free memory may be wrong (memory a cgroup could
// reclaim), and no genuine key must be refused for it; junk asking for
// gigabytes is what the limit is for.
const kdfMemoryFloor = 256 << 10

// systemKDFMemory returns, in KiB, how much memory a key derivation may
// ask for here: what the system reports available (Linux MemAvailable),
// or less where the process's cgroup leaves less (its limit, or a parent
// cgroup's, less the memory in use but for page cache it can reclaim), or
// 0 where none of that can be read (no limit). A key file is public, and
// anyone who can upload a file can add one that asks for the most the
// format allows (4 GiB): tried with a wrong password, after every genuine
// key file, it would push a small server into the OOM killer.
func systemKDFMemory() uint64 {
	limit := memAvailable(readFile("/proc/meminfo"))
	if free, ok := cgroupFree(readFile("/proc/self/cgroup"), readFile); ok && (limit == 0 || free < limit) {
		limit = free
	}
	return limit
}

func readFile(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// memAvailable returns MemAvailable from /proc/meminfo, in KiB, or 0.
func memAvailable(meminfo []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemAvailable:" {
			if kib, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				return kib
			}
		}
	}
	return 0
}

// cgroupFree returns, in KiB, the least memory any cgroup from the
// process's own up to the root leaves it: limit less what is in use but
// reclaimable file cache. It reads cgroup v2 (memory.max, memory.current,
// memory.stat's inactive_file) and v1 (memory.limit_in_bytes,
// memory.usage_in_bytes, memory.stat's total_inactive_file). ok is false
// where no limit applies or nothing can be read.
func cgroupFree(self []byte, read func(string) []byte) (free uint64, ok bool) {
	for _, line := range strings.Split(string(self), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var root, limitFile, usageFile, inactive string
		switch {
		case parts[0] == "0" && parts[1] == "": // v2
			root, limitFile, usageFile, inactive = "/sys/fs/cgroup", "memory.max", "memory.current", "inactive_file"
		case strings.Contains(","+parts[1]+",", ",memory,"): // v1
			root, limitFile, usageFile, inactive = "/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"
		default:
			continue
		}
		for dir := path.Clean("/" + parts[2]); ; dir = path.Dir(dir) {
			p := path.Join(root, dir)
			m, errm := strconv.ParseUint(strings.TrimSpace(string(read(path.Join(p, limitFile)))), 10, 64) // "max": none
			c, errc := strconv.ParseUint(strings.TrimSpace(string(read(path.Join(p, usageFile)))), 10, 64)
			if errm == nil && errc == nil && m < 1<<60 {
				used := c
				if f := statValue(read(path.Join(p, "memory.stat")), inactive); f < used {
					used -= f
				}
				left := uint64(0)
				if m > used {
					left = (m - used) >> 10
				}
				if !ok || left < free {
					free, ok = left, true
				}
			}
			if dir == "/" {
				break
			}
		}
	}
	return free, ok
}

// statValue returns the value of key in a memory.stat file, or 0.
func statValue(stat []byte, key string) uint64 {
	for _, line := range strings.Split(string(stat), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == key {
			v, _ := strconv.ParseUint(f[1], 10, 64)
			return v
		}
	}
	return 0
}

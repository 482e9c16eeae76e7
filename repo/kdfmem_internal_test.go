package repo

import (
	"context"
	"errors"
	"testing"

	"github.com/lpse/cadang/crypto"
)

func TestCgroupFree(t *testing.T) {
	files := map[string]string{
		// v2: the unit's limit 2 GiB, 1.5 GiB in use of which 1 GiB is
		// reclaimable cache; its parent has no limit.
		"/sys/fs/cgroup/system.slice/cadang.service/memory.max":     "2147483648\n",
		"/sys/fs/cgroup/system.slice/cadang.service/memory.current": "1610612736\n",
		"/sys/fs/cgroup/system.slice/cadang.service/memory.stat":    "anon 536870912\ninactive_file 1073741824\n",
		"/sys/fs/cgroup/system.slice/memory.max":                    "max\n",
		"/sys/fs/cgroup/system.slice/memory.current":                "4000000000\n",
		// v1: 512 MiB limit on the root of the memory hierarchy.
		"/sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912\n",
		"/sys/fs/cgroup/memory/memory.usage_in_bytes": "268435456\n",
		"/sys/fs/cgroup/memory/memory.stat":           "total_inactive_file 0\n",
	}
	read := func(p string) []byte { return []byte(files[p]) }
	if free, ok := cgroupFree([]byte("0::/system.slice/cadang.service\n"), read); !ok || free != 1536<<10 {
		t.Errorf("v2: %d KiB, %v; want 1536 MiB (2 GiB less 512 MiB not reclaimable)", free, ok)
	}
	if free, ok := cgroupFree([]byte("4:memory:/\n1:cpu,cpuacct:/\n"), read); !ok || free != 256<<10 {
		t.Errorf("v1: %d KiB, %v; want 256 MiB", free, ok)
	}
	if _, ok := cgroupFree([]byte("0::/user.slice\n"), read); ok {
		t.Error("no limit read as one")
	}
	if kib := memAvailable([]byte("MemTotal: 100 kB\nMemAvailable:   23717272 kB\n")); kib != 23717272 {
		t.Errorf("MemAvailable %d", kib)
	}
}

// unwrapCancellable returns when its context ends, while the derivation
// (which takes no context) runs on.
func TestUnwrapCancellable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	block := make(chan struct{})
	defer close(block)
	cancel()
	_, err := unwrapCancellable(ctx, func() (*crypto.Key, error) {
		<-block // a derivation that would never end
		return nil, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

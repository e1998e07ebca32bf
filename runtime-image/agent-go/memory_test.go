package main

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeCgroups writes a /proc/self/cgroup and a /sys/fs/cgroup holding the given files.
func fakeCgroups(t *testing.T, procSelfCgroup string, files ...string) (proc, root string) {
	dir := t.TempDir()
	root = filepath.Join(dir, "sys/fs/cgroup")
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), []byte("oom_kill 0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proc = filepath.Join(dir, "cgroup")
	if err := os.WriteFile(proc, []byte(procSelfCgroup), 0o644); err != nil {
		t.Fatal(err)
	}
	return proc, root
}

func TestOwnOOMCounterFile(t *testing.T) {
	v1 := "4:memory:/kubepods/burstable/pod1/c0ffee\n3:cpu,cpuacct:/kubepods/burstable/pod1/c0ffee\n"
	// in a container, its own cgroup is mounted at the root, not at the host's path
	proc, root := fakeCgroups(t, v1, "memory/memory.oom_control")
	if got := ownOOMCounterFile(proc, root); got != filepath.Join(root, "memory/memory.oom_control") {
		t.Errorf("v1 in a container: %q", got)
	}
	// on a host, the cgroup at its path
	own := "memory/kubepods/burstable/pod1/c0ffee/memory.oom_control"
	proc, root = fakeCgroups(t, v1, "memory/memory.oom_control", own)
	if got := ownOOMCounterFile(proc, root); got != filepath.Join(root, own) {
		t.Errorf("v1 on a host: %q", got)
	}
	proc, root = fakeCgroups(t, "0::/\n", "memory.events")
	if got := ownOOMCounterFile(proc, root); got != filepath.Join(root, "memory.events") {
		t.Errorf("v2 with a cgroup namespace: %q", got)
	}
	proc, root = fakeCgroups(t, "3:cpu:/x\n")
	if got := ownOOMCounterFile(proc, root); got != "" {
		t.Errorf("no memory cgroup: %q", got)
	}
}

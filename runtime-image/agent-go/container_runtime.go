package main

// The runtime of an image function: not a child of the agent but the entry point of the
// function's own container in the same pod (one process namespace). The agent sees that
// container's processes in /proc — every process whose cgroup differs from the agent's own and
// whose environment holds AWS_LAMBDA_RUNTIME_API — and can signal them. It cannot start them
// again: once they are gone the environment is replaced, so a later Init fails at once.

import (
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const runtimeMarker = "AWS_LAMBDA_RUNTIME_API="

var numeric = regexp.MustCompile(`^\d+$`)

// foreignPids are the pids of the runtime's processes (pure over a /proc reader).
func foreignPids(list []string, cgroupOf, environOf func(pid string) (string, bool)) []int {
	own, _ := cgroupOf("self")
	var pids []int
	for _, name := range list {
		if !numeric.MatchString(name) || name == "1" {
			continue
		}
		cgroup, ok := cgroupOf(name)
		if !ok || cgroup == own {
			continue
		}
		env, ok := environOf(name)
		if ok && (strings.HasPrefix(env, runtimeMarker) || strings.Contains(env, "\x00"+runtimeMarker)) {
			n, _ := strconv.Atoi(name)
			pids = append(pids, n)
		}
	}
	sort.Ints(pids)
	return pids
}

var containerGone atomic.Bool

const goneAfterEmptyPolls = 3

// imageContainerGone: the function's container has exited; nothing in this pod runs it again.
func imageContainerGone() bool { return containerGone.Load() }

// ContainerRuntime watches the function container's processes.
type ContainerRuntime struct {
	memory   MemoryWatch
	exited   chan struct{}
	appeared chan struct{}
	mu       sync.Mutex
	pids     []int
	killing  bool
	exit     ExitInfo
}

func newContainerRuntime(memory MemoryWatch, procRoot string, poll time.Duration, expectedFile string) *ContainerRuntime {
	c := &ContainerRuntime{memory: memory, exited: make(chan struct{}), appeared: make(chan struct{})}
	if containerGone.Load() {
		c.exit = ExitInfo{Code: -1}
		close(c.exited)
		close(c.appeared)
		return c
	}
	file := func(pid, name string) (string, bool) {
		b, err := os.ReadFile(procRoot + "/" + pid + "/" + name)
		return string(b), err == nil
	}
	read := func() []int {
		entries, _ := os.ReadDir(procRoot)
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return foreignPids(names, func(p string) (string, bool) { return file(p, "cgroup") },
			func(p string) (string, bool) { return file(p, "environ") })
	}
	go func() {
		seen, empty := false, 0
		ticker := time.NewTicker(poll)
		defer ticker.Stop()
		for range ticker.C {
			pids := read()
			if len(pids) == 0 {
				empty++
			} else {
				empty = 0
			}
			c.mu.Lock()
			if len(pids) > 0 || empty >= goneAfterEmptyPolls {
				c.pids = pids
			}
			c.mu.Unlock()
			if !seen && len(pids) > 0 {
				seen = true
				memory.Attach(pids[0])
				close(c.appeared)
			} else if seen && empty >= goneAfterEmptyPolls {
				containerGone.Store(true)
				c.mu.Lock()
				c.exit = ExitInfo{Code: -1}
				if c.killing {
					c.exit.Signal = syscall.SIGKILL
				}
				c.mu.Unlock()
				close(c.exited)
				return
			}
		}
	}()
	_ = os.WriteFile(expectedFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	return c
}

func (c *ContainerRuntime) Exited() <-chan struct{} { return c.exited }
func (c *ContainerRuntime) Memory() MemoryWatch     { return c.memory }
func (c *ContainerRuntime) Drain()                  {}

func (c *ContainerRuntime) Exit() ExitInfo {
	<-c.exited
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exit
}

func (c *ContainerRuntime) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pids) == 0 {
		return 0
	}
	return c.pids[0]
}

func (c *ContainerRuntime) Alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

func (c *ContainerRuntime) signal(sig syscall.Signal) {
	c.mu.Lock()
	pids := append([]int(nil), c.pids...)
	c.mu.Unlock()
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

func (c *ContainerRuntime) Kill() ExitInfo {
	c.mu.Lock()
	c.killing = true
	c.mu.Unlock()
	c.signal(syscall.SIGKILL)
	return c.Exit()
}

func (c *ContainerRuntime) Shutdown(grace time.Duration) ExitInfo {
	c.mu.Lock()
	c.killing = true
	c.mu.Unlock()
	c.signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(grace):
		c.signal(syscall.SIGKILL)
	}
	return c.Exit()
}

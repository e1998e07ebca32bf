package main

// Memory accounting for the runtime process: the limit (optional), the peak for REPORT's
// "Max Memory Used", and whether a death was the out-of-memory killer's doing.
//
// With LAMINA_MEMORY_CGROUP the agent makes one child cgroup per runtime process, caps it at
// the function's memory size and reads the kernel's peak and OOM-kill counters. Without it
// the peak is sampled from /proc (VmHWM of the runtime's process tree), the tree is SIGKILLed
// when its resident memory is seen above the memory size, and OOM kills by the container's
// own limit are read from the container's cgroup counter.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MemoryWatch tracks one runtime process's memory.
type MemoryWatch interface {
	// Wrap prefixes the command so the process is in the limit before it runs anything.
	Wrap(command string, args []string) (string, []string)
	Attach(pid int)
	PeakBytes() int64
	// Sample re-reads the peak; deep also walks the child processes (and enforces the limit).
	Sample(deep bool)
	OOMKilled() bool
	Dispose()
}

func readNumber(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

// readCounter reads `<key> <n>` from a flat-keyed cgroup file (memory.events, memory.oom_control).
func readCounter(path, key string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	return counterIn(string(b), key)
}

func counterIn(text, key string) (int64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, key+" "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

var (
	vmHWM = regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB`)
	vmRSS = regexp.MustCompile(`(?m)^VmRSS:\s+(\d+) kB`)
)

func kB(status []byte, field *regexp.Regexp) int64 {
	m := field.FindSubmatch(status)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n * 1024
}

// processMemory is VmHWM and VmRSS of one process; zeros once it is gone.
func processMemory(pid int) (peak, resident int64) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	return kB(status, vmHWM), kB(status, vmRSS)
}

// processTreeMemory sums a process and all its descendants.
func processTreeMemory(pid int) (peak, resident int64) {
	stack := []int{pid}
	for len(stack) > 0 {
		current := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p, r := processMemory(current)
		peak += p
		resident += r
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", current))
		for _, t := range tasks {
			children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", current, t.Name()))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(children)) {
				if n, err := strconv.Atoi(f); err == nil {
					stack = append(stack, n)
				}
			}
		}
	}
	return peak, resident
}

var v1MemoryLine = regexp.MustCompile(`^\d+:([^:]*,)?memory(,[^:]*)?:`)

// ownOOMCounterFile is where this process's own cgroup (the container's) keeps its OOM-kill counter.
func ownOOMCounterFile(procSelfCgroup, cgroupRoot string) string {
	b, err := os.ReadFile(procSelfCgroup)
	if err != nil {
		return ""
	}
	var mount, own, file string
	for _, l := range strings.Split(string(b), "\n") {
		if v1MemoryLine.MatchString(l) && mount == "" {
			parts := strings.SplitN(l, ":", 3)
			mount, own, file = filepath.Join(cgroupRoot, "memory"), parts[2], "memory.oom_control"
		}
	}
	if mount == "" {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "0::") {
				mount, own, file = cgroupRoot, l[3:], "memory.events"
				break
			}
		}
	}
	if mount == "" {
		return ""
	}
	for _, candidate := range []string{filepath.Join(mount, own, file), filepath.Join(mount, file)} {
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
	}
	return ""
}

var (
	ownCounterOnce sync.Once
	ownCounterPath string
)

// ProcMemoryWatch samples /proc and enforces the limit by SIGKILL.
type ProcMemoryWatch struct {
	limitBytes  int64
	pid         atomic.Int64
	peak        atomic.Int64
	overLimit   atomic.Bool
	oomBaseline int64
	hasBaseline bool
}

func newProcMemoryWatch(limitBytes int64) *ProcMemoryWatch {
	ownCounterOnce.Do(func() { ownCounterPath = ownOOMCounterFile("/proc/self/cgroup", "/sys/fs/cgroup") })
	return &ProcMemoryWatch{limitBytes: limitBytes}
}

func (w *ProcMemoryWatch) Wrap(command string, args []string) (string, []string) {
	return command, args
}

func (w *ProcMemoryWatch) Attach(pid int) {
	w.pid.Store(int64(pid))
	if ownCounterPath != "" {
		w.oomBaseline, w.hasBaseline = readCounter(ownCounterPath, "oom_kill")
	}
}

func (w *ProcMemoryWatch) Sample(deep bool) {
	pid := int(w.pid.Load())
	if pid == 0 {
		return
	}
	var peak, resident int64
	if deep {
		peak, resident = processTreeMemory(pid)
	} else {
		peak, resident = processMemory(pid)
	}
	for {
		old := w.peak.Load()
		if peak <= old || w.peak.CompareAndSwap(old, peak) {
			break
		}
	}
	if deep && resident > w.limitBytes && w.overLimit.CompareAndSwap(false, true) {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // the runtime leads its own process group
	}
}

func (w *ProcMemoryWatch) PeakBytes() int64 { return w.peak.Load() }

func (w *ProcMemoryWatch) OOMKilled() bool {
	if w.overLimit.Load() {
		return true
	}
	if ownCounterPath == "" || !w.hasBaseline {
		return false
	}
	now, ok := readCounter(ownCounterPath, "oom_kill")
	return ok && now > w.oomBaseline
}

func (w *ProcMemoryWatch) Dispose() {}

var cgroupSequence atomic.Int64

// CgroupMemoryWatch is a child cgroup capped at the function's memory size (v1 or v2).
type CgroupMemoryWatch struct {
	dir string
	v2  bool
}

func newCgroupMemoryWatch(parent string, limitBytes int64) (*CgroupMemoryWatch, error) {
	dir := filepath.Join(parent, fmt.Sprintf("lamina-runtime-%d-%d", os.Getpid(), cgroupSequence.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	_, err := os.Stat(filepath.Join(parent, "cgroup.controllers"))
	w := &CgroupMemoryWatch{dir: dir, v2: err == nil}
	limit := strconv.FormatInt(limitBytes, 10)
	if w.v2 {
		if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(limit), 0o644); err != nil {
			os.Remove(dir)
			return nil, err
		}
		_ = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0o644)
	} else {
		if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(limit), 0o644); err != nil {
			os.Remove(dir)
			return nil, err
		}
		_ = os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(limit), 0o644)
	}
	return w, nil
}

// Wrap: the shell joins the cgroup and then execs the runtime, keeping the shell's pid.
func (w *CgroupMemoryWatch) Wrap(command string, args []string) (string, []string) {
	return "/bin/sh", append([]string{"-c", `echo $$ > "$1/cgroup.procs" || exit 126; shift; exec "$@"`, "lamina-cgroup", w.dir, command}, args...)
}

func (w *CgroupMemoryWatch) Attach(int)  {}
func (w *CgroupMemoryWatch) Sample(bool) {}

func (w *CgroupMemoryWatch) PeakBytes() int64 {
	name := "memory.max_usage_in_bytes"
	if w.v2 {
		name = "memory.peak"
	}
	n, _ := readNumber(filepath.Join(w.dir, name))
	return n
}

func (w *CgroupMemoryWatch) OOMKilled() bool {
	name := "memory.oom_control"
	if w.v2 {
		name = "memory.events"
	}
	n, _ := readCounter(filepath.Join(w.dir, name), "oom_kill")
	return n > 0
}

// Dispose removes the cgroup; the kernel refuses until the last task has left.
func (w *CgroupMemoryWatch) Dispose() {
	for attempt := 0; attempt < 100; attempt++ {
		err := os.Remove(w.dir)
		if err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

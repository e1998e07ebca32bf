package main

// How a runtime died, in Lambda's words and error types. Pure.

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"syscall"
	"unsafe"
)

func uintptrOf(v *int32) uintptr { return uintptr(unsafe.Pointer(v)) }

// Go's os/exec names for signals: Lambda's messages come from Go ("signal: killed").
var goSignalNames = map[syscall.Signal]string{
	syscall.SIGKILL: "killed", syscall.SIGTERM: "terminated", syscall.SIGSEGV: "segmentation fault",
	syscall.SIGABRT: "aborted", syscall.SIGINT: "interrupt", syscall.SIGHUP: "hangup",
	syscall.SIGBUS: "bus error", syscall.SIGFPE: "floating point exception", syscall.SIGILL: "illegal instruction",
	syscall.SIGPIPE: "broken pipe", syscall.SIGQUIT: "quit", syscall.SIGTRAP: "trace/breakpoint trap",
	syscall.SIGUSR1: "user defined signal 1", syscall.SIGUSR2: "user defined signal 2",
	syscall.SIGXCPU: "CPU time limit exceeded", syscall.SIGSYS: "bad system call",
}

// describeExit is Lambda's wording for how a runtime died.
func describeExit(e ExitInfo) string {
	if e.Spawn != nil {
		reason := "no such file or directory"
		if errors.Is(e.Spawn, os.ErrPermission) {
			reason = "permission denied"
		}
		return fmt.Sprintf("fork/exec %s: %s", e.SpawnCmd, reason)
	}
	if e.Signal != 0 {
		name, ok := goSignalNames[e.Signal]
		if !ok {
			name = e.Signal.String()
		}
		return "Runtime exited with error: signal: " + name
	}
	if e.Code <= 0 {
		return "Runtime exited without providing a reason"
	}
	return fmt.Sprintf("Runtime exited with error: exit status %d", e.Code)
}

const oomShareOfLimit = 0.9

var heapOutOfMemory = regexp.MustCompile(`heap out of memory`)

// classifyDeath: a SIGKILL the agent did not send is Runtime.OutOfMemory when the OOM counter
// moved or the peak reached 90% of the memory size; so is V8 aborting with "heap out of memory".
func classifyDeath(e ExitInfo, oomKilled bool, peakBytes int64, memorySizeMb int, recentOutput string) string {
	if e.Spawn != nil {
		return "Runtime.InvalidEntrypoint"
	}
	limit := float64(memorySizeMb) * 1024 * 1024
	if e.Signal == syscall.SIGKILL && (oomKilled || float64(peakBytes) >= oomShareOfLimit*limit) {
		return "Runtime.OutOfMemory"
	}
	if e.Signal == syscall.SIGABRT && heapOutOfMemory.MatchString(recentOutput) {
		return "Runtime.OutOfMemory"
	}
	return "Runtime.ExitError"
}

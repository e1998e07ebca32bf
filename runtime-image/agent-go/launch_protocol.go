package main

// The lines lamina-launch (runtime-image/agent/launcher/lamina-launch.c) sends on its control
// connection, parsed (pure). The agent writes "start"; the launcher answers "pid <n>" or
// "error <errno> <path>", then "exit <status>" or "signal <number>" once the program is gone.

import (
	"regexp"
	"strconv"
	"syscall"
)

// LaunchReport is one line of the launcher: Kind "pid", "error" or "exit".
type LaunchReport struct {
	Kind   string
	Pid    int
	Errno  syscall.Errno
	Path   string
	Code   int // -1 when ended by a signal
	Signal syscall.Signal
}

var launchLine = regexp.MustCompile(`^(pid|error|exit|signal) (\d+)(?: (.*))?$`)

func parseLaunchReport(line string) (LaunchReport, bool) {
	m := launchLine.FindStringSubmatch(line)
	if m == nil {
		return LaunchReport{}, false
	}
	value, err := strconv.Atoi(m[2])
	if err != nil {
		return LaunchReport{}, false
	}
	switch m[1] {
	case "pid":
		return LaunchReport{Kind: "pid", Pid: value}, true
	case "error":
		return LaunchReport{Kind: "error", Errno: syscall.Errno(value), Path: m[3]}, true
	case "exit":
		return LaunchReport{Kind: "exit", Code: value}, true
	default:
		sig := syscall.Signal(value)
		if value <= 0 || value > 64 {
			sig = syscall.SIGKILL
		}
		return LaunchReport{Kind: "exit", Code: -1, Signal: sig}, true
	}
}

package main

// One language-runtime process: started in its own process group (so a kill takes its
// children too), its stdout/stderr handed to the function log, its death reported once.

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ExitInfo says how a process ended.
type ExitInfo struct {
	Code     int // -1 when killed by a signal or unknown (an image container)
	Signal   syscall.Signal
	Spawn    error // the process could not be started
	SpawnCmd string
}

// RuntimeHandle is what the supervisor drives: a child process or an image function's container.
type RuntimeHandle interface {
	Exited() <-chan struct{}
	Exit() ExitInfo
	Memory() MemoryWatch
	Pid() int
	Alive() bool
	Kill() ExitInfo
	Shutdown(grace time.Duration) ExitInfo
	// Drain waits (briefly) until what the process already wrote has reached the log.
	Drain()
	// closed waits (up to d) until the output after the exit has reached the log.
	closed(d time.Duration)
}

// RuntimeProcess is a child process in its own process group.
type RuntimeProcess struct {
	cmd     *exec.Cmd
	memory  MemoryWatch
	stdin   io.WriteCloser
	exited  chan struct{}
	exit    ExitInfo
	pipes   []*pipeCopier
	mu      sync.Mutex
	killing bool
}

func startProcess(launch *Launch, memory MemoryWatch, out io.Writer, standby bool) *RuntimeProcess {
	command, args := memory.Wrap(launch.Command, launch.Args)
	// The command is looked up in the child's PATH, not the agent's (as libuv's spawn does).
	cmd := &exec.Cmd{Path: lookPathIn(command, launch.Env["PATH"]), Args: append([]string{command}, args...)}
	cmd.Dir = launch.Cwd
	cmd.Env = environ(launch.Env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &RuntimeProcess{cmd: cmd, memory: memory, exited: make(chan struct{})}
	var writers []*os.File
	for range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			p.exit = ExitInfo{Code: -1, Spawn: err, SpawnCmd: launch.Command}
			close(p.exited)
			return p
		}
		p.pipes = append(p.pipes, &pipeCopier{r: r, out: out})
		writers = append(writers, w)
	}
	cmd.Stdout, cmd.Stderr = writers[0], writers[1]
	if standby {
		p.stdin, _ = cmd.StdinPipe()
	}
	err := cmd.Start()
	for _, w := range writers {
		w.Close()
	}
	for _, c := range p.pipes {
		go c.run()
	}
	if err != nil {
		p.exit = ExitInfo{Code: -1, Spawn: err, SpawnCmd: launch.Command}
		close(p.exited)
		return p
	}
	memory.Attach(cmd.Process.Pid)
	go p.wait()
	return p
}

func (p *RuntimeProcess) wait() {
	err := p.cmd.Wait()
	info := ExitInfo{Code: 0}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		ws := exitErr.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			info = ExitInfo{Code: -1, Signal: ws.Signal()}
		} else {
			info = ExitInfo{Code: ws.ExitStatus()}
		}
	}
	p.killGroup(syscall.SIGKILL) // grandchildren die with the runtime, as the sandbox would
	p.exit = info
	close(p.exited)
}

// handOver gives a standby its function: the environment and working directory (one JSON line).
func (p *RuntimeProcess) handOver(env map[string]string, cwd string) *RuntimeProcess {
	if p.stdin != nil {
		line, _ := json.Marshal(map[string]any{"env": env, "cwd": cwd})
		p.stdin.Write(append(line, '\n'))
		p.stdin.Close()
	}
	return p
}

func (p *RuntimeProcess) Exited() <-chan struct{} { return p.exited }
func (p *RuntimeProcess) Memory() MemoryWatch     { return p.memory }

func (p *RuntimeProcess) Exit() ExitInfo {
	<-p.exited
	return p.exit
}

func (p *RuntimeProcess) Pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *RuntimeProcess) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *RuntimeProcess) killGroup(sig syscall.Signal) {
	if pid := p.Pid(); pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}

// Kill SIGKILLs the whole process group and waits until the runtime is reaped.
func (p *RuntimeProcess) Kill() ExitInfo {
	p.mu.Lock()
	p.killing = true
	p.mu.Unlock()
	p.killGroup(syscall.SIGKILL)
	return p.Exit()
}

// Shutdown sends SIGTERM, then SIGKILL after grace.
func (p *RuntimeProcess) Shutdown(grace time.Duration) ExitInfo {
	p.killGroup(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.killGroup(syscall.SIGKILL)
	}
	return p.Exit()
}

// Drain waits until the pipes hold nothing unread and no copy is in flight (at most ~10 ms).
func (p *RuntimeProcess) Drain() { drainCopiers(p.pipes) }

func drainCopiers(copiers []*pipeCopier) {
	for i := 0; i < 50; i++ {
		idle := true
		for _, c := range copiers {
			if !c.idle() {
				idle = false
			}
		}
		if idle {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// closed waits (up to d) until both pipes reached EOF.
func (p *RuntimeProcess) closed(d time.Duration) {
	deadline := time.After(d)
	for _, c := range p.pipes {
		select {
		case <-c.done():
		case <-deadline:
			return
		}
	}
}

// outputStream is a runtime's output: a pipe, or an image function's output socket.
type outputStream interface {
	io.ReadCloser
	syscall.Conn
}

// pipeCopier copies one output stream into the log; a full log blocks it, and so the runtime.
type pipeCopier struct {
	r        outputStream
	out      io.Writer
	mu       sync.Mutex
	inFlight bool
	eof      chan struct{}
	once     sync.Once
}

func (c *pipeCopier) done() chan struct{} {
	c.once.Do(func() { c.eof = make(chan struct{}) })
	return c.eof
}

func (c *pipeCopier) run() {
	eof := c.done()
	buf := make([]byte, 64*1024)
	for {
		n, err := c.r.Read(buf)
		if n > 0 {
			c.mu.Lock()
			c.inFlight = true
			c.mu.Unlock()
			c.out.Write(buf[:n])
			c.mu.Lock()
			c.inFlight = false
			c.mu.Unlock()
		}
		if err != nil {
			c.r.Close()
			close(eof)
			return
		}
	}
}

func (c *pipeCopier) idle() bool {
	c.mu.Lock()
	busy := c.inFlight
	c.mu.Unlock()
	if busy {
		return false
	}
	select {
	case <-c.done():
		return true
	default:
	}
	return pendingBytes(c.r) == 0
}

// lookPathIn resolves a bare command name in a PATH list; a name that is not found is kept
// (its start then fails with "no such file or directory").
func lookPathIn(command, path string) string {
	if strings.Contains(command, "/") {
		return command
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, command)
		if info, err := os.Stat(candidate); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return candidate
		}
	}
	return command
}

// pendingBytes is what a pipe or a stream socket holds unread (FIONREAD).
func pendingBytes(f syscall.Conn) int {
	raw, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = raw.Control(func(fd uintptr) {
		var v int32
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptrOf(&v))
		if e == 0 {
			n = int(v)
		}
	})
	return n
}

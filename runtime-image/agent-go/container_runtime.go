package main

// The runtime of an image function: the image's own entry point, run in the function's
// container of the same pod by lamina-launch, a static launcher the agent copies into an
// emptyDir both containers mount (runtime-image/agent/launcher). The launcher connects to the
// agent's control socket; for each Init the agent writes "start" and the launcher runs the
// entry point in a new session, its stdout/stderr on a connection to the agent's output
// socket, and reports its pid and then its exit status. So an image function's runtime is
// driven as a zip function's child process is: its output is framed and captured for LogType
// Tail, its exit status is known, the agent kills its process group on a timeout or a reset
// (one process namespace, same user), and the next Init starts it again in place. Only if the
// launcher itself goes (its container ended) does nothing here run the function again.

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// LauncherPaths: where an image function's launcher and its sockets live.
type LauncherPaths struct {
	Dir          string // the emptyDir shared with the function's container
	Binary       string // the launcher in the agent's image, copied into Dir
	ExpectedFile string // written once the agent listens: the sidecar's postStart hook waits for it
}

var containerGone atomic.Bool

// outputGrace: how long a runtime's end waits for an output connection it has not seen yet.
const outputGrace = 500 * time.Millisecond

// imageContainerGone: the launcher (the function's container) has gone; nothing in this pod runs
// the function again.
func imageContainerGone() bool { return containerGone.Load() }

// ImageLauncher is the agent's end of lamina-launch: its control connection and the output
// connections.
type ImageLauncher struct {
	mu        sync.Mutex
	listeners []net.Listener
	control   net.Conn
	connected chan struct{}
	reports   []*ContainerRuntime // started, oldest first, until their exit is reported
	outputs   []*ContainerRuntime // started, whose output connection has not arrived yet
}

func copyExecutable(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		return err
	}
	return os.Chmod(to, 0o755)
}

// listenLauncher copies the launcher into the shared directory, listens on both sockets, then
// says so.
func listenLauncher(paths LauncherPaths) (*ImageLauncher, error) {
	if err := copyExecutable(paths.Binary, filepath.Join(paths.Dir, "lamina-launch")); err != nil {
		return nil, err
	}
	l := &ImageLauncher{connected: make(chan struct{})}
	listen := func(name string) (net.Listener, error) {
		path := filepath.Join(paths.Dir, name)
		_ = os.Remove(path)
		ln, err := net.Listen("unix", path)
		if err == nil {
			l.listeners = append(l.listeners, ln)
		}
		return ln, err
	}
	control, err := listen("control.sock")
	if err != nil {
		return nil, err
	}
	output, err := listen("output.sock")
	if err != nil {
		control.Close()
		return nil, err
	}
	go func() {
		taken := false
		for {
			conn, err := control.Accept()
			if err != nil {
				return
			}
			// One launcher per pod: a second connection is not ours to serve.
			if taken {
				conn.Close()
				continue
			}
			taken = true
			l.mu.Lock()
			l.control = conn
			l.mu.Unlock()
			close(l.connected)
			go l.readReports(conn)
		}
	}()
	go func() {
		for {
			conn, err := output.Accept()
			if err != nil {
				return
			}
			l.onOutput(conn)
		}
	}()
	_ = os.WriteFile(paths.ExpectedFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	return l, nil
}

func (l *ImageLauncher) readReports(conn net.Conn) {
	lines := bufio.NewScanner(conn)
	for lines.Scan() {
		if report, ok := parseLaunchReport(lines.Text()); ok {
			l.onReport(report)
		}
	}
	l.onGone()
}

// start asks the launcher to run the entry point once more; reports go to c.
func (l *ImageLauncher) start(c *ContainerRuntime) {
	if containerGone.Load() {
		c.onReport(LaunchReport{Kind: "exit", Code: -1})
		return
	}
	l.mu.Lock()
	l.reports = append(l.reports, c)
	l.outputs = append(l.outputs, c)
	l.mu.Unlock()
	go func() {
		<-l.connected
		l.mu.Lock()
		conn := l.control
		l.mu.Unlock()
		_, _ = conn.Write([]byte("start\n"))
	}()
}

func (l *ImageLauncher) onReport(report LaunchReport) {
	l.mu.Lock()
	if len(l.reports) == 0 {
		l.mu.Unlock()
		return
	}
	c := l.reports[0]
	if report.Kind != "pid" {
		// A program that could not start connected its output all the same (and closed it).
		l.reports = l.reports[1:]
	}
	l.mu.Unlock()
	c.onReport(report)
}

func (l *ImageLauncher) onOutput(conn net.Conn) {
	l.mu.Lock()
	var c *ContainerRuntime
	if len(l.outputs) > 0 {
		c, l.outputs = l.outputs[0], l.outputs[1:]
	}
	l.mu.Unlock()
	if c == nil {
		conn.Close()
		return
	}
	c.onOutput(conn)
}

func (l *ImageLauncher) onGone() {
	containerGone.Store(true)
	agentLog("warn", "the function's container ended (its launcher disconnected)")
	l.mu.Lock()
	pending := l.reports
	l.reports, l.outputs = nil, nil
	l.mu.Unlock()
	for _, c := range pending {
		c.onReport(LaunchReport{Kind: "exit", Code: -1})
	}
}

func (l *ImageLauncher) close() {
	l.mu.Lock()
	if l.control != nil {
		l.control.Close()
	}
	l.mu.Unlock()
	for _, ln := range l.listeners {
		ln.Close()
	}
}

// ContainerRuntime is one run of the image's entry point, driven through the launcher.
type ContainerRuntime struct {
	memory        MemoryWatch
	log           io.Writer
	exited        chan struct{}
	appeared      chan struct{}
	outputArrived chan struct{}
	outputClosed  chan struct{}
	mu            sync.Mutex
	output        *pipeCopier
	pid           int
	killing       bool
	finished      bool
	appearedDone  bool
	exit          ExitInfo
}

func newContainerRuntime(launcher *ImageLauncher, setupErr error, memory MemoryWatch, log io.Writer) *ContainerRuntime {
	c := &ContainerRuntime{memory: memory, log: log, exited: make(chan struct{}), appeared: make(chan struct{}),
		outputArrived: make(chan struct{}), outputClosed: make(chan struct{})}
	if launcher == nil {
		c.finish(ExitInfo{Code: -1, Spawn: setupErr, SpawnCmd: "lamina-launch"})
		return c
	}
	launcher.start(c)
	return c
}

func (c *ContainerRuntime) onReport(report LaunchReport) {
	if report.Kind == "pid" {
		c.mu.Lock()
		c.pid = report.Pid
		killing := c.killing
		c.markAppearedLocked()
		c.mu.Unlock()
		c.memory.Attach(report.Pid)
		if killing {
			c.signal(syscall.SIGKILL)
		}
		return
	}
	info := ExitInfo{Code: report.Code, Signal: report.Signal}
	if report.Kind == "error" {
		path := report.Path
		if path == "" {
			path = "entry point"
		}
		info = ExitInfo{Code: -1, Spawn: report.Errno, SpawnCmd: path}
	}
	c.finish(info)
}

// onOutput copies the entry point's stdout and stderr into the function log; a full log blocks
// the copy, and so the entry point.
func (c *ContainerRuntime) onOutput(conn net.Conn) {
	stream, ok := conn.(outputStream)
	if !ok {
		conn.Close()
		return
	}
	copier := &pipeCopier{r: stream, out: c.log}
	c.mu.Lock()
	c.output = copier
	c.mu.Unlock()
	close(c.outputArrived)
	go func() {
		defer close(c.outputClosed)
		copier.run()
	}()
}

func (c *ContainerRuntime) markAppearedLocked() {
	if !c.appearedDone {
		c.appearedDone = true
		close(c.appeared)
	}
}

func (c *ContainerRuntime) finish(info ExitInfo) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	c.exit = info
	c.markAppearedLocked()
	started := c.pid != 0
	c.mu.Unlock()
	if started {
		c.signal(syscall.SIGKILL) // what it left behind dies with it
	}
	close(c.exited)
}

// closed waits (up to d) for the output connection to close: output written just before the
// exit can trail it, and its accept can even come after the exit report.
func (c *ContainerRuntime) closed(d time.Duration) {
	deadline := time.After(d)
	if !containerGone.Load() {
		select {
		case <-c.outputArrived:
		case <-time.After(outputGrace):
			return
		case <-deadline:
			return
		}
	}
	select {
	case <-c.outputArrived:
	default:
		return
	}
	select {
	case <-c.outputClosed:
	case <-deadline:
	}
}

func (c *ContainerRuntime) Exited() <-chan struct{} { return c.exited }
func (c *ContainerRuntime) Memory() MemoryWatch     { return c.memory }

// Drain waits (at most ~10 ms) until what the entry point wrote before answering is in the log.
func (c *ContainerRuntime) Drain() {
	c.mu.Lock()
	output := c.output
	c.mu.Unlock()
	if output != nil {
		drainCopiers([]*pipeCopier{output})
	}
}

func (c *ContainerRuntime) Exit() ExitInfo {
	<-c.exited
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exit
}

func (c *ContainerRuntime) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

func (c *ContainerRuntime) Alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// signal: the launcher started the entry point in a session of its own; signal that group.
func (c *ContainerRuntime) signal(sig syscall.Signal) {
	if pid := c.Pid(); pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}

// stopping marks the runtime as being stopped; one not started yet (its container still being
// created) ends now, its pid killed when reported.
func (c *ContainerRuntime) stopping(sig syscall.Signal) {
	c.mu.Lock()
	c.killing = true
	notStarted := c.pid == 0
	c.mu.Unlock()
	if notStarted {
		c.finish(ExitInfo{Code: -1, Signal: sig})
	}
	c.signal(sig)
}

func (c *ContainerRuntime) Kill() ExitInfo {
	c.stopping(syscall.SIGKILL)
	return c.Exit()
}

func (c *ContainerRuntime) Shutdown(grace time.Duration) ExitInfo {
	c.stopping(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(grace):
		c.signal(syscall.SIGKILL)
	}
	return c.Exit()
}

package main

// The runtime side of an environment: the Runtime API and the one runtime process behind it.
// It runs Init (start until the first /next), hands one invocation at a time to the runtime
// and waits for its end (result, error, timeout, death), and resets the runtime after a
// timeout or a crash. What the gateway sees is the environment's business (environment.go).

import (
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// InitFailure is the runtime's own report (Source "runtime") or one the platform diagnosed.
type InitFailure struct {
	Source    string
	Body      []byte
	ErrorType string
	Reason    string
	Status    string // error or timeout (platform failures)
}

// InitResult is how an Init went.
type InitResult struct {
	OK         bool
	DurationMs float64
	Failure    *InitFailure
}

type initEvent struct {
	kind      string // extension, initError, exit, timeout
	body      []byte
	errorType string
	reason    string
	exit      ExitInfo
}

// InvocationEnd is how an invocation ended: the runtime's outcome, a timeout or its death.
type InvocationEnd struct {
	*RuntimeOutcome
	Kind      string // response, error, tooLarge, streamed, timeout, exit
	Reason    string
	ErrorType string
}

// InvocationReport is what the environment needs to answer and log.
type InvocationReport struct {
	End                InvocationEnd
	DurationMs         float64
	MaxMemoryUsedBytes int64
	Reset              bool
}

type activeInvocation struct {
	requestID string
	outcome   *RuntimeOutcome
	timedOut  bool
	exited    bool
	exit      ExitInfo
}

func (a *activeInvocation) ended() bool { return a.outcome != nil || a.timedOut || a.exited }

type standby struct {
	proc       *RuntimeProcess
	env        map[string]string
	memorySize int
	parked     bool
}

// shutdownGrace is Lambda's Shutdown allowance: 2 s with external extensions, 500 ms with internal ones only.
var shutdownGrace = map[bool]time.Duration{true: 2 * time.Second, false: 500 * time.Millisecond}

func accountIDOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 4 {
		return parts[4]
	}
	return ""
}

func isFile(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

func monotonicMs(since time.Time) float64 { return float64(time.Since(since).Nanoseconds()) / 1e6 }

// Supervisor owns the runtime process, the Runtime API and the extensions.
type Supervisor struct {
	m          *monitor
	settings   *Settings
	log        *FunctionLog
	telemetry  *TelemetryHub
	extensions *ExtensionsAPI
	api        *RuntimeAPI
	address    string

	extensionProcs     []*extensionProcess
	extensionFailure   *initEvent
	stoppingExtensions chan struct{}
	proc               RuntimeHandle
	// launcher: image functions' launcher in the function's container (set up with the first Init).
	launcher      *ImageLauncher
	launcherErr   error
	launcherSet   sync.Once
	initing       bool
	runtimeReady  bool
	initEvt       *initEvent
	active        *activeInvocation
	diedWhileIdle bool
	standbys      map[string]*standby
}

func newSupervisor(settings *Settings, log *FunctionLog) *Supervisor {
	s := &Supervisor{m: newMonitor(), settings: settings, log: log, telemetry: &TelemetryHub{}, standbys: map[string]*standby{}}
	s.extensions = newExtensionsAPI(s.m, s.telemetry, s.onExtensionError)
	s.api = &RuntimeAPI{m: s.m, events: s, extensions: s.extensions}
	done := make(chan struct{})
	close(done)
	s.stoppingExtensions = done
	log.onLine(func(source, line string) { s.telemetry.emit(source, line) }, s.telemetry.active)
	return s
}

// listen starts the Runtime API on 127.0.0.1 and returns its port.
func (s *Supervisor) listen() (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", itoa(s.settings.RuntimeAPIPort)))
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s.address = "127.0.0.1:" + itoa(port)
	go (&http.Server{Handler: s.api}).Serve(ln)
	return port, nil
}

func (s *Supervisor) running() bool {
	s.m.Lock()
	defer s.m.Unlock()
	return s.proc != nil
}

// takeIdleDeath is true once after the runtime died (or was reset) outside an invocation.
func (s *Supervisor) takeIdleDeath() bool {
	s.m.Lock()
	defer s.m.Unlock()
	died := s.diedWhileIdle
	s.diedWhileIdle = false
	return died
}

func (s *Supervisor) memoryWatch(memorySize int) MemoryWatch {
	limit := int64(memorySize) * 1024 * 1024
	if s.settings.MemoryCgroup == "" {
		return newProcMemoryWatch(limit)
	}
	w, err := newCgroupMemoryWatch(s.settings.MemoryCgroup, limit)
	if err != nil {
		agentLog("warn", "cannot create memory cgroup; the limit is enforced by sampling", "error", err.Error())
		return newProcMemoryWatch(limit)
	}
	return w
}

// ---- Runtime API events (monitor held) ------------------------------------------------

func (s *Supervisor) onReady() {
	if s.initing {
		s.runtimeReady = true
	}
	s.m.broadcast()
}

func (s *Supervisor) onInitError(body []byte, errorType string) {
	if s.initing && s.initEvt == nil {
		s.initEvt = &initEvent{kind: "initError", body: body, errorType: errorType}
	}
	s.m.broadcast()
}

func (s *Supervisor) onOutcome(requestID string, outcome *RuntimeOutcome) {
	if s.active != nil && s.active.requestID == requestID && !s.active.ended() {
		s.active.outcome = outcome
	}
	s.m.broadcast()
}

func (s *Supervisor) onRuntimeExit(proc RuntimeHandle) {
	s.m.Lock()
	defer s.m.Unlock()
	defer s.m.broadcast()
	if proc != s.proc {
		return // killed on purpose, already accounted for
	}
	exit := proc.Exit()
	if s.initing {
		if s.initEvt == nil {
			s.initEvt = &initEvent{kind: "exit", exit: exit}
		}
		return
	}
	if s.active != nil {
		if !s.active.ended() {
			s.active.exited, s.active.exit = true, exit
		}
		return
	}
	// Died between invocations (e.g. the Node client exits 129 after a fatal error).
	s.proc = nil
	s.diedWhileIdle = true
	go proc.Memory().Dispose()
	agentLog("warn", "runtime exited while idle", "reason", describeExit(exit))
}

func (s *Supervisor) watchExit(proc RuntimeHandle) {
	go func() {
		<-proc.Exited()
		s.onRuntimeExit(proc)
	}()
}

// ---- Init -----------------------------------------------------------------------------

// init runs Lambda's Init: external extensions start and register; then the runtime starts;
// Init is over once the runtime polls /next and every extension waits on /event/next.
func (s *Supervisor) init(c *FunctionConfig, streamName string) InitResult {
	s.m.Lock()
	stopping := s.stoppingExtensions
	s.m.Unlock()
	<-stopping
	started := time.Now()
	s.telemetry.beginInit()
	s.m.Lock()
	s.api.newGeneration()
	s.extensionFailure = nil
	s.m.Unlock()
	s.log.platformLine(initStartLine(c.Runtime))
	s.telemetry.emit("platform.initStart", recordInitStart(c))
	env := runtimeEnvironment(c, s.settings.layout(), s.address, streamName, s.settings.SecretEnvironment)
	image := c.IsImage()
	var launch *Launch
	var launchFailure *LaunchFailure
	if image {
		launch = &Launch{Env: env, Cwd: "/"}
	} else {
		launch, launchFailure = runtimeLaunch(c.Runtime, c.MemorySize, c.Handler, s.settings.layout(), env, isFile)
	}
	names := externalExtensionNames(s.settings.OptRoot)
	s.m.Lock()
	s.extensions.begin(names, FunctionMetadata{c.FunctionName, c.Version, c.Handler, accountIDOf(c.FunctionArn)})
	s.m.Unlock()
	if launchFailure != nil {
		return s.initFailed(&InitFailure{Source: "platform", ErrorType: launchFailure.ErrorType, Reason: launchFailure.ErrorMessage, Status: "error"}, started, c)
	}

	s.m.Lock()
	s.initing, s.runtimeReady, s.initEvt = true, false, nil
	s.m.Unlock()
	// Init's limit counts from the runtime's start: for an image, once its container runs.
	var timer *time.Timer
	startInitTimer := func() {
		s.m.Lock()
		defer s.m.Unlock()
		if timer != nil || !s.initing {
			return
		}
		timer = time.AfterFunc(time.Duration(s.settings.InitTimeoutMs)*time.Millisecond, func() {
			s.m.Lock()
			if s.initing && s.initEvt == nil {
				s.initEvt = &initEvent{kind: "timeout"}
			}
			s.m.broadcast()
			s.m.Unlock()
		})
	}
	if !image {
		startInitTimer()
	}
	stage := func(done func() bool) bool {
		s.m.until(func() bool { return s.initEvt != nil || done() }, time.Time{})
		s.m.Lock()
		defer s.m.Unlock()
		return s.initEvt == nil
	}

	procs := startExtensions(s.settings.OptRoot, names, env, launch.Cwd, s.log.sink("extension"), c.MemorySize)
	s.m.Lock()
	s.extensionProcs = procs
	s.m.Unlock()
	for _, ext := range procs {
		go func() {
			<-ext.proc.Exited()
			s.onExtensionExit(ext)
		}()
	}
	ok := stage(func() bool {
		for _, n := range names {
			if !s.extensions.registeredExternal(n) {
				return false
			}
		}
		return true
	})
	if ok {
		var proc RuntimeHandle
		if image {
			s.launcherSet.Do(func() { s.launcher, s.launcherErr = listenLauncher(s.settings.Launcher) })
			if s.launcherErr != nil {
				agentLog("error", "the image function's launcher could not be set up", "error", s.launcherErr.Error())
			}
			container := newContainerRuntime(s.launcher, s.launcherErr, s.memoryWatch(c.MemorySize), s.log.sink("function"))
			go func() {
				<-container.appeared
				startInitTimer()
			}()
			proc = container
		} else if sb := s.takeStandby(c, env); sb != nil {
			proc = sb.handOver(env, launch.Cwd)
		} else {
			proc = startProcess(launch, s.memoryWatch(c.MemorySize), s.log.sink("function"), false)
		}
		s.m.Lock()
		s.proc = proc
		s.m.Unlock()
		s.watchExit(proc)
		ok = stage(func() bool { return s.runtimeReady })
	}
	if ok {
		s.m.Lock()
		s.extensions.closeRegistration()
		s.m.Unlock()
		ok = stage(func() bool { return s.extensions.allReady("") })
	}
	s.m.Lock()
	if timer != nil {
		timer.Stop()
	}
	s.initing = false
	event := s.initEvt
	proc := s.proc
	if !ok {
		s.proc = nil // detach first: the kill below is not a crash to report
	}
	s.m.Unlock()
	if ok {
		durationMs := monotonicMs(started)
		s.telemetry.emit("platform.initRuntimeDone", recordInitRuntimeDone(c.InitializationType, "success", ""))
		s.telemetry.emit("platform.initReport", recordInitReport(c.InitializationType, "success", durationMs, ""))
		s.telemetry.endInit()
		return InitResult{OK: true, DurationMs: durationMs}
	}

	var exit ExitInfo
	if proc != nil {
		if event.kind == "exit" {
			exit = event.exit
		} else {
			exit = proc.Kill()
		}
		proc.closed(2 * time.Second)
	}
	var failure *InitFailure
	switch event.kind {
	case "initError":
		t := event.errorType
		if t == "" {
			t = errorTypeOf(event.body)
		}
		if t == "" {
			t = "Runtime.Unknown"
		}
		failure = &InitFailure{Source: "runtime", Body: event.body, ErrorType: t}
	case "timeout":
		failure = &InitFailure{Source: "platform", ErrorType: "Runtime.Unknown", Status: "timeout",
			Reason: "Init timed out after " + fixed2(float64(s.settings.InitTimeoutMs)/1000) + " seconds"}
	case "extension":
		failure = &InitFailure{Source: "platform", ErrorType: event.errorType, Reason: event.reason, Status: "error"}
	default:
		errorType := "Runtime.ExitError"
		if proc != nil {
			errorType = classifyDeath(exit, proc.Memory().OOMKilled(), proc.Memory().PeakBytes(), c.MemorySize, "")
		}
		failure = &InitFailure{Source: "platform", ErrorType: errorType, Reason: describeExit(exit), Status: "error"}
	}
	if proc != nil {
		proc.Memory().Dispose()
	}
	return s.initFailed(failure, started, c)
}

func (s *Supervisor) initFailed(f *InitFailure, started time.Time, c *FunctionConfig) InitResult {
	s.m.Lock()
	s.initing = false
	s.m.Unlock()
	s.killExtensions()
	durationMs := monotonicMs(started)
	status := "error"
	if f.Source == "platform" {
		status = f.Status
	}
	s.log.platformLine(initReportLine(durationMs, status, f.ErrorType))
	telemetryStatus := "error"
	if status == "timeout" {
		telemetryStatus = "timeout"
	}
	s.telemetry.emit("platform.initRuntimeDone", recordInitRuntimeDone(c.InitializationType, telemetryStatus, f.ErrorType))
	s.telemetry.emit("platform.initReport", recordInitReport(c.InitializationType, telemetryStatus, durationMs, f.ErrorType))
	s.telemetry.endInit()
	agentLog("warn", "init failed", "errorType", f.ErrorType)
	return InitResult{OK: false, DurationMs: durationMs, Failure: f}
}

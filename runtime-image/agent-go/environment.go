package main

// The execution environment as the gateway sees it: one function, one invocation at a time.
// It drives Lambda's lifecycle: specialisation (artifacts, then Init), Invoke, and Init
// retried inside the next invoke after a failure or a reset. The runtime process and the
// Runtime API live in the supervisor; this file decides states, answers and the START / END /
// REPORT framing of the log.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"
)

var (
	jsonUnmarshal = json.Unmarshal
	jsonMarshal   = json.Marshal
)

func randomHexBytes(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// InvokeRequest is one invoke as the invoke server read it.
type InvokeRequest struct {
	RequestID          string
	Body               []byte
	ContentType        string
	LogTail            bool
	InvokedFunctionArn string
	ClientContext      string
	TraceID            string
	Sink               ResponseSink
}

// PhaseTimings are offsets in ms from the invoke's receipt, for the gateway's trace spans.
type PhaseTimings struct {
	InitStartMs      *float64
	InvokeStartMs    float64
	InvokeDurationMs float64
}

// InvokeResult is the answer and how the invocation ended.
type InvokeResult struct {
	Body             []byte
	Streamed         bool
	ContentType      string
	FunctionError    bool
	ExecutedVersion  string
	LogTail          []byte
	InitDurationMs   *float64
	EnvironmentReset bool
	Phases           PhaseTimings
}

// SpecializeResult answers POST /lamina/v1/specialize.
type SpecializeResult struct {
	State               string        `json:"state"`
	InitDurationMs      float64       `json:"initDurationMs"`
	ArtifactsDurationMs float64       `json:"artifactsDurationMs"`
	InitError           *errorPayload `json:"initError,omitempty"`
}

// Environment is one function's execution environment.
type Environment struct {
	mu                 sync.Mutex
	settings           *Settings
	log                *FunctionLog
	runtime            *Supervisor
	state              string // generic, initializing, ready, failed
	config             *FunctionConfig
	streamName         string
	busy               bool
	specializing       chan struct{}
	pendingInitFailure *InitFailure
	unreportedInitMs   *float64
	unreportedInitEnd  time.Time
	// invokePhase is closed when the previous Invoke phase ended (extensions still working after the answer).
	invokePhase chan struct{}
}

func newEnvironment(settings *Settings, log *FunctionLog) *Environment {
	done := make(chan struct{})
	close(done)
	return &Environment{settings: settings, log: log, runtime: newSupervisor(settings, log), state: "generic", invokePhase: done}
}

func (e *Environment) startStandbys() {
	e.mu.Lock()
	generic := e.state == "generic" && e.config == nil
	e.mu.Unlock()
	if e.settings.standby() && generic {
		e.runtime.startStandbys(e.settings.StandbyRuntimes, e.settings.StandbyMemorySize)
	}
}

func (e *Environment) health() (int, map[string]any) {
	e.mu.Lock()
	state, busy, c := e.state, e.busy, e.config
	e.mu.Unlock()
	body := map[string]any{"state": state, "busy": busy}
	if c != nil {
		body["functionName"], body["version"], body["runtime"] = c.FunctionName, c.Version, c.Runtime
	}
	// A generic environment is ready for a fast cold start once its standby runtimes wait.
	starting := state == "generic" && !e.runtime.standbysParked()
	if starting {
		body["standbys"] = "starting"
	}
	gone := c != nil && c.IsImage() && imageContainerGone()
	if gone {
		body["container"] = "exited"
	}
	status := 200
	if state == "initializing" || starting || gone {
		status = 503
	}
	return status, body
}

func (e *Environment) specialize(text []byte) (*SpecializeResult, error) {
	c, done, err := e.beginSpecialize(text)
	if err != nil {
		return nil, err
	}
	return e.finishSpecialize(c, done)
}

// beginSpecialize validates and claims the specialisation at once (an invoke arriving
// meanwhile waits for it instead of being refused); finishSpecialize does the work.
func (e *Environment) beginSpecialize(text []byte) (*FunctionConfig, chan struct{}, error) {
	e.mu.Lock()
	if e.state == "initializing" {
		e.mu.Unlock()
		return nil, nil, agentErr(ErrorTypeSpecializationInProgress, 409, "This environment is being specialised")
	}
	if e.config != nil {
		name := e.config.FunctionName
		e.mu.Unlock()
		return nil, nil, agentErr(ErrorTypeAlreadySpecialized, 409, "This environment is already specialised for %s", name)
	}
	c, err := parseFunctionConfigJSON(text)
	if err != nil {
		e.mu.Unlock()
		return nil, nil, err
	}
	e.state, e.config = "initializing", c
	e.specializing = make(chan struct{})
	done := e.specializing
	e.mu.Unlock()
	return c, done, nil
}

func (e *Environment) finishSpecialize(c *FunctionConfig, done chan struct{}) (*SpecializeResult, error) {
	result, installErr := e.install(c)
	e.mu.Lock()
	e.specializing = nil
	e.mu.Unlock()
	close(done)
	if installErr != nil {
		return nil, installErr
	}
	return result, nil
}

func (e *Environment) install(c *FunctionConfig) (*SpecializeResult, error) {
	setLogContext(map[string]any{"functionName": c.FunctionName, "version": c.Version, "namespace": c.Namespace})
	e.streamName = logStreamName(c.Version, time.Now(), randomHexBytes(16))
	started := time.Now()
	unzipped, err := installArtifacts(c, e.settings.TaskRoot, e.settings.OptRoot)
	if err != nil {
		e.mu.Lock()
		e.state, e.config = "generic", nil
		e.mu.Unlock()
		agentLog("warn", "specialisation failed", "error", err.Message)
		return nil, err
	}
	agentLog("info", "artifacts installed", "unzippedBytes", unzipped, "layers", len(c.Layers))
	artifactsMs := monotonicMs(started)
	// A failed Init's log (what the runtime wrote before it failed) is the tail of the invoke
	// that reports the failure.
	e.log.beginCapture()
	init := e.runtime.init(c, e.streamName)
	e.mu.Lock()
	defer e.mu.Unlock()
	d := init.DurationMs
	e.unreportedInitMs, e.unreportedInitEnd = &d, time.Now()
	if init.OK {
		e.log.endCapture()
		e.state = "ready"
		return &SpecializeResult{State: "ready", InitDurationMs: d, ArtifactsDurationMs: artifactsMs}, nil
	}
	e.state = "failed"
	e.pendingInitFailure = init.Failure
	desc := describeInitFailure(init.Failure)
	return &SpecializeResult{State: "failed", InitDurationMs: d, ArtifactsDurationMs: artifactsMs, InitError: &desc}, nil
}

// claim takes the environment synchronously, so a concurrent invoke is refused before its body is read.
func (e *Environment) claim() (release func(), err *AgentError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == "generic" {
		return nil, notSpecialized()
	}
	if e.busy {
		return nil, environmentBusy()
	}
	e.busy = true
	return func() {
		e.mu.Lock()
		e.busy = false
		e.mu.Unlock()
	}, nil
}

func msSince(t, received time.Time) float64 { return float64(t.Sub(received).Nanoseconds()) / 1e6 }

// invoke runs one invocation; the caller holds the claim.
func (e *Environment) invoke(req *InvokeRequest) (*InvokeResult, error) {
	received := time.Now()
	e.mu.Lock()
	specializing := e.specializing
	e.mu.Unlock()
	if specializing != nil {
		<-specializing
	}
	e.mu.Lock()
	c := e.config
	if c == nil {
		e.mu.Unlock()
		return nil, notSpecialized()
	}
	initDurationMs, initEnded := e.unreportedInitMs, e.unreportedInitEnd
	e.unreportedInitMs = nil
	phase := e.invokePhase
	recorded := e.pendingInitFailure
	e.pendingInitFailure = nil
	e.mu.Unlock()
	initPhase := func() *float64 {
		if initDurationMs == nil {
			return nil
		}
		v := msSince(initEnded, received) - *initDurationMs
		return &v
	}
	<-phase
	e.runtime.resetAfterExtensionFailure()
	e.runtime.awaitFree(time.Duration(c.Timeout) * time.Second)
	resetBefore := e.runtime.takeIdleDeath()

	if recorded != nil {
		return e.failedInit(req, c, recorded, initDurationMs, resetBefore,
			PhaseTimings{initPhase(), msSince(time.Now(), received), 0}), nil
	}
	if !e.runtime.running() {
		// Suppressed init: the runtime is (re)started inside this invoke, as Lambda retries Init.
		e.log.beginCapture()
		init := e.runtime.init(c, e.streamName)
		d := init.DurationMs
		initDurationMs, initEnded = &d, time.Now()
		if !init.OK {
			e.setState("failed")
			return e.failedInit(req, c, init.Failure, initDurationMs, resetBefore,
				PhaseTimings{initPhase(), msSince(initEnded, received), 0}), nil
		}
		e.setState("ready")
	}

	requestID := req.RequestID
	traceID := req.TraceID
	if traceID == "" {
		traceID = newTraceID(nowMs(), randomHexBytes) // Lambda always sets one
	}
	telemetry := e.runtime.telemetry
	started := time.Now()
	e.log.beginCapture()
	e.log.platformLine(startLine(requestID, c.Version))
	telemetry.emit("platform.start", recordStart(requestID, c.Version, traceID))
	arn := req.InvokedFunctionArn
	if arn == "" {
		arn = c.FunctionArn
	}
	body := req.Body
	if len(body) == 0 {
		body = []byte("{}") // Lambda only accepts JSON payloads; an empty one is the event {}
	}
	report := e.runtime.invoke(&Invocation{RequestID: requestID, Body: body, ContentType: req.ContentType,
		InvokedFunctionArn: arn, TraceID: traceID, ClientContext: req.ClientContext, Sink: req.Sink}, c)
	answer := answerFor(report.End, requestID, c.Timeout)
	switch report.End.Kind {
	case "timeout":
		e.log.platformLine(timeoutLine(time.Now(), requestID, c.Timeout))
	case "exit":
		e.log.platformLine("RequestId: " + requestID + " Error: " + report.End.Reason + "\n" + report.End.ErrorType)
	}
	if report.Reset {
		agentLog("warn", "environment reset", "requestId", requestID, "errorType", answer.ErrorType)
	}
	status := telemetryStatus(answer)
	errorType := answer.ErrorType
	if errorType == "" && answer.FunctionError {
		errorType = errorTypeOf(answer.Body)
	}
	telemetry.emit("platform.runtimeDone", recordRuntimeDone(requestID, status, errorType, report.DurationMs, len(answer.Body), traceID))

	// The Invoke phase ends when every extension subscribed to INVOKE is done too; REPORT then
	// counts their time, as Lambda's does. The answer does not wait for them.
	holds := !report.Reset && e.runtime.extensionsHoldInvokes()
	finish := func() {
		finalStatus, finalErrorType, finalTelemetry := answer.Status, answer.ErrorType, status
		if holds {
			ok, extErrorType, extStatus := e.runtime.awaitExtensions(started.Add(time.Duration(c.Timeout) * time.Second))
			if !ok {
				finalStatus, finalErrorType = extStatus, extErrorType
				finalTelemetry = "failure"
				if extStatus == "timeout" {
					finalTelemetry = "timeout"
				}
			}
		}
		durationMs := monotonicMs(started)
		e.log.platformLine(endLine(requestID), reportLine(Report{requestID, durationMs, c.MemorySize, report.MaxMemoryUsedBytes,
			initDurationMs, finalStatus, finalErrorType}))
		reportErrorType := finalErrorType
		if reportErrorType == "" {
			reportErrorType = errorType
		}
		telemetry.emit("platform.report", recordReport(requestID, finalTelemetry, reportErrorType, durationMs, c.MemorySize,
			usedMb(report.MaxMemoryUsedBytes), initDurationMs, traceID))
	}
	var tail []byte
	if holds {
		// The log tail goes out with the answer: it ends before END / REPORT.
		tail = e.log.endCapture()
		done := make(chan struct{})
		e.mu.Lock()
		e.invokePhase = done
		e.mu.Unlock()
		go func() {
			defer close(done)
			finish()
		}()
	} else {
		finish()
		tail = e.log.endCapture()
	}
	result := &InvokeResult{
		Body: answer.Body, Streamed: report.End.Kind == "streamed", ContentType: answer.ContentType,
		FunctionError: answer.FunctionError, ExecutedVersion: c.Version, EnvironmentReset: resetBefore || report.Reset,
		InitDurationMs: initDurationMs,
		Phases:         PhaseTimings{initPhase(), msSince(started, received), report.DurationMs},
	}
	if req.LogTail {
		result.LogTail = tail
	}
	return result, nil
}

func (e *Environment) setState(s string) {
	e.mu.Lock()
	e.state = s
	e.mu.Unlock()
}

// failedInit answers an invoke whose Init failed (now, or recorded at specialisation).
func (e *Environment) failedInit(req *InvokeRequest, c *FunctionConfig, f *InitFailure, initDurationMs *float64, reset bool, phases PhaseTimings) *InvokeResult {
	// The capture holds the failed Init's log when it ran in this agent (not after a restart).
	if !e.log.capturing() {
		e.log.beginCapture()
	}
	e.log.platformLine(startLine(req.RequestID, c.Version), endLine(req.RequestID), reportLine(Report{
		req.RequestID, 0, c.MemorySize, 0, initDurationMs, "error", f.ErrorType}))
	tail := e.log.endCapture()
	body := f.Body
	if f.Source != "runtime" {
		body = platformErrorPayload(req.RequestID, f.ErrorType, f.Reason)
	}
	result := &InvokeResult{Body: body, ContentType: "application/json", FunctionError: true, ExecutedVersion: c.Version,
		EnvironmentReset: reset, InitDurationMs: initDurationMs, Phases: phases}
	if req.LogTail {
		result.LogTail = tail
	}
	return result
}

func (e *Environment) shutdown() {
	e.mu.Lock()
	phase := e.invokePhase
	e.mu.Unlock()
	<-phase // the last invoke's REPORT reaches the log and the subscribers before SHUTDOWN
	e.runtime.shutdown()
}

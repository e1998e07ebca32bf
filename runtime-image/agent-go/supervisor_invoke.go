package main

// The supervisor's Invoke phase, resets, extensions' lifecycle and shutdown.

import (
	"strconv"
	"strings"
	"time"
)

func itoa(n int) string       { return strconv.Itoa(n) }
func fixed2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
func nowMs() int64            { return time.Now().UnixMilli() }
func describeReason(e ExitInfo) string {
	return strings.TrimPrefix(describeExit(e), "Runtime exited ")
}

// extensionsHoldInvokes: an extension subscribed to INVOKE, so each invoke's end waits for it.
func (s *Supervisor) extensionsHoldInvokes() bool {
	s.m.Lock()
	defer s.m.Unlock()
	return s.extensions.subscribed("INVOKE")
}

// awaitExtensions: the Invoke phase ends once every extension subscribed to INVOKE polls again.
// One still busy at the deadline, or one that failed, resets the environment.
func (s *Supervisor) awaitExtensions(deadline time.Time) (ok bool, errorType, status string) {
	done := s.m.until(func() bool { return s.extensions.allReady("INVOKE") || s.extensionFailure != nil }, deadline)
	s.m.Lock()
	failure := s.extensionFailure
	s.m.Unlock()
	if done && failure == nil {
		return true, "", ""
	}
	if failure != nil {
		agentLog("warn", "extension did not finish the invoke; environment reset", "errorType", failure.errorType, "reason", failure.reason)
		s.reset("failure")
		return false, failure.errorType, "error"
	}
	agentLog("warn", "extension did not finish the invoke; environment reset", "timeout", true)
	s.reset("timeout")
	return false, "Sandbox.Timedout", "timeout"
}

// reset kills the runtime and sends the extensions SHUTDOWN: the next invoke runs Init.
func (s *Supervisor) reset(reason string) {
	s.m.Lock()
	proc := s.proc
	s.proc = nil
	s.diedWhileIdle = true
	s.api.abandon()
	s.stoppingExtensions = s.stopExtensionsLocked(reason)
	s.m.Unlock()
	if proc != nil {
		proc.Kill()
		proc.Memory().Dispose()
	}
}

// stopExtensionsLocked delivers SHUTDOWN and waits (up to Lambda's allowance) before killing
// what is left; it returns at once (monitor held) with a channel closed when done.
func (s *Supervisor) stopExtensionsLocked(reason string) chan struct{} {
	procs := s.extensionProcs
	s.extensionProcs = nil
	done := make(chan struct{})
	if s.extensions.count() == 0 && len(procs) == 0 {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		s.telemetry.flush()
		s.m.Lock()
		wantsShutdown := s.extensions.subscribed("SHUTDOWN")
		grace := shutdownGrace[len(procs) > 0]
		if wantsShutdown {
			s.extensions.dispatchShutdown(reason, nowMs()+grace.Milliseconds())
		}
		s.m.Unlock()
		if wantsShutdown {
			s.m.until(func() bool { return s.extensions.allReady("SHUTDOWN") }, time.Now().Add(grace))
		}
		s.m.Lock()
		s.extensions.close()
		s.m.Unlock()
		for _, p := range procs {
			p.proc.Kill()
		}
	}()
	return done
}

func (s *Supervisor) killExtensions() {
	s.m.Lock()
	procs := s.extensionProcs
	s.extensionProcs = nil
	s.extensions.close()
	s.m.Unlock()
	for _, p := range procs {
		p.proc.Kill()
	}
}

func (s *Supervisor) onExtensionExit(ext *extensionProcess) {
	s.m.Lock()
	defer s.m.Unlock()
	s.extensions.markExited(ext.name)
	stillOurs := false
	for _, p := range s.extensionProcs {
		if p == ext {
			stillOurs = true
		}
	}
	if !stillOurs {
		return // stopped on purpose
	}
	reason := "Extension " + ext.name + " exited: " + describeReason(ext.proc.Exit())
	agentLog("warn", "extension exited", "extension", ext.name, "reason", reason)
	s.onExtensionFailure("Extension.Crash", reason)
}

// onExtensionError: an extension called /init/error or /exit/error (monitor held).
func (s *Supervisor) onExtensionError(name, errorType string) {
	s.onExtensionFailure(errorType, "Extension "+name+" reported "+errorType)
}

func (s *Supervisor) onExtensionFailure(errorType, reason string) {
	if s.initing {
		if s.initEvt == nil {
			s.initEvt = &initEvent{kind: "extension", errorType: errorType, reason: reason}
		}
	} else if s.extensionFailure == nil {
		s.extensionFailure = &initEvent{kind: "extension", errorType: errorType, reason: reason}
	}
	s.m.broadcast()
}

// resetAfterExtensionFailure: an extension failed between invokes; reset now so the next invoke runs Init.
func (s *Supervisor) resetAfterExtensionFailure() {
	s.m.Lock()
	failed := s.extensionFailure != nil && s.proc != nil
	s.m.Unlock()
	if failed {
		s.reset("failure")
	}
}

// awaitFree: an environment is free again only once its runtime polls /next. One that exits
// instead, or does not poll within timeout, is reset; the caller then runs Init afresh.
func (s *Supervisor) awaitFree(timeout time.Duration) {
	s.m.Lock()
	proc := s.proc
	polling := s.api.isPolling()
	s.m.Unlock()
	if proc == nil || polling {
		return
	}
	exited := false
	polled := s.m.until(func() bool {
		select {
		case <-proc.Exited():
			exited = true
		default:
		}
		return exited || s.api.isPolling()
	}, time.Now().Add(timeout))
	s.m.Lock()
	if (polled && !exited) || s.proc != proc {
		s.m.Unlock()
		return
	}
	s.proc = nil
	s.diedWhileIdle = true
	s.m.Unlock()
	proc.Kill()
	proc.Memory().Dispose()
	agentLog("warn", "runtime never asked for the next invocation; reset")
}

// invoke runs one invocation on the initialised runtime; resets it after a timeout or death.
func (s *Supervisor) invoke(inv *Invocation, c *FunctionConfig) InvocationReport {
	timeout := time.Duration(c.Timeout) * time.Second
	started := time.Now()
	s.m.Lock()
	proc := s.proc
	active := &activeInvocation{requestID: inv.RequestID}
	s.active = active
	inv.DeadlineMs = nowMs() + timeout.Milliseconds()
	s.api.deliver(inv)
	s.extensions.dispatchInvoke(InvokeEvent{inv.RequestID, inv.InvokedFunctionArn, inv.TraceID, inv.DeadlineMs})
	s.m.Unlock()

	timer := time.NewTimer(timeout)
	sampler := time.NewTicker(time.Duration(s.settings.MemorySampleMs) * time.Millisecond)
	for {
		s.m.Lock()
		if active.ended() {
			s.m.Unlock()
			break
		}
		ch := s.m.ch
		s.m.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			s.m.Lock()
			if !active.ended() {
				active.timedOut = true
			}
			s.m.Unlock()
		case <-sampler.C:
			proc.Memory().Sample(true)
		}
	}
	timer.Stop()
	sampler.Stop()
	s.m.Lock()
	s.active = nil
	s.m.Unlock()
	durationMs := monotonicMs(started)

	var end InvocationEnd
	reset := active.outcome == nil
	if reset {
		// The platform ends the invocation: late posts for it are refused, the runtime goes.
		reason := "failure"
		if active.timedOut {
			reason = "timeout"
		}
		s.m.Lock()
		s.api.abandon()
		s.proc = nil
		s.stoppingExtensions = s.stopExtensionsLocked(reason)
		s.m.Unlock()
		exit := active.exit
		if !active.exited {
			exit = proc.Kill()
		}
		proc.closed(200 * time.Millisecond)
		if active.timedOut {
			end = InvocationEnd{Kind: "timeout"}
		} else {
			end = InvocationEnd{Kind: "exit", Reason: describeExit(exit),
				ErrorType: classifyDeath(exit, proc.Memory().OOMKilled(), proc.Memory().PeakBytes(), c.MemorySize, s.log.peekCapture())}
		}
	} else {
		end = InvocationEnd{RuntimeOutcome: active.outcome, Kind: active.outcome.Kind}
		// Output the runtime wrote just before answering can still sit in the pipe.
		proc.Drain()
		proc.Memory().Sample(false)
	}
	peak := proc.Memory().PeakBytes()
	if reset {
		proc.Memory().Dispose()
	}
	return InvocationReport{End: end, DurationMs: durationMs, MaxMemoryUsedBytes: peak, Reset: reset}
}

// shutdown: the runtime gets SIGTERM (SIGKILL after 2 s); the extensions get the last
// telemetry, then SHUTDOWN (spindown) with Lambda's deadline, then SIGKILL.
func (s *Supervisor) shutdown() {
	s.dismissStandbys(nil)
	s.m.Lock()
	proc := s.proc
	s.proc = nil
	stopping := s.stoppingExtensions
	stop := s.stopExtensionsLocked("spindown")
	s.m.Unlock()
	if proc != nil {
		proc.Shutdown(shutdownGrace[true])
		proc.Memory().Dispose()
	}
	<-stop
	<-stopping
	if s.launcher != nil {
		s.launcher.close()
	}
}

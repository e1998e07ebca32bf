package main

// Standby runtimes: a generic (warm pool) environment starts the Node.js and Python runtime
// clients before any function is known. Each loads its interpreter and modules, pings the
// Runtime API and blocks reading its stdin; the one a function needs is handed that function's
// environment and working directory (runtime_env.go decides whether it can take it).

import (
	"syscall"
	"time"
)

// startStandbys starts a runtime client of each kind with no function yet.
func (s *Supervisor) startStandbys(runtimes []string, memorySize int) {
	for _, runtime := range runtimes {
		env := standbyEnvironment(s.settings.layout(), s.address)
		launch, _ := runtimeLaunch(runtime, memorySize, "", s.settings.layout(), env, isFile)
		launch.Cwd = "/" // the task root may not exist yet: the hand-over changes to it
		proc := startProcess(launch, s.memoryWatch(memorySize), s.log.sink("function"), true)
		sb := &standby{proc: proc, env: env, memorySize: memorySize}
		s.m.Lock()
		s.standbys[runtime] = sb
		s.m.Unlock()
		agentLog("info", "standby runtime started", "runtime", runtime, "pid", proc.Pid())
		go func() {
			// One that never parks would hold the environment unready: it goes after the Init limit.
			select {
			case <-proc.Exited():
			case <-time.After(time.Duration(s.settings.InitTimeoutMs) * time.Millisecond):
				s.m.Lock()
				stale := !sb.parked && s.standbys[runtime] == sb
				s.m.Unlock()
				if stale {
					agentLog("warn", "standby runtime did not park in time; killed", "runtime", runtime)
					proc.Kill()
				}
			}
			<-proc.Exited()
			s.m.Lock()
			mine := s.standbys[runtime] == sb
			if mine {
				delete(s.standbys, runtime)
				s.m.broadcast()
			}
			s.m.Unlock()
			if mine {
				proc.Memory().Dispose()
				agentLog("warn", "standby runtime exited", "runtime", runtime, "reason", describeExit(proc.Exit()))
			}
		}()
	}
}

// takeStandby is the standby that can run c with env, if one waits; every other one is dismissed.
func (s *Supervisor) takeStandby(c *FunctionConfig, env map[string]string) *RuntimeProcess {
	s.m.Lock()
	match := s.standbys[c.Runtime]
	var usable *RuntimeProcess
	if match != nil && match.proc.Alive() && match.memorySize == c.MemorySize && standbyCanTake(match.env, env) {
		usable = match.proc
	}
	s.m.Unlock()
	s.dismissStandbys(usable)
	if usable != nil {
		agentLog("info", "standby runtime takes the function", "runtime", c.Runtime, "pid", usable.Pid())
	}
	return usable
}

// standbysParked: every standby waits for its function (or there are none).
func (s *Supervisor) standbysParked() bool {
	s.m.Lock()
	defer s.m.Unlock()
	for _, sb := range s.standbys {
		if !sb.parked {
			return false
		}
	}
	return true
}

// onPing: a standby made its warm-up round trip (monitor held).
func (s *Supervisor) onPing(pid int) {
	for runtime, sb := range s.standbys {
		if sb.proc.Pid() != pid || sb.parked {
			continue
		}
		sb.parked = true
		agentLog("info", "standby runtime parked", "runtime", runtime, "pid", pid)
	}
}

func (s *Supervisor) dismissStandbys(keep *RuntimeProcess) {
	s.m.Lock()
	var victims []*RuntimeProcess
	for _, sb := range s.standbys {
		if sb.proc != keep {
			victims = append(victims, sb.proc)
		}
	}
	s.standbys = map[string]*standby{}
	s.m.Unlock()
	// An environment belongs to one function for life: the others go now, before Init goes on.
	deadline := time.After(250 * time.Millisecond)
	for _, p := range victims {
		p.killGroup(syscall.SIGKILL)
		go func() {
			p.Kill()
			p.Memory().Dispose()
		}()
	}
	for _, p := range victims {
		select {
		case <-p.Exited():
		case <-deadline:
			return
		}
	}
}

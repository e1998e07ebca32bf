// Command lamina-agent is the execution-environment agent of every function pod: the Runtime
// API (127.0.0.1) for the language runtime and the invoke server for the gateway. It either
// specialises at once (LAMINA_FUNCTION) or waits generic in the warm pool for
// POST /lamina/v1/specialize.
package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT sets another: the pod gives the
// agent 32 MiB beside the function (AGENT_MEMORY_MIB), so garbage is collected before a large
// artifact download doubles the heap towards it.
const memoryLimit = 24 << 20

// shutdownWait is how long a stopping agent lets the invocation in flight finish before the
// Shutdown phase (the pod's 4 s grace: 1 s preStop, this, then 2 s for extensions).
const shutdownWait = 1000 * time.Millisecond

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
	settings, err := readSettings(os.Environ())
	var initial *FunctionConfig
	if err == nil && settings.FunctionJSON != "" {
		var cerr *AgentError
		if initial, cerr = parseFunctionConfigJSON([]byte(settings.FunctionJSON)); cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		// Invalid configuration stops the process with a message naming the field.
		agentLog("error", "invalid configuration", "error", err.Error())
		os.Exit(2)
	}

	env := newEnvironment(settings, newFunctionLog(os.Stdout))
	runtimeAPIPort, err := env.runtime.listen()
	if err != nil {
		agentLog("error", "cannot listen", "error", err.Error())
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(settings.Host, itoa(settings.InvokePort)))
	if err != nil {
		agentLog("error", "cannot listen", "error", err.Error())
		os.Exit(1)
	}
	var specialized *FunctionConfig
	var specializing chan struct{}
	if initial != nil {
		// Claimed before the first request can arrive: an early invoke waits for this Init.
		var serr error
		if specialized, specializing, serr = env.beginSpecialize([]byte(settings.FunctionJSON)); serr != nil {
			agentLog("error", "specialisation failed", "error", serr.Error())
			os.Exit(1)
		}
	}
	if initial == nil {
		// Generic (warm pool): start the language runtimes before the first health check.
		env.startStandbys()
	}
	server := &http.Server{Handler: &invokeServer{env}}
	go server.Serve(ln)
	agentLog("info", "agent listening", "invokePort", ln.Addr().(*net.TCPAddr).Port, "runtimeApiPort", runtimeAPIPort, "pid", os.Getpid())

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-signals
		agentLog("info", "shutting down", "signal", sig.String())
		// The invocation in flight (a pod preempted or deleted while busy) finishes and its
		// answer reaches the gateway; nothing new starts. The kubelet's grace period bounds it.
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		server.Shutdown(ctx)
		cancel()
		server.Close()
		env.shutdown()
		os.Exit(0)
	}()

	if initial != nil {
		result, err := env.finishSpecialize(specialized, specializing)
		if err != nil {
			// A pod started for one function is useless without it: exit so Kubernetes reports it.
			fields := []any{"error", err.Error()}
			if ae, ok := err.(*AgentError); ok {
				fields = append(fields, "errorType", ae.Type)
			}
			agentLog("error", "specialisation failed", fields...)
			env.shutdown()
			os.Exit(1)
		}
		agentLog("info", "specialised", "state", result.State, "initDurationMs", result.InitDurationMs, "artifactsDurationMs", result.ArtifactsDurationMs)
	}
	select {}
}

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

func fixedHex(n int) string { return strings.Repeat("ab", n) }

func TestTraceIDs(t *testing.T) {
	if got := fromAmznTraceID("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", fixedHex); got !=
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=abababababababab;Sampled=1" {
		t.Errorf("filled-in header: %s", got)
	}
	if got := fromAmznTraceID("Root=nonsense", fixedHex); got != "" {
		t.Errorf("malformed root kept: %s", got)
	}
	if got := fromTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"); got !=
		"Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1" {
		t.Errorf("traceparent: %s", got)
	}
	if fromTraceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01") != "" {
		t.Error("an all-zero trace id is invalid")
	}
	if got := newTraceID(1_700_000_000_000, fixedHex); got != "Root=1-6553f100-abababababababababababab;Parent=abababababababab;Sampled=0" {
		t.Errorf("new root: %s", got)
	}
}

func TestExitWording(t *testing.T) {
	cases := map[string]ExitInfo{
		"Runtime exited with error: exit status 1":  {Code: 1},
		"Runtime exited with error: signal: killed": {Code: -1, Signal: syscall.SIGKILL},
		"Runtime exited without providing a reason": {Code: 0},
	}
	for want, exit := range cases {
		if got := describeExit(exit); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestOutOfMemoryClassification(t *testing.T) {
	killed := ExitInfo{Code: -1, Signal: syscall.SIGKILL}
	if classifyDeath(killed, false, 120*1024*1024, 128, "") != "Runtime.OutOfMemory" {
		t.Error("a SIGKILL near the limit is OutOfMemory")
	}
	if classifyDeath(killed, false, 10*1024*1024, 128, "") != "Runtime.ExitError" {
		t.Error("a SIGKILL far below the limit is an ExitError")
	}
	if classifyDeath(killed, true, 0, 128, "") != "Runtime.OutOfMemory" {
		t.Error("the OOM counter decides")
	}
	if classifyDeath(ExitInfo{Code: -1, Signal: syscall.SIGABRT}, false, 0, 128, "FATAL ERROR: heap out of memory") != "Runtime.OutOfMemory" {
		t.Error("V8's abort is OutOfMemory")
	}
}

func TestReportLine(t *testing.T) {
	init := 12.345
	got := reportLine(Report{"r1", 1.5, 128, 3 * 1024 * 1024, &init, "timeout", "Sandbox.Timedout"})
	want := "REPORT RequestId: r1\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 3 MB\t" +
		"Init Duration: 12.35 ms\tStatus: timeout\tError Type: Sandbox.Timedout\t"
	if got != want {
		t.Errorf("got %q", got)
	}
}

func TestRuntimeEnvironment(t *testing.T) {
	l := RuntimeLayout{"/var/task", "/opt", "/var/runtime", "node", "python3"}
	c := &FunctionConfig{FunctionName: "f", Version: "$LATEST", Runtime: "python3.13", Handler: "app.handler", MemorySize: 256,
		Region: "eu-west-1", InitializationType: "on-demand", Environment: map[string]string{"PATH": "/mine", "S": "plain"}}
	env := runtimeEnvironment(c, l, "127.0.0.1:9001", "stream", map[string]string{"S": "secret", "K": "k"})
	if env["PATH"] != "/mine" || env["S"] != "plain" || env["K"] != "k" || env["AWS_REGION"] != "eu-west-1" ||
		env["TZ"] != ":UTC" || env["_HANDLER"] != "app.handler" {
		t.Errorf("unexpected environment %v", env)
	}
	if _, moved := env["LAMINA_OPT_ROOT"]; moved {
		t.Error("LAMINA_OPT_ROOT is only set when the opt root moved")
	}
	standbyEnv := standbyEnvironment(l, "127.0.0.1:9001")
	if !standbyCanTake(standbyEnv, runtimeEnvironment(c, l, "x", "s", nil)) {
		t.Error("a plain function can take the standby")
	}
	c.Environment = map[string]string{"NODE_OPTIONS": "--no-warnings"}
	if standbyCanTake(standbyEnv, runtimeEnvironment(c, l, "x", "s", nil)) {
		t.Error("a start-up variable the standby lacks needs a fresh runtime")
	}
}

func TestMissingBootstrap(t *testing.T) {
	l := RuntimeLayout{"/t", "/o", "/r", "node", "python3"}
	_, failure := runtimeLaunch("provided.al2023", 128, "", l, nil, func(string) bool { return false })
	if failure == nil || failure.ErrorMessage != "Couldn't find valid bootstrap(s): [/t/bootstrap /o/bootstrap]" {
		t.Fatalf("got %+v", failure)
	}
}

func TestSubscriptionValidation(t *testing.T) {
	s, err := parseSubscription("telemetry", []byte(`{"schemaVersion":"2022-12-13","destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/x"},"types":["platform","function","platform"]}`))
	if err != nil || s.URL != "http://127.0.0.1:4243/x" || len(s.Types) != 2 || s.Buffering.MaxItems != 1000 {
		t.Fatalf("got %+v, %v", s, err)
	}
	if _, err := parseSubscription("telemetry", []byte(`{"schemaVersion":"2022-12-13","destination":{"protocol":"HTTP","URI":"http://example.com:80"},"types":["platform"]}`)); err == nil {
		t.Error("a destination outside the sandbox is refused")
	}
	logs := asLogsAPIEvents(TelemetryEvent{"t", "platform.runtimeDone", map[string]any{"requestId": "r", "status": "success"}})
	if len(logs) != 2 || logs[1].Type != "platform.end" {
		t.Errorf("logs API view: %+v", logs)
	}
}

func TestLogStreamName(t *testing.T) {
	got := logStreamName("$LATEST", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), "ff")
	if got != "2024/01/31/[$LATEST]ff" {
		t.Errorf("got %s", got)
	}
}

func TestParseLaunchReport(t *testing.T) {
	cases := map[string]LaunchReport{
		"pid 42":             {Kind: "pid", Pid: 42},
		"exit 3":             {Kind: "exit", Code: 3},
		"signal 9":           {Kind: "exit", Code: -1, Signal: syscall.SIGKILL},
		"error 2 /bin/entry": {Kind: "error", Errno: syscall.ENOENT, Path: "/bin/entry"},
	}
	for line, want := range cases {
		if got, ok := parseLaunchReport(line); !ok || got != want {
			t.Errorf("%q: got %+v", line, got)
		}
	}
	if _, ok := parseLaunchReport("hello"); ok {
		t.Error("a line that is not a report was parsed")
	}
	if got := describeExit(ExitInfo{Code: -1, Spawn: syscall.EACCES, SpawnCmd: "/entry"}); got != "fork/exec /entry: permission denied" {
		t.Errorf("got %s", got)
	}
}

package main

// What the runtime process is started with: command line, environment and working
// directory. Pure, so the variable rules are unit-tested without a process.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// RuntimeLayout is where the image keeps the function, its layers and the runtimes.
type RuntimeLayout struct {
	TaskRoot, OptRoot, RuntimeDir, NodeBin, PythonBin string
}

func (s *Settings) layout() RuntimeLayout {
	return RuntimeLayout{s.TaskRoot, s.OptRoot, s.RuntimeDir, s.NodeBin, s.PythonBin}
}

// Launch is a process to start.
type Launch struct {
	Command string
	Args    []string
	Env     map[string]string
	Cwd     string
}

// LaunchFailure is an Init failure decided before any process exists.
type LaunchFailure struct{ ErrorType, ErrorMessage string }

// logStreamName looks like `2024/01/31/[$LATEST]<32 hex>`.
func logStreamName(version string, now time.Time, hex string) string {
	return fmt.Sprintf("%s/[%s]%s", now.UTC().Format("2006/01/02"), version, hex)
}

var nodeMajorPattern = regexp.MustCompile(`^nodejs(\d+)\.x$`)

func nodeMajor(runtime string) string {
	if m := nodeMajorPattern.FindStringSubmatch(runtime); m != nil {
		return m[1]
	}
	return "20"
}

// platformDefaults are unreserved: the user may replace them wholesale, as on Lambda.
func platformDefaults(l RuntimeLayout, runtime string) map[string]string {
	node := nodeMajor(runtime)
	return map[string]string{
		"PATH":            "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:" + l.OptRoot + "/bin",
		"LD_LIBRARY_PATH": fmt.Sprintf("/var/lang/lib:/lib64:/usr/lib64:%[1]s:%[1]s/lib:%[2]s:%[2]s/lib:%[3]s/lib", l.RuntimeDir, l.TaskRoot, l.OptRoot),
		"NODE_PATH":       fmt.Sprintf("%[1]s/nodejs/node%[4]s/node_modules:%[1]s/nodejs/node_modules:%[2]s/node_modules:%[2]s:%[3]s", l.OptRoot, l.RuntimeDir, l.TaskRoot, node),
		"PYTHONPATH":      l.RuntimeDir,
		"LANG":            "en_US.UTF-8",
	}
}

func runtimeEnvironment(c *FunctionConfig, l RuntimeLayout, runtimeAPI, streamName string, secrets map[string]string) map[string]string {
	env := platformDefaults(l, c.Runtime)
	for _, layer := range []map[string]string{secrets, c.Environment, {
		"_HANDLER":                        c.Handler,
		"AWS_LAMBDA_FUNCTION_NAME":        c.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     c.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": fmt.Sprint(c.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + c.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      streamName,
		"AWS_LAMBDA_RUNTIME_API":          runtimeAPI,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  c.InitializationType,
		"AWS_REGION":                      c.Region,
		"AWS_DEFAULT_REGION":              c.Region,
		"AWS_EXECUTION_ENV":               "AWS_Lambda_" + c.Runtime,
		"LAMBDA_TASK_ROOT":                l.TaskRoot,
		"LAMBDA_RUNTIME_DIR":              l.RuntimeDir,
		"TZ":                              ":UTC",
	}} {
		for k, v := range layer {
			env[k] = v
		}
	}
	// The Python client finds layer paths under /opt; tell it only when that moved (tests).
	if strings.HasPrefix(c.Runtime, "python") && l.OptRoot != "/opt" {
		env["LAMINA_OPT_ROOT"] = l.OptRoot
	}
	return env
}

// standbyEnvironment is what a standby runtime starts with: the platform's defaults, no function.
func standbyEnvironment(l RuntimeLayout, runtimeAPI string) map[string]string {
	env := platformDefaults(l, "")
	env["TZ"] = ":UTC"
	env["AWS_LAMBDA_RUNTIME_API"] = runtimeAPI
	env["LAMBDA_TASK_ROOT"] = l.TaskRoot
	env["LAMBDA_RUNTIME_DIR"] = l.RuntimeDir
	env["LAMINA_STANDBY"] = "1"
	return env
}

var (
	startupPrefixes = []string{"LD_", "MALLOC_", "GLIBC_", "NODE_", "UV_", "PYTHON", "LC_"}
	startupNames    = []string{"LANG", "LANGUAGE", "TZ", "AWS_LAMBDA_EXEC_WRAPPER", "OPENSSL_CONF"}
)

// readAtStartup: variables read once when a process starts (NODE_PATH is re-read by the Node.js client).
func readAtStartup(name string) bool {
	if name == "NODE_PATH" {
		return false
	}
	if contains(startupNames, name) {
		return true
	}
	for _, p := range startupPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// standbyCanTake: a standby started with standbyEnv behaves as if started with functionEnv.
func standbyCanTake(standbyEnv, functionEnv map[string]string) bool {
	for _, m := range []map[string]string{standbyEnv, functionEnv} {
		for name := range m {
			a, aok := standbyEnv[name]
			b, bok := functionEnv[name]
			if readAtStartup(name) && (a != b || aok != bok) {
				return false
			}
		}
	}
	return true
}

func nodeArgs(memorySize int) []string {
	newSpace := memorySize / 10
	semi := newSpace / 2
	if semi < 1 {
		semi = 1
	}
	return []string{"--expose-gc", "--max-http-header-size=81920",
		fmt.Sprintf("--max-semi-space-size=%d", semi), fmt.Sprintf("--max-old-space-size=%d", memorySize-newSpace)}
}

func javaArgs(memorySize int, runtimeDir, handler string) []string {
	return []string{
		fmt.Sprintf("-XX:MaxHeapSize=%dk", int(float64(memorySize*1024)*0.85)),
		"-XX:+UseSerialGC", "-Xshare:auto", "-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1",
		"--add-opens=java.base/java.io=ALL-UNNAMED", "-Djava.net.preferIPv4Stack=true", "-XX:+ErrorFileToStderr",
		"-classpath", runtimeDir + "/lib/*", "com.amazonaws.services.lambda.runtime.api.client.AWSLambda", handler,
	}
}

func runtimeLaunch(runtime string, memorySize int, handler string, l RuntimeLayout, env map[string]string, isFile func(string) bool) (*Launch, *LaunchFailure) {
	cwd := l.TaskRoot
	switch runtime {
	case "nodejs18.x", "nodejs20.x", "nodejs24.x":
		return &Launch{l.NodeBin, append(nodeArgs(memorySize), l.RuntimeDir+"/node/index.mjs"), env, cwd}, nil
	case "python3.11", "python3.13", "python3.14":
		return &Launch{l.PythonBin, []string{l.RuntimeDir + "/python/bootstrap.py"}, env, cwd}, nil
	case "java17", "java21":
		return &Launch{"java", javaArgs(memorySize, l.RuntimeDir, handler), env, cwd}, nil
	default:
		candidates := []string{l.TaskRoot + "/bootstrap", l.OptRoot + "/bootstrap"}
		for _, c := range candidates {
			if isFile(c) {
				return &Launch{c, nil, env, cwd}, nil
			}
		}
		return nil, &LaunchFailure{"Runtime.InvalidEntrypoint", fmt.Sprintf("Couldn't find valid bootstrap(s): [%s]", strings.Join(candidates, " "))}
	}
}

// environ turns a variable map into a sorted KEY=value list.
func environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

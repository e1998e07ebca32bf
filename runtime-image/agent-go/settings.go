package main

// The agent's own settings, read once from its environment. The defaults are the image's
// layout; tests override the paths and ports so the agent runs as an ordinary process.

import (
	"fmt"
	"strconv"
	"strings"
)

// Settings are the agent's, not the function's.
type Settings struct {
	Host           string
	InvokePort     int
	RuntimeAPIPort int
	TaskRoot       string
	OptRoot        string
	RuntimeDir     string
	FunctionJSON   string
	// Launcher: where an image function's launcher and its sockets live (container_runtime.go).
	Launcher          LauncherPaths
	MemoryCgroup      string
	InitTimeoutMs     int
	NodeBin           string
	PythonBin         string
	MemorySampleMs    int
	StandbyRuntimes   []string
	StandbyMemorySize int
	// SecretEnvironment holds the function's Secret values (LAMINA_SECRET_<KEY>, prefix removed).
	SecretEnvironment map[string]string
}

// standbyRuntimes are the runtimes whose client can start before its function is known.
var standbyRuntimes = []string{"nodejs20.x", "python3.13"}

const secretPrefix = "LAMINA_SECRET_"

// readSettings parses the environment (KEY=value list) or names the offending variable.
func readSettings(environ []string) (*Settings, error) {
	env := map[string]string{}
	secrets := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		if strings.HasPrefix(k, secretPrefix) {
			secrets[strings.TrimPrefix(k, secretPrefix)] = v
		}
	}
	var bad []string
	get := func(key, def string) string {
		if v, ok := env[key]; ok {
			return v
		}
		return def
	}
	num := func(key string, def, min, max int) int {
		raw, ok := env[key]
		if !ok {
			return def
		}
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || n < min || n > max {
			bad = append(bad, fmt.Sprintf("%s: expected an integer from %d to %d", key, min, max))
		}
		return n
	}
	path := func(key, def string) string {
		v := get(key, def)
		if !strings.HasPrefix(v, "/") {
			bad = append(bad, key+": must start with /")
		}
		return v
	}
	s := &Settings{
		Host:           get("LAMINA_AGENT_HOST", "0.0.0.0"),
		InvokePort:     num("LAMINA_AGENT_PORT", AgentPort, 0, 65535),
		RuntimeAPIPort: num("LAMINA_RUNTIME_API_PORT", 9001, 0, 65535),
		TaskRoot:       path("LAMINA_TASK_ROOT", "/var/task"),
		OptRoot:        path("LAMINA_OPT_ROOT", "/opt"),
		RuntimeDir:     path("LAMINA_RUNTIME_DIR", "/var/runtime"),
		FunctionJSON:   env["LAMINA_FUNCTION"],
		Launcher: LauncherPaths{
			Dir:          path("LAMINA_LAUNCH_DIR", "/lamina"),
			Binary:       path("LAMINA_LAUNCHER", "/var/lamina/lamina-launch"),
			ExpectedFile: path("LAMINA_RUNTIME_EXPECTED_FILE", "/tmp/.lamina-runtime-expected"),
		},
		InitTimeoutMs:     num("LAMINA_INIT_TIMEOUT_MS", 10_000, 1, 1<<31-1),
		NodeBin:           get("LAMINA_NODE_BIN", "node"),
		PythonBin:         get("LAMINA_PYTHON_BIN", "python3"),
		MemorySampleMs:    num("LAMINA_MEMORY_SAMPLE_MS", 100, 1, 1<<31-1),
		SecretEnvironment: secrets,
	}
	if v, ok := env["LAMINA_MEMORY_CGROUP"]; ok {
		s.MemoryCgroup = path("LAMINA_MEMORY_CGROUP", v)
	}
	if _, ok := env["LAMINA_STANDBY_MEMORY_SIZE"]; ok {
		s.StandbyMemorySize = num("LAMINA_STANDBY_MEMORY_SIZE", 0, 128, 10240)
	}
	list := get("LAMINA_STANDBY_RUNTIMES", strings.Join(standbyRuntimes, ","))
	for _, name := range strings.Split(list, ",") {
		if name == "" {
			continue
		}
		if !contains(standbyRuntimes, name) {
			bad = append(bad, fmt.Sprintf("LAMINA_STANDBY_RUNTIMES: %q is not one of %s", name, strings.Join(standbyRuntimes, ", ")))
		}
		s.StandbyRuntimes = append(s.StandbyRuntimes, name)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("invalid agent settings: %s", strings.Join(bad, "; "))
	}
	return s, nil
}

// standby reports whether this is a warm-pool agent that starts runtimes before its function.
func (s *Settings) standby() bool { return s.StandbyMemorySize > 0 && len(s.StandbyRuntimes) > 0 }

func contains(list []string, item string) bool {
	for _, v := range list {
		if v == item {
			return true
		}
	}
	return false
}

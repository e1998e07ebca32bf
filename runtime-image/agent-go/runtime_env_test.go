package main

import (
	"reflect"
	"strings"
	"testing"
)

var imageLayout = RuntimeLayout{"/var/task", "/opt", "/var/runtime", "/usr/bin/node", "python3"}

func nodeConfig(runtime string, env map[string]string) *FunctionConfig {
	return &FunctionConfig{FunctionName: "calc", Version: "3", Runtime: runtime, Handler: "index.handler", MemorySize: 512,
		Region: "eu-west-1", InitializationType: "on-demand", Environment: env}
}

func TestRuntimeEnvironmentIsLambdas(t *testing.T) {
	env := runtimeEnvironment(nodeConfig("nodejs20.x", nil), imageLayout, "127.0.0.1:9001", "2026/01/02/[3]abc", nil)
	want := map[string]string{
		"PATH":                            "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH":                 "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
		"NODE_PATH":                       "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task",
		"PYTHONPATH":                      "/var/runtime",
		"LANG":                            "en_US.UTF-8",
		"_HANDLER":                        "index.handler",
		"AWS_LAMBDA_FUNCTION_NAME":        "calc",
		"AWS_LAMBDA_FUNCTION_VERSION":     "3",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/calc",
		"AWS_LAMBDA_LOG_STREAM_NAME":      "2026/01/02/[3]abc",
		"AWS_LAMBDA_RUNTIME_API":          "127.0.0.1:9001",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_nodejs20.x",
		"LAMBDA_TASK_ROOT":                "/var/task",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"TZ":                              ":UTC",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("got %v", env)
	}
	if got := runtimeEnvironment(nodeConfig("nodejs24.x", nil), imageLayout, "a:1", "s", nil)["NODE_PATH"]; !strings.HasPrefix(got, "/opt/nodejs/node24/node_modules:") {
		t.Errorf("nodejs24.x layers: %s", got)
	}
}

func TestMovedOptRoot(t *testing.T) {
	moved := imageLayout
	moved.OptRoot = "/tmp/x/opt"
	env := runtimeEnvironment(nodeConfig("python3.13", nil), moved, "a:1", "s", nil)
	if !strings.HasSuffix(env["PATH"], ":/tmp/x/opt/bin") || !strings.HasSuffix(env["LD_LIBRARY_PATH"], ":/tmp/x/opt/lib") ||
		!strings.HasPrefix(env["NODE_PATH"], "/tmp/x/opt/nodejs/node20/node_modules:/tmp/x/opt/nodejs/node_modules:") ||
		env["LAMINA_OPT_ROOT"] != "/tmp/x/opt" {
		t.Errorf("got %v", env)
	}
}

func TestSecretsLoseToPlainVariablesAndReservedOnes(t *testing.T) {
	s, err := readSettings([]string{"LAMINA_SECRET_DB_PASSWORD=s3cret", "LAMINA_AGENT_PORT=8080", "HOME=/tmp"})
	if err != nil || !reflect.DeepEqual(s.SecretEnvironment, map[string]string{"DB_PASSWORD": "s3cret"}) {
		t.Fatalf("got %+v, %v", s, err)
	}
	env := runtimeEnvironment(nodeConfig("nodejs20.x", map[string]string{"TOKEN": "plain"}), imageLayout, "a:1", "s",
		map[string]string{"TOKEN": "secret", "AWS_REGION": "mars-1", "DB_PASSWORD": "s3cret"})
	if env["TOKEN"] != "plain" || env["AWS_REGION"] != "eu-west-1" || env["DB_PASSWORD"] != "s3cret" {
		t.Errorf("got %v", env)
	}
}

func TestRuntimeCommands(t *testing.T) {
	always := func(string) bool { return true }
	node, _ := runtimeLaunch("nodejs20.x", 512, "index.handler", imageLayout, nil, always)
	if node.Command != "/usr/bin/node" || node.Cwd != "/var/task" || !reflect.DeepEqual(node.Args, []string{"--expose-gc",
		"--max-http-header-size=81920", "--max-semi-space-size=25", "--max-old-space-size=461", "/var/runtime/node/index.mjs"}) {
		t.Errorf("node: %+v", node)
	}
	for _, runtime := range []string{"python3.11", "python3.13", "python3.14"} {
		py, _ := runtimeLaunch(runtime, 512, "app.handler", imageLayout, nil, always)
		if py.Command != "python3" || !reflect.DeepEqual(py.Args, []string{"/var/runtime/python/bootstrap.py"}) {
			t.Errorf("%s: %+v", runtime, py)
		}
	}
	java, _ := runtimeLaunch("java21", 512, "example.Hello::handleRequest", imageLayout, nil, always)
	if java.Command != "java" || !reflect.DeepEqual(java.Args, []string{"-XX:MaxHeapSize=445644k", "-XX:+UseSerialGC",
		"-Xshare:auto", "-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1", "--add-opens=java.base/java.io=ALL-UNNAMED",
		"-Djava.net.preferIPv4Stack=true", "-XX:+ErrorFileToStderr", "-classpath", "/var/runtime/lib/*",
		"com.amazonaws.services.lambda.runtime.api.client.AWSLambda", "example.Hello::handleRequest"}) {
		t.Errorf("java: %+v", java)
	}
	fromOpt, _ := runtimeLaunch("provided", 128, "", imageLayout, nil, func(p string) bool { return p == "/opt/bootstrap" })
	fromTask, _ := runtimeLaunch("provided.al2023", 128, "", imageLayout, nil, always)
	if fromOpt.Command != "/opt/bootstrap" || fromTask.Command != "/var/task/bootstrap" {
		t.Errorf("bootstrap: %+v %+v", fromOpt, fromTask)
	}
}

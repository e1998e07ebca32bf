package main

import (
	"strings"
	"testing"
)

const validConfig = `{"functionName":"calc","namespace":"default","version":"$LATEST","runtime":"nodejs20.x",
"handler":"index.handler","memorySize":128,"timeout":3,"functionArn":"arn:aws:lambda:us-east-1:default:function:calc",
"code":{"url":"http://store/blobs/sha256/x","sha256":"` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"}}`

func TestValidConfigGetsDefaults(t *testing.T) {
	c, err := parseFunctionConfigJSON([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.PackageType != "Zip" || c.Region != "us-east-1" || c.InitializationType != "on-demand" ||
		c.MaxUnzippedBytes != MaxUnzippedBytes || len(c.Layers) != 0 || len(c.Environment) != 0 {
		t.Fatalf("defaults not filled in: %+v", c)
	}
}

func TestInvalidConfigNamesEveryField(t *testing.T) {
	text := strings.Replace(strings.Replace(strings.Replace(validConfig, `"index.handler"`, `""`, 1),
		`"nodejs20.x"`, `"cobol"`, 1), `"memorySize":128`, `"memorySize":64`, 1)
	_, err := parseFunctionConfigJSON([]byte(text))
	if err == nil || err.Type != ErrorTypeInvalidConfig || err.Status != 400 {
		t.Fatalf("want a 400 InvalidParameterValueException, got %v", err)
	}
	for _, field := range []string{"handler: ", "runtime: ", "memorySize: "} {
		if !strings.Contains(err.Message, field) {
			t.Errorf("%q does not name %s", err.Message, field)
		}
	}
}

func TestReservedEnvironmentKeysAreRefused(t *testing.T) {
	text := strings.Replace(validConfig, `"timeout":3`, `"timeout":3,"environment":{"AWS_REGION":"x","OK":"1"}`, 1)
	_, err := parseFunctionConfigJSON([]byte(text))
	if err == nil || !strings.Contains(err.Message, "Reserved keys used in this request: AWS_REGION") {
		t.Fatalf("got %v", err)
	}
}

func TestHandlerRequiredExceptForCustomRuntimes(t *testing.T) {
	noHandler := strings.Replace(validConfig, `"handler":"index.handler",`, "", 1)
	if _, err := parseFunctionConfigJSON([]byte(noHandler)); err == nil || !strings.Contains(err.Message, "handler: is required") {
		t.Fatalf("got %v", err)
	}
	provided := strings.Replace(noHandler, `"nodejs20.x"`, `"provided.al2023"`, 1)
	if _, err := parseFunctionConfigJSON([]byte(provided)); err != nil {
		t.Fatal(err)
	}
}

func TestNotJSON(t *testing.T) {
	if _, err := parseFunctionConfigJSON([]byte("{not json")); err == nil || !strings.Contains(err.Message, "not JSON") {
		t.Fatalf("got %v", err)
	}
}

package main

// The function configuration the gateway hands an environment (env LAMINA_FUNCTION or
// POST /lamina/v1/specialize), validated with the rules of operator/src/protocol/function-config.ts.
// Pure: JSON in, configuration or the problems (each naming its field) out.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

var (
	functionNamePattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,64}$`)
	versionPattern      = regexp.MustCompile(`^(\$LATEST|[0-9]+)$`)
	handlerPattern      = regexp.MustCompile(`^\S{1,128}$`)
	envKeyPattern       = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
	sha256Pattern       = regexp.MustCompile(`^[a-f0-9]{64}$`)
	artifactURLPattern  = regexp.MustCompile(`^(https?|file)://`)
	base64Pattern       = regexp.MustCompile(`^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`)
)

// Artifact is a zip the agent fetches (or receives inline) and verifies by digest.
type Artifact struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Inline string `json:"inline,omitempty"`
}

// FunctionConfig is a validated configuration with every default filled in.
type FunctionConfig struct {
	FunctionName       string            `json:"functionName"`
	Namespace          string            `json:"namespace"`
	Version            string            `json:"version"`
	Runtime            string            `json:"runtime"`
	Handler            string            `json:"handler,omitempty"`
	HasHandler         bool              `json:"-"`
	MemorySize         int               `json:"memorySize"`
	Timeout            int               `json:"timeout"`
	Environment        map[string]string `json:"environment"`
	PackageType        string            `json:"packageType"`
	Code               *Artifact         `json:"code,omitempty"`
	Layers             []*Artifact       `json:"layers"`
	FunctionArn        string            `json:"functionArn"`
	Region             string            `json:"region"`
	InitializationType string            `json:"initializationType"`
	MaxUnzippedBytes   int64             `json:"maxUnzippedBytes"`
}

// IsImage reports a function whose runtime is its own container's entry point.
func (c *FunctionConfig) IsImage() bool { return c.PackageType == "Image" }

type problems []string

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, field+": "+fmt.Sprintf(format, args...))
}

// parseFunctionConfigJSON validates the JSON text of a configuration; the error is the
// agent's InvalidParameterValueException naming each bad field.
func parseFunctionConfigJSON(text []byte) (*FunctionConfig, *AgentError) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, invalidConfig(fmt.Sprintf("Invalid function configuration: not JSON (%s)", err))
	}
	if dec.More() {
		return nil, invalidConfig("Invalid function configuration: not JSON (unexpected data after the document)")
	}
	config, bad := checkFunctionConfig(raw)
	if len(bad) > 0 {
		return nil, invalidConfig("Invalid function configuration: " + strings.Join(bad, "; "))
	}
	return config, nil
}

func checkFunctionConfig(input any) (*FunctionConfig, problems) {
	var bad problems
	obj, ok := input.(map[string]any)
	if !ok {
		bad.add("(root)", "Invalid input: expected object, received %s", jsonKind(input))
		return nil, bad
	}
	c := &FunctionConfig{}
	str := func(key string, required bool) (string, bool) {
		v, present := obj[key]
		if !present || v == nil {
			if required {
				bad.add(key, "Invalid input: expected string, received undefined")
			}
			return "", false
		}
		s, isString := v.(string)
		if !isString {
			bad.add(key, "Invalid input: expected string, received %s", jsonKind(v))
			return "", false
		}
		return s, true
	}
	intField := func(key string, min, max int64, def *int64) (int64, bool) {
		v, present := obj[key]
		if !present || v == nil {
			if def != nil {
				return *def, true
			}
			bad.add(key, "Invalid input: expected number, received undefined")
			return 0, false
		}
		n, isNumber := v.(json.Number)
		if !isNumber {
			bad.add(key, "Invalid input: expected number, received %s", jsonKind(v))
			return 0, false
		}
		i, err := n.Int64()
		if err != nil {
			bad.add(key, "Invalid input: expected int, received number")
			return 0, false
		}
		if i < min {
			bad.add(key, "Too small: expected number to be >=%d", min)
			return 0, false
		}
		if i > max {
			bad.add(key, "Too big: expected number to be <=%d", max)
			return 0, false
		}
		return i, true
	}
	enum := func(key string, options []string, def string) string {
		s, present := str(key, def == "")
		if !present {
			if _, given := obj[key]; given || def == "" {
				return ""
			}
			return def
		}
		for _, o := range options {
			if s == o {
				return s
			}
		}
		quoted := make([]string, len(options))
		for i, o := range options {
			quoted[i] = fmt.Sprintf("%q", o)
		}
		bad.add(key, "Invalid option: expected one of %s", strings.Join(quoted, "|"))
		return ""
	}

	if s, ok := str("functionName", true); ok {
		if !functionNamePattern.MatchString(s) {
			bad.add("functionName", "must be 1-64 characters of [a-zA-Z0-9._-]")
		}
		c.FunctionName = s
	}
	if s, ok := str("namespace", true); ok {
		if len(s) < 1 || len(s) > 253 {
			bad.add("namespace", "must be 1-253 characters")
		}
		c.Namespace = s
	}
	if s, ok := str("version", true); ok {
		if !versionPattern.MatchString(s) {
			bad.add("version", "must be '$LATEST' or a version number")
		}
		c.Version = s
	}
	c.Runtime = enum("runtime", Runtimes, "")
	if s, ok := str("handler", false); ok {
		if !handlerPattern.MatchString(s) {
			bad.add("handler", "must be 1-128 characters without whitespace")
		}
		c.Handler, c.HasHandler = s, true
	}
	if n, ok := intField("memorySize", 128, 10240, nil); ok {
		c.MemorySize = int(n)
	}
	if n, ok := intField("timeout", 1, 900, nil); ok {
		c.Timeout = int(n)
	}
	c.Environment = checkEnvironment(obj["environment"], &bad)
	c.PackageType = enum("packageType", []string{"Zip", "Image"}, "Zip")
	if v, present := obj["code"]; present && v != nil {
		c.Code = checkArtifact("code", v, &bad)
	}
	c.Layers = []*Artifact{}
	if v, present := obj["layers"]; present && v != nil {
		list, isList := v.([]any)
		if !isList {
			bad.add("layers", "Invalid input: expected array, received %s", jsonKind(v))
		} else if len(list) > 5 {
			bad.add("layers", "Too big: expected array to have <=5 items")
		} else {
			for i, item := range list {
				c.Layers = append(c.Layers, checkArtifact(fmt.Sprintf("layers.%d", i), item, &bad))
			}
		}
	}
	if s, ok := str("functionArn", true); ok {
		if s == "" {
			bad.add("functionArn", "Too small: expected string to have >=1 characters")
		}
		c.FunctionArn = s
	}
	c.Region = "us-east-1"
	if s, ok := str("region", false); ok {
		if s == "" {
			bad.add("region", "Too small: expected string to have >=1 characters")
		}
		c.Region = s
	}
	c.InitializationType = enum("initializationType", InitializationTypes, "on-demand")
	def := int64(MaxUnzippedBytes)
	if n, ok := intField("maxUnzippedBytes", 1, 1<<53, &def); ok {
		c.MaxUnzippedBytes = n
	}
	if len(bad) == 0 {
		if !strings.HasPrefix(c.Runtime, "provided") && !c.HasHandler {
			bad.add("handler", "is required for the Node.js, Python and Java runtimes")
		}
		if c.PackageType != "Image" && c.Code == nil {
			bad.add("code", "is required for a zip function")
		}
	}
	if len(bad) > 0 {
		return nil, bad
	}
	return c, nil
}

func checkEnvironment(v any, bad *problems) map[string]string {
	env := map[string]string{}
	if v == nil {
		return env
	}
	obj, ok := v.(map[string]any)
	if !ok {
		bad.add("environment", "Invalid input: expected record, received %s", jsonKind(v))
		return env
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var reserved []string
	for _, k := range keys {
		s, isString := obj[k].(string)
		if !isString {
			bad.add("environment."+k, "Invalid input: expected string, received %s", jsonKind(obj[k]))
			continue
		}
		env[k] = s
		if isReservedKey(k) {
			reserved = append(reserved, k)
		} else if !envKeyPattern.MatchString(k) {
			bad.add("environment."+k, "key must match %s", envKeyPattern.String())
		}
	}
	if len(reserved) > 0 {
		bad.add("environment", "Lambda was unable to configure your environment variables because the environment variables you have "+
			"provided contains reserved keys that are currently not supported for modification. Reserved keys used "+
			"in this request: %s", strings.Join(reserved, ", "))
	}
	return env
}

func isReservedKey(k string) bool {
	for _, r := range ReservedEnvironmentKeys {
		if r == k {
			return true
		}
	}
	return false
}

func checkArtifact(field string, v any, bad *problems) *Artifact {
	obj, ok := v.(map[string]any)
	if !ok {
		bad.add(field, "Invalid input: expected object, received %s", jsonKind(v))
		return nil
	}
	a := &Artifact{}
	u, _ := obj["url"].(string)
	if parsed, err := url.Parse(u); err != nil || !artifactURLPattern.MatchString(u) || parsed.Scheme == "" {
		bad.add(field+".url", "must be an http(s):// or file:// URL")
	}
	a.URL = u
	digest, _ := obj["sha256"].(string)
	if !sha256Pattern.MatchString(digest) {
		bad.add(field+".sha256", "must be 64 lowercase hex characters (a sha256 digest)")
	}
	a.SHA256 = digest
	if raw, present := obj["inline"]; present && raw != nil {
		s, isString := raw.(string)
		switch {
		case !isString || !base64Pattern.MatchString(s):
			bad.add(field+".inline", "Invalid base64-encoded string")
		case len(s) > (MaxInlineArtifactBytes+2)/3*4:
			bad.add(field+".inline", "Too big: expected string to have <=%d characters", (MaxInlineArtifactBytes+2)/3*4)
		default:
			a.Inline = s
		}
	}
	return a
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// decodeInline returns the bytes sent inline with a small artifact.
func decodeInline(a *Artifact) ([]byte, error) {
	return base64.StdEncoding.DecodeString(a.Inline)
}

package main

// The Telemetry API (PUT /2022-07-01/telemetry) and the older Logs API (PUT /2020-08-15/logs),
// the pure half: what a subscription may say (Lambda's bounds and defaults), the platform
// records, and how a Logs API subscriber sees the same events. Delivery is telemetry_hub.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
)

// TelemetryEvent is one event as Lambda posts it.
type TelemetryEvent struct {
	Time   string `json:"time"`
	Type   string `json:"type"`
	Record any    `json:"record"`
}

// Buffering decides when a subscriber's batch goes out.
type Buffering struct {
	MaxItems  int `json:"maxItems"`
	MaxBytes  int `json:"maxBytes"`
	TimeoutMs int `json:"timeoutMs"`
}

type bound struct{ min, max, def int }

var bufferingBounds = map[string][3]bound{
	"telemetry": {{1000, 10_000, 1000}, {262_144, 1_048_576, 262_144}, {25, 30_000, 1000}},
	"logs":      {{1000, 10_000, 10_000}, {262_144, 1_048_576, 262_144}, {25, 30_000, 1000}},
}

var (
	telemetrySchemaVersions = []string{"2022-07-01", "2022-12-13", "2025-01-29"}
	logsSchemaVersions      = []string{"2020-08-15", "2021-03-18"}
	sandboxHosts            = []string{"sandbox.localdomain", "sandbox", "localhost", "127.0.0.1"}
)

// Subscription is one extension's subscription of one flavour.
type Subscription struct {
	Flavour   string
	Types     []string
	Buffering Buffering
	URL       string
}

// parseSubscription validates a subscription body; the error message names each bad field.
func parseSubscription(flavour string, body []byte) (*Subscription, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("Invalid JSON: %s", err)
	}
	var bad []string
	versions := telemetrySchemaVersions
	if flavour == "logs" {
		versions = logsSchemaVersions
	}
	if v, ok := raw["schemaVersion"]; ok || flavour == "telemetry" {
		s, _ := v.(string)
		if !contains(versions, s) {
			bad = append(bad, "schemaVersion: Invalid option: expected one of "+strings.Join(versions, "|"))
		}
	}
	dest, _ := raw["destination"].(map[string]any)
	uri, _ := dest["URI"].(string)
	if dest == nil || dest["protocol"] != "HTTP" || uri == "" {
		bad = append(bad, "destination: expected {protocol: \"HTTP\", URI}")
	}
	var types []string
	list, _ := raw["types"].([]any)
	if len(list) == 0 {
		bad = append(bad, "types: expected a non-empty array")
	}
	for _, t := range list {
		s, _ := t.(string)
		if s != "platform" && s != "function" && s != "extension" {
			bad = append(bad, fmt.Sprintf("types: invalid type %v", t))
		} else if !contains(types, s) {
			types = append(types, s)
		}
	}
	bounds := bufferingBounds[flavour]
	buffering := Buffering{bounds[0].def, bounds[1].def, bounds[2].def}
	if b, ok := raw["buffering"].(map[string]any); ok {
		for i, field := range []struct {
			name string
			dst  *int
		}{{"maxItems", &buffering.MaxItems}, {"maxBytes", &buffering.MaxBytes}, {"timeoutMs", &buffering.TimeoutMs}} {
			v, present := b[field.name]
			if !present {
				continue
			}
			n, err := v.(json.Number).Int64()
			if _, isNum := v.(json.Number); !isNum || err != nil || int(n) < bounds[i].min || int(n) > bounds[i].max {
				bad = append(bad, fmt.Sprintf("buffering.%s: must be an integer from %d to %d", field.name, bounds[i].min, bounds[i].max))
				continue
			}
			*field.dst = int(n)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("Invalid destination: %s is not a URI", uri)
	}
	if u.Scheme != "http" || !contains(sandboxHosts, u.Hostname()) || u.Port() == "" {
		return nil, fmt.Errorf("Invalid destination: %s (expected http://sandbox.localdomain:<port>[/<path>])", uri)
	}
	u.Host = "127.0.0.1:" + u.Port()
	if u.Path == "" {
		u.Path = "/"
	}
	return &Subscription{flavour, types, buffering, u.String()}, nil
}

func categoryOf(eventType string) string {
	if eventType == "function" || eventType == "extension" {
		return eventType
	}
	return "platform"
}

// asLogsAPIEvents is the same event for a Logs API subscriber (older records, no init records).
func asLogsAPIEvents(e TelemetryEvent) []TelemetryEvent {
	record, _ := e.Record.(map[string]any)
	with := func(t string, r map[string]any) TelemetryEvent { return TelemetryEvent{e.Time, t, r} }
	switch e.Type {
	case "platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.telemetrySubscription":
		return nil
	case "platform.start":
		return []TelemetryEvent{with(e.Type, map[string]any{"requestId": record["requestId"], "version": record["version"]})}
	case "platform.runtimeDone":
		return []TelemetryEvent{
			with(e.Type, map[string]any{"requestId": record["requestId"], "status": record["status"]}),
			with("platform.end", map[string]any{"requestId": record["requestId"]}),
		}
	case "platform.report":
		return []TelemetryEvent{with(e.Type, map[string]any{"requestId": record["requestId"], "metrics": record["metrics"]})}
	default:
		return []TelemetryEvent{e}
	}
}

// telemetryBuffer holds events until maxItems or maxBytes is reached.
type telemetryBuffer struct {
	buffering Buffering
	events    []TelemetryEvent
	bytes     int
}

// push adds an event; true when the buffer is due to be flushed.
func (b *telemetryBuffer) push(e TelemetryEvent) bool {
	b.events = append(b.events, e)
	encoded, _ := json.Marshal(e)
	b.bytes += len(encoded)
	return len(b.events) >= b.buffering.MaxItems || b.bytes >= b.buffering.MaxBytes
}

func (b *telemetryBuffer) take() []TelemetryEvent {
	out := b.events
	b.events, b.bytes = nil, 0
	return out
}

// ---- Lambda's platform records (Telemetry API schema 2022-12-13) ----------------------

func round3(ms float64) float64 { return math.Round(ms*1000) / 1000 }

func withTracing(r map[string]any, traceID string) map[string]any {
	if traceID != "" {
		r["tracing"] = map[string]any{"type": "X-Amzn-Trace-Id", "value": traceID}
	}
	return r
}

func withErrorType(r map[string]any, errorType string) map[string]any {
	if errorType != "" {
		r["errorType"] = errorType
	}
	return r
}

func recordInitStart(c *FunctionConfig) map[string]any {
	return map[string]any{"initializationType": c.InitializationType, "phase": "init", "runtimeVersion": c.Runtime,
		"functionName": c.FunctionName, "functionVersion": c.Version}
}

func recordInitRuntimeDone(initType, status, errorType string) map[string]any {
	return withErrorType(map[string]any{"initializationType": initType, "phase": "init", "status": status}, errorType)
}

func recordInitReport(initType, status string, durationMs float64, errorType string) map[string]any {
	r := withErrorType(map[string]any{"initializationType": initType, "phase": "init", "status": status}, errorType)
	r["metrics"] = map[string]any{"durationMs": round3(durationMs)}
	return r
}

func recordStart(requestID, version, traceID string) map[string]any {
	return withTracing(map[string]any{"requestId": requestID, "version": version}, traceID)
}

func recordRuntimeDone(requestID, status, errorType string, durationMs float64, producedBytes int, traceID string) map[string]any {
	r := withErrorType(map[string]any{"requestId": requestID, "status": status}, errorType)
	r["metrics"] = map[string]any{"durationMs": round3(durationMs), "producedBytes": producedBytes}
	return withTracing(r, traceID)
}

func recordReport(requestID, status, errorType string, durationMs float64, memorySizeMB int, maxMemoryUsedMB int64, initDurationMs *float64, traceID string) map[string]any {
	r := withErrorType(map[string]any{"requestId": requestID, "status": status}, errorType)
	metrics := map[string]any{"durationMs": round3(durationMs), "billedDurationMs": billedMs(durationMs),
		"memorySizeMB": memorySizeMB, "maxMemoryUsedMB": maxMemoryUsedMB}
	if initDurationMs != nil {
		metrics["initDurationMs"] = round3(*initDurationMs)
	}
	r["metrics"] = metrics
	return withTracing(r, traceID)
}

func recordExtension(name string, events []string) map[string]any {
	return map[string]any{"name": name, "state": "Ready", "events": events}
}

func recordSubscription(name string, types []string) map[string]any {
	return map[string]any{"name": name, "state": "Subscribed", "types": types}
}

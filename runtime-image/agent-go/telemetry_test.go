package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func subscriptionBody(extra string) []byte {
	return []byte(`{"schemaVersion":"2022-12-13","destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/lambda"},"types":["platform","function"]` + extra + `}`)
}

func TestSubscriptionDefaultsAndBounds(t *testing.T) {
	s, err := parseSubscription("telemetry", subscriptionBody(""))
	if err != nil || s.Buffering != (Buffering{1000, 262144, 1000}) || s.URL != "http://127.0.0.1:4243/lambda" {
		t.Fatalf("got %+v, %v", s, err)
	}
	for field, value := range map[string]string{"maxItems": "999", "maxBytes": "2000000", "timeoutMs": "10"} {
		_, err := parseSubscription("telemetry", subscriptionBody(`,"buffering":{"`+field+`":`+value+`}`))
		if err == nil || !strings.Contains(err.Error(), "buffering."+field) {
			t.Errorf("%s %s: %v", field, value, err)
		}
	}
	if _, err := parseSubscription("telemetry", subscriptionBody(`,"buffering":{"timeoutMs":30001}`)); err == nil {
		t.Error("timeoutMs over 30000 was accepted")
	}
	for _, bad := range []string{
		`{"schemaVersion":"2020-01-01","destination":{"protocol":"HTTP","URI":"http://sandbox:4243"},"types":["platform"]}`,
		`{"schemaVersion":"2022-12-13","destination":{"protocol":"HTTP","URI":"http://sandbox:4243"},"types":["platform","metrics"]}`,
		`{"schemaVersion":"2022-12-13","destination":{"protocol":"HTTP","URI":"http://sandbox:4243"},"types":[]}`,
		`{"schemaVersion":"2022-12-13","destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain"},"types":["platform"]}`,
		`{"schemaVersion":"2022-12-13","destination":{"protocol":"TCP","port":4243},"types":["platform"]}`,
		`{`,
	} {
		if _, err := parseSubscription("telemetry", []byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	logs, err := parseSubscription("logs", []byte(`{"destination":{"protocol":"HTTP","URI":"http://sandbox:9999"},"types":["function"]}`))
	if err != nil || logs.Buffering.MaxItems != 10000 || logs.URL != "http://127.0.0.1:9999/" {
		t.Errorf("logs API: %+v, %v", logs, err)
	}
}

func TestReportRecord(t *testing.T) {
	init := 100.5
	got, _ := json.Marshal(recordReport("r1", "success", "", 12.3456, 128, 60, &init, "Root=1-abc"))
	want := `{"metrics":{"billedDurationMs":13,"durationMs":12.346,"initDurationMs":100.5,"maxMemoryUsedMB":60,"memorySizeMB":128},` +
		`"requestId":"r1","status":"success","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-abc"}}`
	if string(got) != want {
		t.Errorf("got %s", got)
	}
}

func TestLogsAPIView(t *testing.T) {
	if got := asLogsAPIEvents(TelemetryEvent{"t", "platform.initStart", map[string]any{}}); len(got) != 0 {
		t.Errorf("init events reach a Logs API subscriber: %+v", got)
	}
	fn := TelemetryEvent{"t", "function", "line"}
	if got := asLogsAPIEvents(fn); !reflect.DeepEqual(got, []TelemetryEvent{fn}) {
		t.Errorf("function line: %+v", got)
	}
}

func TestTelemetryBufferIsDue(t *testing.T) {
	b := telemetryBuffer{buffering: Buffering{MaxItems: 2, MaxBytes: 1_000_000, TimeoutMs: 1000}}
	if b.push(TelemetryEvent{"t", "function", "a"}) || !b.push(TelemetryEvent{"t", "function", "b"}) {
		t.Error("due at maxItems")
	}
	if taken := b.take(); len(taken) != 2 || taken[0].Record != "a" || len(b.events) != 0 {
		t.Errorf("take: %+v", taken)
	}
	small := telemetryBuffer{buffering: Buffering{MaxItems: 1000, MaxBytes: 100, TimeoutMs: 1000}}
	if !small.push(TelemetryEvent{"t", "function", strings.Repeat("x", 120)}) {
		t.Error("due at maxBytes")
	}
}

func TestExtensionErrorType(t *testing.T) {
	for raw, kept := range map[string]bool{"Extension.ConfigInvalid": true, "Oops": false, "Extension.": false} {
		if extensionErrorType.MatchString(raw) != kept {
			t.Errorf("%q", raw)
		}
	}
}

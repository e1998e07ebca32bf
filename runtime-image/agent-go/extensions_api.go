package main

// The Lambda Extensions API (/2020-01-01/extension/…) and the Telemetry / Logs API
// subscriptions, served on the Runtime API's address. Paths, headers, status codes, error
// types and messages follow the Runtime Interface Emulator. An extension whose name is an
// executable of /opt/extensions is external (started by the agent); any other name is an
// internal extension, which may register only during Init and never for SHUTDOWN.
// All state is under the supervisor's monitor.

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

const (
	maxExtensions           = 10
	maxExtensionRequestSize = 1024 * 1024
)

var extensionIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
var extensionErrorType = regexp.MustCompile(`^Extension\.[A-Za-z0-9]+$`)

type extension struct {
	id       string
	name     string
	external bool
	events   []string
	state    string // Registered, Ready, Running, InitError, ExitError, Exited
	waiter   *extensionPoller
	pending  []byte
	order    int
}

type extensionPoller struct {
	deliver chan []byte
	abort   chan struct{}
}

// FunctionMetadata is what /register answers.
type FunctionMetadata struct{ FunctionName, FunctionVersion, Handler, AccountID string }

// ExtensionsAPI is the extensions' side of the sandbox.
type ExtensionsAPI struct {
	m                *monitor
	telemetry        *TelemetryHub
	onError          func(name, errorType string) // monitor held
	extensions       map[string]*extension
	externalNames    map[string]bool
	registrationOpen bool
	metadata         FunctionMetadata
	sequence         int
}

func newExtensionsAPI(m *monitor, telemetry *TelemetryHub, onError func(name, errorType string)) *ExtensionsAPI {
	return &ExtensionsAPI{m: m, telemetry: telemetry, onError: onError, extensions: map[string]*extension{}, externalNames: map[string]bool{}}
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (e *extension) subscribed(event string) bool { return contains(e.events, event) }

func (p *extensionPoller) cancel() { close(p.abort) }

// begin starts a new Init: the previous extensions are forgotten (monitor held).
func (x *ExtensionsAPI) begin(externalNames []string, metadata FunctionMetadata) {
	for _, e := range x.extensions {
		if e.waiter != nil {
			e.waiter.cancel()
		}
	}
	x.extensions = map[string]*extension{}
	x.externalNames = map[string]bool{}
	for _, n := range externalNames {
		x.externalNames[n] = true
	}
	x.metadata = metadata
	x.registrationOpen = true
	x.m.broadcast()
}

func (x *ExtensionsAPI) closeRegistration() { x.registrationOpen = false }

func (x *ExtensionsAPI) count() int { return len(x.extensions) }

func (x *ExtensionsAPI) registeredExternal(name string) bool {
	for _, e := range x.extensions {
		if e.external && e.name == name {
			return true
		}
	}
	return false
}

// allReady: every extension (subscribed to `only`, when given) waits on /event/next with nothing pending.
func (x *ExtensionsAPI) allReady(only string) bool {
	for _, e := range x.extensions {
		if (only != "" && !e.subscribed(only)) || e.state == "Exited" {
			continue
		}
		if e.state != "Ready" || e.pending != nil {
			return false
		}
	}
	return true
}

func (x *ExtensionsAPI) subscribed(event string) bool {
	for _, e := range x.extensions {
		if e.subscribed(event) {
			return true
		}
	}
	return false
}

func (x *ExtensionsAPI) markExited(name string) {
	for _, e := range x.extensions {
		if e.name == name {
			e.state = "Exited"
		}
	}
	x.m.broadcast()
}

// InvokeEvent is what an extension subscribed to INVOKE is told.
type InvokeEvent struct {
	RequestID, InvokedFunctionArn, TraceID string
	DeadlineMs                             int64
}

func (x *ExtensionsAPI) dispatchInvoke(e InvokeEvent) {
	event := map[string]any{"eventType": "INVOKE", "deadlineMs": e.DeadlineMs, "requestId": e.RequestID, "invokedFunctionArn": e.InvokedFunctionArn}
	if e.TraceID != "" {
		event["tracing"] = map[string]any{"type": "X-Amzn-Trace-Id", "value": e.TraceID}
	}
	x.dispatch("INVOKE", event)
}

func (x *ExtensionsAPI) dispatchShutdown(reason string, deadlineMs int64) {
	x.dispatch("SHUTDOWN", map[string]any{"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadlineMs})
}

func (x *ExtensionsAPI) dispatch(eventType string, event map[string]any) {
	body, _ := json.Marshal(event)
	for _, e := range x.extensions {
		if !e.subscribed(eventType) || e.state == "InitError" || e.state == "ExitError" || e.state == "Exited" {
			continue
		}
		e.pending = body
		if e.waiter != nil {
			x.deliver(e)
		}
	}
	x.m.broadcast()
}

func (x *ExtensionsAPI) deliver(e *extension) {
	if e.pending == nil || e.waiter == nil {
		return
	}
	e.waiter.deliver <- e.pending
	e.pending, e.waiter = nil, nil
	e.state = "Running"
}

// close ends every long poll.
func (x *ExtensionsAPI) close() {
	for _, e := range x.extensions {
		if e.waiter != nil {
			e.waiter.cancel()
			e.waiter = nil
		}
	}
}

func extForbidden(w http.ResponseWriter, errorType, message string) {
	sendJSON(w, 403, map[string]string{"errorMessage": message, "errorType": errorType})
}

func extTransitionFailed(w http.ResponseWriter, from, to, who string) {
	extForbidden(w, "Extension.InvalidExtensionState",
		fmt.Sprintf("State transition from %s to %s failed for extension %s. Error: State transition is not allowed", from, to, who))
}

// handle routes a request of the Extensions / Telemetry / Logs API; false when the path is not one.
func (x *ExtensionsAPI) handle(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	switch {
	case r.Method == "POST" && p == "/2020-01-01/extension/register":
		x.register(w, r)
	case r.Method == "GET" && p == "/2020-01-01/extension/event/next":
		x.withExtension(w, r, x.next)
	case r.Method == "POST" && p == "/2020-01-01/extension/init/error":
		x.withExtension(w, r, func(w http.ResponseWriter, r *http.Request, e *extension) { x.reportError(w, r, e, "init") })
	case r.Method == "POST" && p == "/2020-01-01/extension/exit/error":
		x.withExtension(w, r, func(w http.ResponseWriter, r *http.Request, e *extension) { x.reportError(w, r, e, "exit") })
	case r.Method == "PUT" && (p == "/2022-07-01/telemetry" || p == "/2020-08-15/logs"):
		flavour := "telemetry"
		if p == "/2020-08-15/logs" {
			flavour = "logs"
		}
		x.withExtension(w, r, func(w http.ResponseWriter, r *http.Request, e *extension) { x.subscribe(w, r, e, flavour) })
	default:
		return false
	}
	return true
}

// withExtension resolves the Lambda-Extension-Identifier; the handler runs with the monitor held.
func (x *ExtensionsAPI) withExtension(w http.ResponseWriter, r *http.Request, handler func(http.ResponseWriter, *http.Request, *extension)) {
	id := r.Header.Get("Lambda-Extension-Identifier")
	if id == "" {
		extForbidden(w, "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header")
		return
	}
	if !extensionIDPattern.MatchString(id) {
		extForbidden(w, "Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier")
		return
	}
	x.m.Lock()
	e := x.extensions[strings.ToLower(id)]
	x.m.Unlock()
	if e == nil {
		extForbidden(w, "Extension.UnknownExtensionIdentifier", "Unknown extension "+id)
		return
	}
	handler(w, r, e)
}

func (x *ExtensionsAPI) register(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get("Lambda-Extension-Name")
	if name == "" {
		extForbidden(w, "Extension.InvalidExtensionName", "Empty extension name")
		return
	}
	body, _, _ := readBody(r, maxExtensionRequestSize)
	var parsed struct {
		Events            any   `json:"events"`
		ConfigurationKeys []any `json:"configurationKeys"`
	}
	if err := json.Unmarshal(body, &parsed); err != nil {
		extForbidden(w, "InvalidRequestFormat", err.Error())
		return
	}
	if len(parsed.ConfigurationKeys) > 0 {
		extForbidden(w, "InvalidRequestFormat", "configurationKeys are deprecated; use environment variables instead")
		return
	}
	list, _ := parsed.Events.([]any)
	x.m.Lock()
	defer x.m.Unlock()
	external := x.externalNames[name]
	var events []string
	for _, ev := range list {
		s, _ := ev.(string)
		if s != "INVOKE" && s != "SHUTDOWN" {
			extForbidden(w, "Extension.InvalidEventType", fmt.Sprintf("%v: ErrorInvalidEventType", ev))
			return
		}
		if !external && s == "SHUTDOWN" {
			extForbidden(w, "Extension.InvalidEventType", "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension")
			return
		}
		if !contains(events, s) {
			events = append(events, s)
		}
	}
	for _, e := range x.extensions {
		if e.name == name {
			if e.external {
				extTransitionFailed(w, e.state, "Registered", name)
			} else {
				extForbidden(w, "Extension.InvalidExtensionState", "Extension with this name already registered")
			}
			return
		}
	}
	if !external && !x.registrationOpen {
		extForbidden(w, "Extension.RegistrationClosed", "Extension registration closed already")
		return
	}
	if len(x.extensions) >= maxExtensions {
		extForbidden(w, "Extension.TooManyExtensions", fmt.Sprintf("Extension limit (%d) reached", maxExtensions))
		return
	}
	x.sequence++
	e := &extension{id: uuid(), name: name, external: external, events: events, state: "Registered", order: x.sequence}
	if e.events == nil {
		e.events = []string{}
	}
	x.extensions[e.id] = e
	answer := map[string]string{"functionName": x.metadata.FunctionName, "functionVersion": x.metadata.FunctionVersion, "handler": x.metadata.Handler}
	for _, f := range strings.Split(r.Header.Get("Lambda-Extension-Accept-Feature"), ",") {
		if strings.TrimSpace(f) == "accountId" {
			answer["accountId"] = x.metadata.AccountID
		}
	}
	sendJSON(w, 200, answer, "Lambda-Extension-Identifier", e.id)
	x.m.broadcast()
}

func (x *ExtensionsAPI) next(w http.ResponseWriter, r *http.Request, e *extension) {
	x.m.Lock()
	if e.state == "InitError" || e.state == "ExitError" || e.state == "Exited" {
		x.m.Unlock()
		extTransitionFailed(w, e.state, "Ready", e.id)
		return
	}
	wasRegistered := e.state == "Registered"
	e.state = "Ready"
	if e.waiter != nil {
		e.waiter.cancel()
	}
	p := &extensionPoller{deliver: make(chan []byte, 1), abort: make(chan struct{})}
	e.waiter = p
	if wasRegistered {
		x.telemetry.emit("platform.extension", recordExtension(e.name, e.events))
	}
	x.deliver(e)
	x.m.broadcast()
	x.m.Unlock()
	select {
	case event := <-p.deliver:
		sendJSON(w, 200, event, "Lambda-Extension-Event-Identifier", uuid())
	case <-p.abort:
		abortConnection()
	case <-r.Context().Done():
		x.m.Lock()
		if e.waiter == p {
			e.waiter = nil
		}
		x.m.Unlock()
	}
}

func (x *ExtensionsAPI) reportError(w http.ResponseWriter, r *http.Request, e *extension, phase string) {
	raw := r.Header.Get("Lambda-Extension-Function-Error-Type")
	if raw == "" {
		extForbidden(w, "Extension.MissingHeader", "Lambda-Extension-Function-Error-Type not found")
		return
	}
	target, fallback := "InitError", "Extension.InitError"
	if phase == "exit" {
		target, fallback = "ExitError", "Extension.ExitError"
	}
	x.m.Lock()
	defer x.m.Unlock()
	// /init/error only before the extension's first /event/next; /exit/error any time after register.
	if e.state == "InitError" || e.state == "ExitError" || (phase == "init" && e.state != "Registered") {
		extTransitionFailed(w, e.state, target, e.id)
		return
	}
	errorType := fallback
	if extensionErrorType.MatchString(raw) {
		errorType = raw
	}
	e.state = target
	if e.waiter != nil {
		e.waiter.cancel()
		e.waiter = nil
	}
	e.pending = nil
	sendJSON(w, 202, map[string]string{"status": "OK"})
	x.onError(e.name, errorType)
	x.m.broadcast()
}

func (x *ExtensionsAPI) subscribe(w http.ResponseWriter, r *http.Request, e *extension, flavour string) {
	body, _, _ := readBody(r, maxExtensionRequestSize)
	s, err := parseSubscription(flavour, body)
	if err != nil {
		sendJSON(w, 400, map[string]string{"errorType": "ValidationError", "errorMessage": err.Error()})
		return
	}
	x.telemetry.subscribe(e.id, s)
	kind := "platform.telemetrySubscription"
	if flavour == "logs" {
		kind = "platform.logsSubscription"
	}
	x.telemetry.emit(kind, recordSubscription(e.name, s.Types))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	w.Write([]byte(`"OK"`))
}

// externalExtensionNames are the executables of <optRoot>/extensions, in name order.
func externalExtensionNames(optRoot string) []string {
	entries, err := readDirInfo(optRoot + "/extensions")
	if err != nil {
		return nil
	}
	var names []string
	for name, mode := range entries {
		if mode.IsRegular() && mode.Perm()&0o111 != 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

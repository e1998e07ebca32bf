package main

// The Lambda Runtime API, served on 127.0.0.1 to the runtime process. Status codes and bodies
// follow the Runtime Interface Emulator so that any client written against the published API
// works unchanged. All state is under the supervisor's monitor.

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
)

const runtimePrefix = "/2018-06-01/runtime/"

var invocationPath = regexp.MustCompile(`^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$`)

// ResponseSink takes a streamed response as the runtime writes it.
type ResponseSink interface {
	Start(contentType string)
	// Write returns once the chunk may be followed by the next (backpressure).
	Write(chunk []byte)
}

// Invocation is one event handed to the runtime.
type Invocation struct {
	RequestID          string
	Body               []byte
	ContentType        string
	DeadlineMs         int64
	InvokedFunctionArn string
	TraceID            string
	ClientContext      string
	Sink               ResponseSink
}

// RuntimeOutcome is how the runtime ended an invocation.
type RuntimeOutcome struct {
	Kind        string // response, error, tooLarge, streamed
	Body        []byte
	ContentType string
	ErrorType   string
	// streamed only
	ErrorBody []byte
	HasError  bool
	TooLarge  bool
}

// RuntimeAPIEvents are called with the monitor held.
type RuntimeAPIEvents interface {
	onReady()
	onInitError(body []byte, errorType string)
	onOutcome(requestID string, outcome *RuntimeOutcome)
	onPing(pid int)
}

const (
	stateRunning    = "Running"
	stateResponding = "Responding"
	stateSent       = "RuntimeResponseSentState"
)

type poller struct {
	deliver chan *Invocation
	abort   chan struct{}
}

type currentInvocation struct {
	inv   *Invocation
	state string
	sent  bool
}

// RuntimeAPI serves one runtime process ("generation") at a time.
type RuntimeAPI struct {
	m          *monitor
	events     RuntimeAPIEvents
	extensions *ExtensionsAPI
	initDone   bool
	waiter     *poller
	current    *currentInvocation
}

func forbiddenTransition(w http.ResponseWriter, from, to string) {
	sendJSON(w, 403, map[string]string{
		"errorMessage": fmt.Sprintf("State transition from %s to %s failed for runtime. Error: State transition is not allowed", from, to),
		"errorType":    "InvalidStateTransition",
	})
}

func acceptedOK(w http.ResponseWriter) { sendJSON(w, 202, map[string]string{"status": "OK"}) }

func payloadTooLarge(w http.ResponseWriter, limit int) {
	sendJSON(w, 413, map[string]string{
		"errorMessage": fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", limit),
		"errorType":    "RequestEntityTooLarge",
	})
}

// newGeneration forgets everything about the previous runtime process (monitor held).
func (a *RuntimeAPI) newGeneration() {
	a.initDone = false
	a.current = nil
	if a.waiter != nil {
		close(a.waiter.abort)
		a.waiter = nil
	}
}

// isPolling: the runtime waits on /next (monitor held).
func (a *RuntimeAPI) isPolling() bool { return a.waiter != nil }

// deliver hands an invocation to the runtime now or on its next poll (monitor held).
func (a *RuntimeAPI) deliver(inv *Invocation) {
	a.current = &currentInvocation{inv: inv, state: stateRunning}
	if w := a.waiter; w != nil {
		a.waiter = nil
		a.current.sent = true
		w.deliver <- inv
	}
}

// abandon: the platform ended the invocation; later posts for it are refused (monitor held).
func (a *RuntimeAPI) abandon() {
	if a.current != nil {
		a.current.state = stateSent
	}
}

func writeInvocation(w http.ResponseWriter, inv *Invocation) {
	h := w.Header()
	h["Content-Type"] = []string{inv.ContentType}
	h["Content-Length"] = []string{strconv.Itoa(len(inv.Body))}
	h["Lambda-Runtime-Aws-Request-Id"] = []string{inv.RequestID}
	h["Lambda-Runtime-Deadline-Ms"] = []string{strconv.FormatInt(inv.DeadlineMs, 10)}
	h["Lambda-Runtime-Invoked-Function-Arn"] = []string{inv.InvokedFunctionArn}
	if inv.TraceID != "" {
		h["Lambda-Runtime-Trace-Id"] = []string{inv.TraceID}
	}
	if inv.ClientContext != "" {
		h["Lambda-Runtime-Client-Context"] = []string{inv.ClientContext}
	}
	w.WriteHeader(200)
	w.Write(inv.Body)
}

func (a *RuntimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == "GET" && p == runtimePrefix+"invocation/next":
		a.next(w, r)
	case r.Method == "GET" && p == "/2018-06-01/ping":
		// Lamina's, not Lambda's: standby runtimes warm their HTTP client with it.
		pid, _ := strconv.Atoi(r.URL.Query().Get("pid"))
		a.m.Lock()
		a.events.onPing(pid)
		a.m.Unlock()
		io.WriteString(w, "pong")
	case r.Method == "POST" && invocationPath.MatchString(p):
		m := invocationPath.FindStringSubmatch(p)
		id, err := url.PathUnescape(m[1])
		if err != nil {
			id = m[1]
		}
		a.complete(w, r, id, m[2])
	case r.Method == "POST" && p == runtimePrefix+"init/error":
		a.initError(w, r)
	default:
		if a.extensions != nil && a.extensions.handle(w, r) {
			return
		}
		sendJSON(w, 404, map[string]string{"errorMessage": fmt.Sprintf("No route for %s %s", r.Method, p), "errorType": "NotFound"})
	}
}

func (a *RuntimeAPI) next(w http.ResponseWriter, r *http.Request) {
	a.m.Lock()
	cur := a.current
	if cur != nil && cur.sent && cur.state != stateSent {
		a.m.Unlock()
		forbiddenTransition(w, cur.state, "Ready")
		return
	}
	if !a.initDone {
		a.initDone = true
		a.events.onReady()
	}
	if cur != nil && !cur.sent {
		cur.sent = true
		a.m.Unlock()
		writeInvocation(w, cur.inv)
		return
	}
	if a.waiter != nil {
		close(a.waiter.abort) // a newer poll replaces an abandoned one
	}
	pl := &poller{deliver: make(chan *Invocation, 1), abort: make(chan struct{})}
	a.waiter = pl
	a.m.broadcast()
	a.m.Unlock()
	select {
	case inv := <-pl.deliver:
		writeInvocation(w, inv)
	case <-pl.abort:
		abortConnection()
	case <-r.Context().Done():
		a.m.Lock()
		if a.waiter == pl {
			a.waiter = nil
		}
		a.m.Unlock()
	}
}

func (a *RuntimeAPI) complete(w http.ResponseWriter, r *http.Request, requestID, kind string) {
	target := "InvocationResponse"
	if kind == "error" {
		target = "InvocationErrorResponse"
	}
	a.m.Lock()
	cur := a.current
	// State first, then the id: the order the RIE checks them in.
	if cur == nil || !cur.sent || cur.state != stateRunning {
		from := "Started"
		if cur != nil && cur.sent {
			from = cur.state
		} else if a.initDone {
			from = "Ready"
		}
		a.m.Unlock()
		forbiddenTransition(w, from, target)
		return
	}
	if requestID != cur.inv.RequestID {
		a.m.Unlock()
		sendJSON(w, 400, map[string]string{"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
		return
	}
	mode, hasMode := r.Header["Lambda-Runtime-Function-Response-Mode"]
	if kind == "response" && hasMode && (len(mode) == 0 || mode[0] != "streaming") {
		a.m.Unlock()
		sendJSON(w, 400, map[string]string{"errorMessage": "Invalid function response mode", "errorType": "InvalidFunctionResponseMode"})
		return
	}
	cur.state = stateResponding
	a.m.Unlock()
	if kind == "response" && hasMode {
		a.streamed(w, r, requestID, cur)
		return
	}
	body, ok, err := readBody(r, maxRuntimePayloadBytes)
	a.m.Lock()
	cur.state = stateSent
	var outcome *RuntimeOutcome
	switch {
	case err != nil:
		outcome = &RuntimeOutcome{Kind: "error", ErrorType: "Runtime.Unknown"}
	case !ok:
		outcome = &RuntimeOutcome{Kind: "tooLarge"}
	case kind == "response":
		outcome = &RuntimeOutcome{Kind: "response", Body: body, ContentType: r.Header.Get("Content-Type")}
	default:
		outcome = &RuntimeOutcome{Kind: "error", Body: body, ErrorType: r.Header.Get("Lambda-Runtime-Function-Error-Type")}
	}
	a.events.onOutcome(requestID, outcome)
	a.m.Unlock()
	answerPosted(w, ok)
}

// streamed takes a streaming response (chunked, errors in trailers). With a sink each chunk goes
// on as it arrives and the next is read once the sink took it; without one it is collected.
func (a *RuntimeAPI) streamed(w http.ResponseWriter, r *http.Request, requestID string, cur *currentInvocation) {
	contentType := r.Header.Get("Content-Type")
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	inv := cur.inv
	sink := inv.Sink
	limit := maxRuntimePayloadBytes
	if sink != nil {
		limit = MaxStreamedResponseBytes
		sink.Start(contentType)
	}
	var chunks []byte
	total := 0
	over := false
	buf := make([]byte, 64*1024)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 && !over {
			total += n
			switch {
			case total > limit:
				over = true
				chunks = nil
			case sink != nil:
				sink.Write(append([]byte(nil), buf[:n]...))
			default:
				chunks = append(chunks, buf[:n]...)
			}
		}
		if err != nil {
			break
		}
	}
	a.m.Lock()
	if a.current != cur || cur.state != stateResponding {
		a.m.Unlock() // timed out or reset meanwhile: the platform already ended this invocation
		return
	}
	cur.state = stateSent
	errorType := r.Trailer.Get("Lambda-Runtime-Function-Error-Type")
	encoded := r.Trailer.Get("Lambda-Runtime-Function-Error-Body")
	var errBody []byte
	hasErrBody := encoded != ""
	if hasErrBody {
		errBody, _ = base64.StdEncoding.DecodeString(encoded)
	}
	var outcome *RuntimeOutcome
	switch {
	case sink != nil:
		outcome = &RuntimeOutcome{Kind: "streamed", ContentType: contentType, TooLarge: over, ErrorType: errorType, ErrorBody: errBody, HasError: errorType != "" || hasErrBody}
	case over:
		outcome = &RuntimeOutcome{Kind: "tooLarge"}
	case errorType != "" || hasErrBody:
		outcome = &RuntimeOutcome{Kind: "error", Body: errBody, ErrorType: errorType}
	default:
		outcome = &RuntimeOutcome{Kind: "response", Body: chunks, ContentType: contentType}
	}
	a.events.onOutcome(requestID, outcome)
	a.m.Unlock()
	if over {
		payloadTooLarge(w, limit)
	} else {
		acceptedOK(w)
	}
}

func (a *RuntimeAPI) initError(w http.ResponseWriter, r *http.Request) {
	a.m.Lock()
	if a.initDone {
		from := "Ready"
		if a.current != nil {
			from = a.current.state
		}
		a.m.Unlock()
		forbiddenTransition(w, from, "InitError")
		return
	}
	a.initDone = true
	a.m.Unlock()
	errorType := r.Header.Get("Lambda-Runtime-Function-Error-Type")
	body, ok, _ := readBody(r, maxRuntimePayloadBytes)
	if !ok {
		t := errorType
		if t == "" {
			t = "Runtime.Unknown"
		}
		body = encodePayload(errorPayload{t, "The init error reported by the runtime exceeded the maximum payload size"})
	}
	a.m.Lock()
	a.events.onInitError(body, errorType)
	a.m.Unlock()
	answerPosted(w, ok)
}

// answerPosted is the runtime's answer to a posted result: 202, or 413 when it was too large.
func answerPosted(w http.ResponseWriter, withinLimit bool) {
	if withinLimit {
		acceptedOK(w)
	} else {
		payloadTooLarge(w, maxRuntimePayloadBytes)
	}
}

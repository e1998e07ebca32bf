package main

// The gateway-facing side of the agent: health, specialisation, and the Runtime Interface
// Emulator's invoke endpoint (the contract of operator/src/protocol/agent-http.ts).

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

var invokePathPattern = regexp.MustCompile(InvokePathPattern)

const (
	maxSpecializeBytes   = 1024 * 1024
	maxErrorTrailerBytes = 8 * 1024
)

type invokeServer struct{ env *Environment }

func (s *invokeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var err error
	switch p := r.URL.Path; {
	case r.Method == "POST" && invokePathPattern.MatchString(p):
		err = s.invoke(w, r)
	case r.Method == "GET" && p == PathHealth:
		status, body := s.env.health()
		sendJSON(w, status, body)
	case r.Method == "POST" && p == PathSpecialize:
		err = s.specialize(w, r)
	default:
		err = agentErr(ErrorTypeNotFound, 404, "No route for %s %s", r.Method, p)
	}
	if err != nil {
		sendError(w, err)
	}
}

func (s *invokeServer) specialize(w http.ResponseWriter, r *http.Request) error {
	body, ok, err := readBody(r, maxSpecializeBytes)
	if err != nil {
		return err
	}
	if !ok {
		return invalidConfig("Invalid function configuration: body larger than 1 MiB")
	}
	result, err := s.env.specialize(body)
	if err != nil {
		return err
	}
	sendJSON(w, 200, result)
	return nil
}

// decodeClientContext turns base64 JSON into ASCII-only JSON for the runtime's header.
func decodeClientContext(value string) (string, error) {
	if value == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(value, "="))
	}
	var decoded any
	if err != nil || json.Unmarshal(raw, &decoded) != nil {
		return "", agentErr(ErrorTypeInvalidRequestContent, 400, "%s", InvalidClientContextMessage)
	}
	text, _ := json.Marshal(decoded)
	var b strings.Builder
	for _, c := range string(text) {
		switch {
		case c >= 0x7f && c <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, c)
		case c > 0xffff:
			r1, r2 := utf16Pair(c)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(c)
		}
	}
	return b.String(), nil
}

func utf16Pair(c rune) (rune, rune) {
	c -= 0x10000
	return 0xd800 + (c>>10)&0x3ff, 0xdc00 + c&0x3ff
}

// outcomeHeaders say how the invocation ended, as headers (buffered) or trailers (streamed).
func outcomeHeaders(res *InvokeResult) map[string]string {
	h := map[string]string{}
	if res.FunctionError {
		h[HeaderFunctionError] = "Unhandled"
	}
	if len(res.LogTail) > 0 {
		h[HeaderLogResult] = base64.StdEncoding.EncodeToString(res.LogTail)
	}
	if res.InitDurationMs != nil {
		h[HeaderInitDurationMs] = fixed2(*res.InitDurationMs)
	}
	if res.EnvironmentReset {
		h[HeaderEnvironmentReset] = "true"
	}
	if res.Phases.InitStartMs != nil {
		h[HeaderInitStartMs] = fixed2(*res.Phases.InitStartMs)
	}
	h[HeaderInvokeStartMs] = fixed2(res.Phases.InvokeStartMs)
	h[HeaderInvokeDurationMs] = fixed2(res.Phases.InvokeDurationMs)
	return h
}

// streamSink writes a streamed response to the caller as the runtime produces it.
type streamSink struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	requestID string
	mu        sync.Mutex
	started   bool
	finished  bool
	broken    bool
}

func (s *streamSink) Start(contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Trailer", strings.Join(StreamTrailers, ", "))
	h.Set(HeaderRequestId, s.requestID)
	s.w.WriteHeader(200)
	s.rc.Flush()
}

// Write returns once the chunk went to the socket; after a timeout or a gone caller the rest is dropped.
func (s *streamSink) Write(chunk []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished || s.broken {
		return
	}
	if _, err := s.w.Write(chunk); err != nil {
		s.broken = true
		return
	}
	if err := s.rc.Flush(); err != nil {
		s.broken = true
	}
}

func (s *invokeServer) streamInvoke(w http.ResponseWriter, req *InvokeRequest) error {
	sink := &streamSink{w: w, rc: http.NewResponseController(w), requestID: req.RequestID}
	req.Sink = sink
	result, err := s.env.invoke(req)
	if err != nil {
		return err
	}
	sink.Start(result.ContentType)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	sink.finished = true
	trailers := outcomeHeaders(result)
	if result.FunctionError {
		body := result.Body
		if len(body) > maxErrorTrailerBytes {
			body = body[:maxErrorTrailerBytes]
		}
		trailers[HeaderFunctionErrorBody] = base64.StdEncoding.EncodeToString(body)
	} else if !result.Streamed && len(result.Body) > 0 && !sink.broken {
		w.Write(result.Body)
	}
	for k, v := range trailers {
		w.Header().Set(k, v)
	}
	return nil
}

func (s *invokeServer) invoke(w http.ResponseWriter, r *http.Request) error {
	release, claimErr := s.env.claim() // 503 EnvironmentBusy / 409 NotSpecialized before reading the body
	if claimErr != nil {
		return claimErr
	}
	defer release()
	body, ok, err := readBody(r, maxInvokeRequestBytes)
	if err != nil {
		return err
	}
	if !ok {
		return agentErr(ErrorTypeRequestTooLarge, 413, "Request must be smaller than %d bytes for the InvokeFunction operation", maxInvokeRequestBytes)
	}
	clientContext, err := decodeClientContext(r.Header.Get(HeaderClientContext))
	if err != nil {
		return err
	}
	requestID := r.Header.Get(HeaderRequestId)
	if requestID == "" {
		requestID = uuid()
	}
	req := &InvokeRequest{
		RequestID: requestID,
		Body:      body,
		// A synchronous Invoke payload is JSON whatever the client labelled it.
		ContentType:        "application/json",
		LogTail:            strings.EqualFold(r.Header.Get(HeaderLogType), "tail"),
		InvokedFunctionArn: r.Header.Get(HeaderInvokedFunctionArn),
		ClientContext:      clientContext,
		TraceID:            callerTraceID(r.Header.Get(HeaderTraceId), r.Header.Get("Traceparent"), randomHexBytes),
	}
	if r.Header.Get(HeaderResponseStream) == "true" {
		return s.streamInvoke(w, req)
	}
	result, err := s.env.invoke(req)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", result.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(result.Body)))
	h.Set(HeaderRequestId, requestID)
	h.Set(HeaderExecutedVersion, result.ExecutedVersion)
	for k, v := range outcomeHeaders(result) {
		h.Set(k, v)
	}
	w.WriteHeader(200)
	w.Write(result.Body)
	return nil
}

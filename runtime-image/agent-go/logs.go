package main

// Two streams, kept apart on purpose: stdout carries the function's log exactly as CloudWatch
// would show it (the runtime's own output, framed by START / END / REPORT), stderr carries the
// agent's diagnostics as JSON lines.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

const tailBytes = 4096

var (
	logMu         sync.Mutex
	logBaseFields = map[string]any{}
)

// setLogContext adds fields (function, version …) to every agent log line from now on.
func setLogContext(fields map[string]any) {
	logMu.Lock()
	defer logMu.Unlock()
	for k, v := range fields {
		logBaseFields[k] = v
	}
}

// agentLog writes one JSON line to stderr: time, level, msg first (the harness matches on that order).
func agentLog(level, msg string, fields ...any) {
	var b bytes.Buffer
	b.WriteString(`{"time":`)
	writeJSON(&b, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteString(`,"level":`)
	writeJSON(&b, level)
	b.WriteString(`,"msg":`)
	writeJSON(&b, msg)
	logMu.Lock()
	for k, v := range logBaseFields {
		b.WriteString(",")
		writeJSON(&b, k)
		b.WriteString(":")
		writeJSON(&b, v)
	}
	logMu.Unlock()
	for i := 0; i+1 < len(fields); i += 2 {
		b.WriteString(",")
		writeJSON(&b, fmt.Sprint(fields[i]))
		b.WriteString(":")
		writeJSON(&b, fields[i+1])
	}
	b.WriteString("}\n")
	os.Stderr.Write(b.Bytes())
}

func writeJSON(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err, ok := v.(error); ok {
		v = err.Error()
	}
	_ = enc.Encode(v)
	b.Truncate(b.Len() - 1) // Encode's newline
}

// tailBuffer keeps only the last tailBytes of what is appended (LogType: Tail).
type tailBuffer struct{ data []byte }

func (t *tailBuffer) append(chunk []byte) {
	t.data = append(t.data, chunk...)
	if len(t.data) > 2*tailBytes {
		t.data = append(t.data[:0:0], t.data[len(t.data)-tailBytes:]...)
	}
}

func (t *tailBuffer) bytes() []byte {
	if len(t.data) > tailBytes {
		return t.data[len(t.data)-tailBytes:]
	}
	return t.data
}

// FunctionLog writes the function log and captures the current invocation's share of it.
// Writes block while the container log is full, so a runtime that floods its log waits for it.
type FunctionLog struct {
	mu          sync.Mutex
	out         io.Writer
	capture     *tailBuffer
	atLineStart bool
	// lines receives each line of the runtime ("function") and extensions ("extension") while wanted() holds.
	lines  func(source, line string)
	wanted func() bool
}

func newFunctionLog(out io.Writer) *FunctionLog {
	return &FunctionLog{out: out, atLineStart: true, wanted: func() bool { return false }}
}

// onLine installs the listener of complete lines (the Telemetry API's function and extension events).
func (l *FunctionLog) onLine(listener func(source, line string), wanted func() bool) {
	l.lines, l.wanted = listener, wanted
}

// sink returns a writer for one process's output: its lines are reported as `source`.
func (l *FunctionLog) sink(source string) io.Writer {
	return &logSink{log: l, lines: newLineSplitter(func(line string) {
		if l.lines != nil {
			l.lines(source, line)
		}
	}, 256*1024)}
}

type logSink struct {
	log   *FunctionLog
	lines *lineSplitter
}

func (s *logSink) Write(chunk []byte) (int, error) {
	if s.log.wanted() {
		s.lines.push(chunk)
	}
	s.log.write(chunk)
	return len(chunk), nil
}

func (l *FunctionLog) write(chunk []byte) {
	if len(chunk) == 0 {
		return
	}
	l.mu.Lock()
	if l.capture != nil {
		l.capture.append(chunk)
	}
	l.atLineStart = chunk[len(chunk)-1] == '\n'
	l.out.Write(chunk)
	l.mu.Unlock()
}

// platformLine writes platform lines in one write, starting on a fresh line.
func (l *FunctionLog) platformLine(lines ...string) {
	l.mu.Lock()
	prefix := ""
	if !l.atLineStart {
		prefix = "\n"
	}
	l.mu.Unlock()
	l.write([]byte(prefix + strings.Join(lines, "\n") + "\n"))
}

func (l *FunctionLog) beginCapture() {
	l.mu.Lock()
	l.capture = &tailBuffer{}
	l.mu.Unlock()
}

// capturing is true between beginCapture and endCapture.
func (l *FunctionLog) capturing() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.capture != nil
}

// peekCapture is the current invocation's log so far (a runtime's dying words).
func (l *FunctionLog) peekCapture() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.capture == nil {
		return ""
	}
	return string(l.capture.bytes())
}

// endCapture stops capturing and returns the last 4 KB of the invocation's log.
func (l *FunctionLog) endCapture() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.capture == nil {
		return nil
	}
	out := append([]byte(nil), l.capture.bytes()...)
	l.capture = nil
	return out
}

// ---- platform lines (pure) -------------------------------------------------------------

func fmtMs(v float64) string { return fmt.Sprintf("%.2f ms", v) }

func startLine(requestID, version string) string {
	return fmt.Sprintf("START RequestId: %s Version: %s", requestID, version)
}

func endLine(requestID string) string { return "END RequestId: " + requestID }

// Report is what a REPORT line says.
type Report struct {
	RequestID          string
	DurationMs         float64
	MemorySizeMb       int
	MaxMemoryUsedBytes int64
	InitDurationMs     *float64
	Status             string // "", "timeout" or "error"
	ErrorType          string
}

func usedMb(bytes int64) int64 {
	return int64(math.Max(1, math.Round(float64(bytes)/(1024*1024))))
}

func reportLine(r Report) string {
	line := fmt.Sprintf("REPORT RequestId: %s\tDuration: %s\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		r.RequestID, fmtMs(r.DurationMs), billedMs(r.DurationMs), r.MemorySizeMb, usedMb(r.MaxMemoryUsedBytes))
	if r.InitDurationMs != nil {
		line += "Init Duration: " + fmtMs(*r.InitDurationMs) + "\t"
	}
	if r.Status != "" {
		line += "Status: " + r.Status + "\t"
	}
	if r.ErrorType != "" {
		line += "Error Type: " + r.ErrorType + "\t"
	}
	return line
}

func billedMs(d float64) int64 { return int64(math.Max(1, math.Ceil(d))) }

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func timeoutLine(now time.Time, requestID string, timeoutSeconds int) string {
	return fmt.Sprintf("%s %s Task timed out after %.2f seconds", isoTime(now), requestID, float64(timeoutSeconds))
}

func initStartLine(runtime string) string { return "INIT_START Runtime Version: " + runtime }

func initReportLine(durationMs float64, status, errorType string) string {
	return fmt.Sprintf("INIT_REPORT Init Duration: %s\tPhase: init\tStatus: %s\tError Type: %s", fmtMs(durationMs), status, errorType)
}

// lineSplitter splits a byte stream into lines (without \n or \r\n); Lambda cuts a line at maxLine.
type lineSplitter struct {
	mu      sync.Mutex
	partial []byte
	onLine  func(string)
	maxLine int
}

func newLineSplitter(onLine func(string), maxLine int) *lineSplitter {
	return &lineSplitter{onLine: onLine, maxLine: maxLine}
}

func (s *lineSplitter) push(chunk []byte) {
	s.mu.Lock()
	data := append(s.partial, chunk...)
	var lines []string
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, strings.TrimSuffix(string(data[:i]), "\r"))
		data = data[i+1:]
	}
	s.partial = append([]byte(nil), data...)
	if len(s.partial) > s.maxLine {
		lines = append(lines, string(s.partial))
		s.partial = nil
	}
	s.mu.Unlock()
	for _, line := range lines {
		s.onLine(line)
	}
}

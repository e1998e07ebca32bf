package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLogLines(t *testing.T) {
	base := Report{RequestID: "r1", DurationMs: 26.734, MemorySizeMb: 128, MaxMemoryUsedBytes: 75 * 1024 * 1024}
	if got := reportLine(base); got != "REPORT RequestId: r1\tDuration: 26.73 ms\tBilled Duration: 27 ms\tMemory Size: 128 MB\tMax Memory Used: 75 MB\t" {
		t.Errorf("REPORT without init: %q", got)
	}
	for d, billed := range map[float64]string{3.0001: "4 ms", 0.2: "1 ms"} {
		if got := reportLine(Report{RequestID: "r", DurationMs: d, MemorySizeMb: 128}); !strings.Contains(got, "Billed Duration: "+billed) {
			t.Errorf("%v: %q", d, got)
		}
	}
	if got := startLine("r", "$LATEST"); got != "START RequestId: r Version: $LATEST" {
		t.Errorf("START: %q", got)
	}
	if got := timeoutLine(time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC), "r", 3); got != "2026-01-01T00:00:03.000Z r Task timed out after 3.00 seconds" {
		t.Errorf("timeout: %q", got)
	}
}

func TestTailKeepsTheLast4096Bytes(t *testing.T) {
	var tail tailBuffer
	for i := 0; i < 100; i++ {
		tail.append([]byte(fmt.Sprintf("%03d%s", i, strings.Repeat("x", 97))))
	}
	b := tail.bytes()
	if len(b) != 4096 || !bytes.HasSuffix(b, []byte("099"+strings.Repeat("x", 97))) {
		t.Errorf("%d bytes", len(b))
	}
}

func TestPlatformLinesStartOnANewLine(t *testing.T) {
	var out bytes.Buffer
	log := newFunctionLog(&out)
	log.beginCapture()
	_, _ = log.sink("stdout").Write([]byte("no newline"))
	log.platformLine("END RequestId: r")
	if got := string(log.endCapture()); got != "no newline\nEND RequestId: r\n" {
		t.Errorf("captured %q", got)
	}
	if out.String() != "no newline\nEND RequestId: r\n" {
		t.Errorf("written %q", out.String())
	}
	_, _ = log.sink("stdout").Write([]byte("outside any invocation\n"))
	log.beginCapture()
	if got := log.endCapture(); len(got) != 0 {
		t.Errorf("output between invocations captured: %q", got)
	}
}

func TestLineSplitter(t *testing.T) {
	var lines []string
	s := newLineSplitter(func(l string) { lines = append(lines, l) }, 1<<20)
	s.push([]byte("one\r\ntw"))
	s.push([]byte("o\nthr"))
	if strings.Join(lines, "|") != "one|two" {
		t.Errorf("got %q", lines)
	}
	lines = nil
	short := newLineSplitter(func(l string) { lines = append(lines, l) }, 4)
	short.push([]byte("abcdefgh"))
	if strings.Join(lines, "|") != "abcdefgh" {
		t.Errorf("long line: %q", lines)
	}
}

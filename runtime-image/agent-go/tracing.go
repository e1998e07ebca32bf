package main

// The X-Ray trace header Lambda hands every invocation: the caller's X-Amzn-Trace-Id, else its
// W3C traceparent in X-Ray form, else a new root (operator/src/protocol/trace-id.ts). Pure:
// the time and the random bytes are the caller's.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

type randomHex func(bytes int) string

var (
	traceRoot        = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	traceParentID    = regexp.MustCompile(`^[0-9a-f]{16}$`)
	traceparentRegex = regexp.MustCompile(`^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$`)
	allZeros         = regexp.MustCompile(`^0+$`)
)

// fromAmznTraceID keeps a header whose Root is well formed (a missing Parent or Sampled is filled in).
func fromAmznTraceID(value string, random randomHex) string {
	type field struct{ key, value string }
	var fields []field
	index := map[string]int{}
	for _, part := range strings.Split(value, ";") {
		eq := strings.Index(part, "=")
		if eq <= 0 {
			continue
		}
		k, v := strings.TrimSpace(part[:eq]), strings.TrimSpace(part[eq+1:])
		if i, seen := index[k]; seen {
			fields[i].value = v
			continue
		}
		index[k] = len(fields)
		fields = append(fields, field{k, v})
	}
	get := func(k string) (string, bool) {
		if i, ok := index[k]; ok {
			return fields[i].value, true
		}
		return "", false
	}
	root, _ := get("Root")
	root = strings.ToLower(root)
	if !traceRoot.MatchString(root) {
		return ""
	}
	parent, _ := get("Parent")
	parent = strings.ToLower(parent)
	if !traceParentID.MatchString(parent) {
		parent = random(8)
	}
	sampled, _ := get("Sampled")
	if sampled != "1" && sampled != "?" {
		sampled = "0"
	}
	out := []string{"Root=" + root, "Parent=" + parent, "Sampled=" + sampled}
	for _, f := range fields {
		if f.key != "Root" && f.key != "Parent" && f.key != "Sampled" {
			out = append(out, f.key+"="+f.value)
		}
	}
	return strings.Join(out, ";")
}

// fromTraceparent converts a W3C traceparent to X-Ray form, "" when invalid.
func fromTraceparent(value string) string {
	m := traceparentRegex.FindStringSubmatch(strings.ToLower(strings.TrimSpace(value)))
	if m == nil {
		return ""
	}
	version, traceID, parentID, flags, tail := m[1], m[2], m[3], m[4], m[5]
	if version == "ff" || (version == "00" && tail != "") {
		return ""
	}
	if allZeros.MatchString(traceID) || allZeros.MatchString(parentID) {
		return ""
	}
	f, _ := strconv.ParseUint(flags, 16, 8)
	sampled := "0"
	if f&1 == 1 {
		sampled = "1"
	}
	return fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=%s", traceID[:8], traceID[8:], parentID, sampled)
}

// newTraceID is a new, unsampled root whose Parent is the first 16 hex digits of its random part.
func newTraceID(nowMs int64, random randomHex) string {
	seconds := fmt.Sprintf("%08x", nowMs/1000)
	seconds = seconds[len(seconds)-8:]
	r := random(12)
	return fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=0", seconds, r, r[:16])
}

// callerTraceID is the caller's trace from X-Amzn-Trace-Id, else traceparent; "" when none.
func callerTraceID(amzn, traceparent string, random randomHex) string {
	if amzn != "" {
		if t := fromAmznTraceID(amzn, random); t != "" {
			return t
		}
	}
	if traceparent != "" {
		return fromTraceparent(traceparent)
	}
	return ""
}

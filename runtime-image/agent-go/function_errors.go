package main

// Error payloads the platform itself produces as an invocation's result (returned with
// X-Amz-Function-Error: Unhandled), worded as Lambda does.

import (
	"encoding/json"
	"fmt"
)

const (
	// maxRuntimePayloadBytes is the Runtime API's cap: 6 MB + 100 bytes.
	maxRuntimePayloadBytes = 6*1024*1024 + 100
	// maxInvokeRequestBytes is a synchronous Invoke request's cap.
	maxInvokeRequestBytes = 6 * 1024 * 1024
)

type errorPayload struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

func encodePayload(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func timedOutPayload(requestID string, timeoutSeconds int) []byte {
	return encodePayload(errorPayload{"Sandbox.Timedout",
		fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, float64(timeoutSeconds))})
}

func platformErrorPayload(requestID, errorType, reason string) []byte {
	return encodePayload(errorPayload{errorType, fmt.Sprintf("RequestId: %s Error: %s", requestID, reason)})
}

func responseTooLargePayload(limit int) []byte {
	return encodePayload(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", limit), "Function.ResponseSizeTooLarge"})
}

// errorBody passes the runtime's error document through; an empty one is filled in from its type header.
func errorBody(body []byte, errorType string) []byte {
	if len(body) > 0 {
		return body
	}
	if errorType == "" {
		errorType = "Runtime.Unknown"
	}
	return encodePayload(errorPayload{errorType, ""})
}

// errorTypeOf is the errorType a JSON error document names, or "".
func errorTypeOf(body []byte) string {
	var doc struct {
		ErrorType any `json:"errorType"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	s, _ := doc.ErrorType.(string)
	return s
}

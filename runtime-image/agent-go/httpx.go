package main

// Small helpers shared by the servers, and the one place AgentErrors become HTTP.

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
)

func sendJSON(w http.ResponseWriter, status int, body any, headers ...string) {
	var text []byte
	if raw, ok := body.([]byte); ok {
		text = raw
	} else {
		text, _ = json.Marshal(body)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(text)))
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	w.WriteHeader(status)
	w.Write(text)
}

// sendError puts a typed error on the wire as {errorType, errorMessage} with x-amzn-ErrorType; anything else is a 500.
func sendError(w http.ResponseWriter, err error) {
	var ae *AgentError
	if !errors.As(err, &ae) {
		agentLog("error", "unexpected error", "error", err.Error())
		ae = &AgentError{Type: ErrorTypeService, Message: err.Error(), Status: 500}
	}
	sendJSON(w, ae.Status, errorPayload{ae.Type, ae.Message}, HeaderErrorType, ae.Type)
}

// readBody reads up to limit bytes; past it the rest is drained and dropped and ok is false.
func readBody(r *http.Request, limit int64) (body []byte, ok bool, err error) {
	if r.ContentLength > limit {
		_, err = io.Copy(io.Discard, r.Body)
		return nil, false, err
	}
	body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > limit {
		_, err = io.Copy(io.Discard, r.Body)
		return nil, false, err
	}
	return body, true, nil
}

// abortConnection drops the request's connection without an answer (a replaced long poll).
func abortConnection() { panic(http.ErrAbortHandler) }

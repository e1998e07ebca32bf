package main

import "fmt"

// The error types of the agent's own refusals are generated: ErrorType* in protocol_gen.go.

// AgentError is a typed refusal: a Lambda-style error type and an HTTP status. httpx.go is
// the one place that puts one on the wire.
type AgentError struct {
	Type    string
	Message string
	Status  int
}

func (e *AgentError) Error() string { return e.Message }

func agentErr(errorType string, status int, format string, args ...any) *AgentError {
	return &AgentError{Type: errorType, Message: fmt.Sprintf(format, args...), Status: status}
}

func invalidConfig(msg string) *AgentError { return agentErr(ErrorTypeInvalidConfig, 400, "%s", msg) }

func notSpecialized() *AgentError {
	return agentErr(ErrorTypeNotSpecialized, 409, "This environment has no function yet; POST /lamina/v1/specialize first")
}

func environmentBusy() *AgentError {
	return agentErr(ErrorTypeEnvironmentBusy, 503, "This environment is already running an invocation")
}

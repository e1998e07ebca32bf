package main

import "fmt"

// Error types of the agent's own refusals (operator/src/protocol/agent-http.ts).
const (
	errInvalidConfig            = "InvalidParameterValueException"
	errCodeVerificationFailed   = "CodeVerificationFailedException"
	errInvalidZipFile           = "InvalidZipFileException"
	errArtifactFetchFailed      = "Lamina.ArtifactFetchFailed"
	errExtractionFailed         = "Lamina.ExtractionFailed"
	errAlreadySpecialized       = "Lamina.AlreadySpecialized"
	errSpecializationInProgress = "Lamina.SpecializationInProgress"
	errNotSpecialized           = "Lamina.NotSpecialized"
	errEnvironmentBusy          = "Lamina.EnvironmentBusy"
	errRequestTooLarge          = "RequestEntityTooLargeException"
	errInvalidRequestContent    = "InvalidRequestContentException"
	errNotFound                 = "Lamina.NotFound"
	errService                  = "ServiceException"
)

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

func invalidConfig(msg string) *AgentError { return agentErr(errInvalidConfig, 400, "%s", msg) }

func notSpecialized() *AgentError {
	return agentErr(errNotSpecialized, 409, "This environment has no function yet; POST /lamina/v1/specialize first")
}

func environmentBusy() *AgentError {
	return agentErr(errEnvironmentBusy, 503, "This environment is already running an invocation")
}

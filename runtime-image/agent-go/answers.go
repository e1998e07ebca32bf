package main

// The invoke answer for how an invocation ended, plus what REPORT says about it. Pure.

// Answer is what goes back to the gateway for one invocation.
type Answer struct {
	Body          []byte
	ContentType   string
	FunctionError bool
	Status        string // REPORT's Status: "", timeout or error
	ErrorType     string // REPORT's Error Type for platform-level failures
}

func answerFor(end InvocationEnd, requestID string, timeoutSeconds int) Answer {
	const jsonType = "application/json"
	switch end.Kind {
	case "response":
		ct := end.ContentType
		if ct == "" {
			ct = jsonType
		}
		return Answer{Body: end.Body, ContentType: ct}
	case "error":
		return Answer{Body: errorBody(end.Body, end.RuntimeOutcome.ErrorType), ContentType: jsonType, FunctionError: true}
	case "tooLarge":
		return Answer{Body: responseTooLargePayload(maxRuntimePayloadBytes), ContentType: jsonType, FunctionError: true}
	case "streamed":
		if end.TooLarge {
			return Answer{Body: responseTooLargePayload(MaxStreamedResponseBytes), ContentType: end.ContentType, FunctionError: true}
		}
		if !end.HasError {
			return Answer{Body: []byte{}, ContentType: end.ContentType}
		}
		return Answer{Body: errorBody(end.ErrorBody, end.RuntimeOutcome.ErrorType), ContentType: end.ContentType, FunctionError: true}
	case "timeout":
		return Answer{Body: timedOutPayload(requestID, timeoutSeconds), ContentType: jsonType, FunctionError: true,
			Status: "timeout", ErrorType: "Sandbox.Timedout"}
	default: // exit
		return Answer{Body: platformErrorPayload(requestID, end.ErrorType, end.Reason), ContentType: jsonType, FunctionError: true,
			Status: "error", ErrorType: end.ErrorType}
	}
}

// telemetryStatus is the Telemetry API's status of an answer.
func telemetryStatus(a Answer) string {
	switch {
	case a.Status == "timeout":
		return "timeout"
	case a.Status == "error":
		return "failure"
	case a.FunctionError:
		return "error"
	default:
		return "success"
	}
}

// describeInitFailure is what an Init failure says in the specialise answer.
func describeInitFailure(f *InitFailure) errorPayload {
	if f.Source == "platform" {
		return errorPayload{f.ErrorType, f.Reason}
	}
	var doc map[string]any
	if err := jsonUnmarshal(f.Body, &doc); err != nil {
		return errorPayload{f.ErrorType, string(f.Body)}
	}
	msg := ""
	if v, ok := doc["errorMessage"]; ok && v != nil {
		if s, isString := v.(string); isString {
			msg = s
		} else {
			b, _ := jsonMarshal(v)
			msg = string(b)
		}
	}
	return errorPayload{f.ErrorType, msg}
}

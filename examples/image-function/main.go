// A Lambda handler built with AWS's Go runtime client (github.com/aws/aws-lambda-go), as any
// Go function for Lambda: the binary is the image's entry point and speaks the Runtime API.
package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Name string `json:"name"`
}

type reply struct {
	Message      string `json:"message"`
	FunctionName string `json:"functionName"`
	RequestID    string `json:"requestId"`
}

func handle(ctx context.Context, e event) (reply, error) {
	name := e.Name
	if name == "" {
		name = "world"
	}
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("greeting %s\n", name)
	return reply{
		Message:      fmt.Sprintf("Hello, %s, from a container image!", name),
		FunctionName: lambdacontext.FunctionName,
		RequestID:    lc.AwsRequestID,
	}, nil
}

func main() {
	lambda.Start(handle)
}

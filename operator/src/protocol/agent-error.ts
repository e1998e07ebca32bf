// The agent's typed refusal: a Lambda-style error type and an HTTP status. The agent's
// http.ts is the one place that puts one on the wire ({errorType, errorMessage} and the
// x-amzn-ErrorType header); code outside the agent (zip validation) throws the same kind.
export class AgentError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = errorType;
  }

  toJSON(): { errorType: string; errorMessage: string } {
    return { errorType: this.errorType, errorMessage: this.message };
  }
}

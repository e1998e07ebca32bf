package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import java.util.Map;

/** A function URL handler: greets the `name` query parameter, says which JVM answered. */
public class Hello implements RequestHandler<APIGatewayV2HTTPEvent, APIGatewayV2HTTPResponse> {
  private int invocations = 0;

  @Override
  public APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
    invocations += 1;
    Map<String, String> query = event.getQueryStringParameters();
    String name = query != null && query.get("name") != null ? query.get("name") : "world";
    context.getLogger().log("greeting " + name);
    String body =
        String.format(
            "{\"message\":\"Hello, %s!\",\"method\":\"%s\",\"java\":\"%s\",\"invocations\":%d,\"function\":\"%s\"}",
            name,
            event.getRequestContext().getHttp().getMethod(),
            System.getProperty("java.specification.version"),
            invocations,
            context.getFunctionName());
    return APIGatewayV2HTTPResponse.builder()
        .withStatusCode(200)
        .withHeaders(Map.of("content-type", "application/json"))
        .withBody(body)
        .build();
  }
}

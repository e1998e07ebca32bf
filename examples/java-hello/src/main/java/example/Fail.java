package example;

import com.amazonaws.services.lambda.runtime.Context;
import java.util.Map;

/** A handler that throws: Lambda's Java error shape (errorType, errorMessage, stackTrace). */
public class Fail {
  public String handle(Map<String, Object> event, Context context) {
    throw new IllegalStateException("no " + event.getOrDefault("what", "luck"));
  }
}

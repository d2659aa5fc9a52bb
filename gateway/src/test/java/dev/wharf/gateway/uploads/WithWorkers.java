package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;

import dev.wharf.gateway.TestStack;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the session tests that need ingest workers on the suite's gateway (a completed upload must reach
 * {@code processed}), with the JDK HTTP client pointed at it. Test classes of one JVM run one after another.
 */
abstract class WithWorkers {

  static final int MIB = 1 << 20;

  static TestStack stack;
  static String workers;
  static TusTesting http;

  @BeforeAll
  static void startWorkers() throws Exception {
    stack = TestStack.get();
    workers = await(stack.startWorkers(2));
    http = new TusTesting(stack, stack.port);
  }

  @AfterAll
  static void stopWorkers() throws Exception {
    await(stack.vertx.undeploy(workers));
  }

  /** {@code method path} with the bearer token, and {@code body} as JSON when there is one. */
  static HttpResponse<String> call(String method, String path, String token, JsonObject body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http.base + path)).header("Authorization", "Bearer " + token);
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body.encode()));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    return TusTesting.send(b.build());
  }
}

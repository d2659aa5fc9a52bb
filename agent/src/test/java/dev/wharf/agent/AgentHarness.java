package dev.wharf.agent;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.multipart.MultipartForm;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What the agent tests share: the gateway's {@link TestStack} (real gateway on the embedded servers), the
 * agent run in-process with a given environment, staging and reading deliveries as the sender, and bounded
 * waits. The agent itself is blocking code, so the tests are too: they call it on the test thread.
 */
final class AgentHarness {

  private AgentHarness() {}

  /** What one agent run printed and how it exited. */
  record Run(int exit, String out, String err) {}

  static TestStack stack() throws Exception {
    return TestStack.get();
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static String url(TestStack stack) {
    return "http://127.0.0.1:" + stack.port;
  }

  /** The environment a device has: the gateway URL and its token (plus PATH for --exec). */
  static Map<String, String> env(String url, String token) {
    Map<String, String> env = new HashMap<>();
    env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    if (url != null) {
      env.put("WHARF_URL", url);
    }
    if (token != null) {
      env.put("WHARF_DEVICE_TOKEN", token);
    }
    return env;
  }

  /** Runs {@code wharf-agent args…} in this JVM. */
  static Run agent(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      exit = WharfAgent.run(args, env, o, e);
    }
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Stages {@code files} (name → content) for {@code device} in one request; answers the delivery ids in order. */
  static java.util.List<String> stage(WebClient client, Tenant t, String device, Map<String, Buffer> files) throws Exception {
    MultipartForm form = MultipartForm.create();
    files.forEach((name, body) -> form.binaryFileUpload("file", name, body, "application/octet-stream"));
    HttpResponse<Buffer> resp = await(client.post("/v1/devices/" + device + "/deliveries").bearerTokenAuthentication(t.senderToken())
        .sendMultipartForm(form));
    if (resp.statusCode() != 201) {
      throw new AssertionError("staging answered " + resp.statusCode() + ": " + resp.bodyAsString());
    }
    return resp.bodyAsJsonObject().getJsonArray("items").stream().map(o -> ((JsonObject) o).getString("id")).toList();
  }

  /** The delivery as the sender sees it (state, reject_reason, …). */
  static JsonObject senderView(WebClient client, Tenant t, String id) throws Exception {
    return await(client.get("/v1/deliveries/" + id).bearerTokenAuthentication(t.senderToken()).send()).bodyAsJsonObject();
  }

  /** Blocks until {@code check} holds, polling every 50 ms, failing after {@code timeout}. */
  static void eventually(Duration timeout, Supplier<Boolean> check) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!check.get()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + timeout);
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
  }

  static Supplier<Boolean> deliveryIn(WebClient client, Tenant t, String id, String state) {
    return () -> {
      try {
        return state.equals(senderView(client, t, id).getString("state"));
      } catch (Exception e) {
        return false;
      }
    };
  }

  static byte[] randomBytes(int n, long seed) {
    byte[] bytes = new byte[n];
    new java.util.Random(seed).nextBytes(bytes);
    return bytes;
  }
}

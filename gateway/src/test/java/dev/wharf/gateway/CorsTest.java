package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.DeliveryTesting.Replica;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a browser page of an allowed origin does with the API (a tus upload as tus-js-client sends it: a preflight
 * for each new method or header, then the request with its Origin), driven with the headers a browser adds; a page
 * of another origin is refused before anything happens; a gateway with no origins configured answers no preflight.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CorsTest {

  static final String CONSOLE = "https://console.example.com";
  static TestStack stack;
  static Replica withCors;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    withCors = Replica.start(stack, Map.of("WHARF_HTTP_CORS_ORIGINS", CONSOLE + ", http://localhost:3000"))
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    withCors.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void aPageOfAnAllowedOriginUploadsWithTusAndReadsWhatItNeeds() throws Exception {
    TestStack.Tenant t = await(stack.newTenant());
    String base = "http://127.0.0.1:" + withCors.port;

    HttpResponse<String> preflight = send(HttpRequest.newBuilder(URI.create(base + "/v1/tus")).header("Origin", CONSOLE)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,tus-resumable,upload-length,upload-metadata")
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertThat(preflight.statusCode()).as("answered before any token is asked for").isIn(200, 204);
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).hasValue(CONSOLE);
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Methods").orElse("")).contains("POST", "PATCH", "HEAD", "DELETE");
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Headers").orElse("").toLowerCase())
        .contains("authorization", "tus-resumable", "upload-length", "upload-metadata", "upload-offset");
    assertThat(preflight.headers().firstValue("Access-Control-Max-Age")).hasValue("600");

    byte[] body = "from a browser page".getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> created = send(HttpRequest.newBuilder(URI.create(base + "/v1/tus")).header("Origin", CONSOLE)
        .header("Authorization", "Bearer " + t.tokenA()).header("Tus-Resumable", "1.0.0").header("Upload-Length", Integer.toString(body.length))
        .header("Upload-Metadata", "filename " + Base64.getEncoder().encodeToString("page.txt".getBytes(StandardCharsets.UTF_8)))
        .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(created.headers().firstValue("Access-Control-Allow-Origin")).hasValue(CONSOLE);
    assertThat(created.headers().firstValue("Access-Control-Expose-Headers").orElse("").toLowerCase())
        .as("tus-js-client reads Location and Upload-Offset").contains("location", "upload-offset", "upload-expires", "tus-resumable");
    String upload = base + created.headers().firstValue("Location").orElseThrow();

    HttpResponse<String> patched = send(HttpRequest.newBuilder(URI.create(upload)).header("Origin", CONSOLE)
        .header("Authorization", "Bearer " + t.tokenA()).header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream").method("PATCH", HttpRequest.BodyPublishers.ofByteArray(body)));
    assertThat(patched.statusCode()).isEqualTo(204);
    assertThat(patched.headers().firstValue("Access-Control-Allow-Origin")).hasValue(CONSOLE);
    assertThat(patched.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(body.length));

    // An error is readable by the page too: the problem's code, not an opaque network failure.
    HttpResponse<String> refused = send(HttpRequest.newBuilder(URI.create(base + "/v1/inbox?wait=0")).header("Origin", "http://localhost:3000"));
    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(refused.headers().firstValue("Access-Control-Allow-Origin")).hasValue("http://localhost:3000");
    assertThat(new JsonObject(refused.body()).getString("code")).isEqualTo("unauthorized");
  }

  @Test
  void aPageOfAnotherOriginIsRefusedBeforeAnythingHappens() throws Exception {
    TestStack.Tenant t = await(stack.newTenant());
    String base = "http://127.0.0.1:" + withCors.port;
    HttpResponse<String> preflight = send(HttpRequest.newBuilder(URI.create(base + "/v1/files")).header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST").method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertThat(preflight.statusCode()).isEqualTo(403);
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    assertThat(new JsonObject(preflight.body()).getString("code")).isEqualTo("origin_not_allowed");

    HttpResponse<String> upload = send(HttpRequest.newBuilder(URI.create(base + "/v1/files")).header("Origin", "https://evil.example")
        .header("Authorization", "Bearer " + t.tokenA()).header("X-Wharf-Filename", "evil.txt")
        .POST(HttpRequest.BodyPublishers.ofString("should not be stored")));
    assertThat(upload.statusCode()).isEqualTo(403);
    assertThat(new JsonObject(upload.body()).getString("code")).isEqualTo("origin_not_allowed");
    HttpResponse<String> files = send(HttpRequest.newBuilder(URI.create(base + "/v1/files")).header("Authorization", "Bearer " + t.tokenA()));
    assertThat(new JsonObject(files.body()).getJsonArray("items")).as("nothing was stored").isEmpty();

    HttpResponse<String> noOrigin = send(HttpRequest.newBuilder(URI.create(base + "/v1/inbox?wait=0")).header("Authorization", "Bearer " + t.tokenA()));
    assertThat(noOrigin.statusCode()).as("devices and curl send no Origin and pass untouched").isEqualTo(200);
    assertThat(noOrigin.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
  }

  @Test
  void aGatewayWithNoOriginsConfiguredAnswersNoPreflight() throws Exception {
    HttpResponse<String> preflight = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.port + "/v1/tus")).header("Origin", CONSOLE)
        .header("Access-Control-Request-Method", "POST").method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).as("the browser will refuse the page").isEmpty();
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return HTTP.send(request.timeout(java.time.Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }
}

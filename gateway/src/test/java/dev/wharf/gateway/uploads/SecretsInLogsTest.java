package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.LogCapture;
import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Credentials in URLs (grant tokens, presigned signatures) never reach a log line. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SecretsInLogsTest {

  private LogCapture logs;

  @BeforeEach
  void capture() {
    logs = LogCapture.attach();
  }

  @AfterEach
  void release() {
    logs.close();
  }

  @Test
  void aRefusedGrantPutAndAPresignedSessionLogNoSecret() throws Exception {
    TestStack stack = TestStack.get();
    Tenant t = await(stack.newTenant());
    String token = "wh_g_thisIsASecretGrantTokenValue0123456789";
    HttpResponse<String> refused = TusTesting.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.port + "/v1/grants/" + token))
        .PUT(HttpRequest.BodyPublishers.ofString("xx")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(refused.statusCode()).isEqualTo(404);

    HttpResponse<String> session = TusTesting.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.port + "/v1/uploads"))
        .header("Authorization", "Bearer " + t.tokenA()).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("filename", "s.bin").put("size", 10).encode())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(session.statusCode()).isEqualTo(201);
    String url = new JsonObject(session.body()).getJsonArray("parts").getJsonObject(0).getString("url");
    String signature = url.substring(url.indexOf("X-Amz-Signature=") + "X-Amz-Signature=".length());

    assertThat(logs.lines()).anyMatch(line -> line.contains("/v1/grants/***"));
    assertThat(logs.lines()).noneMatch(line -> line.contains(token) || line.contains(signature) || line.contains(t.tokenA()));
  }
}

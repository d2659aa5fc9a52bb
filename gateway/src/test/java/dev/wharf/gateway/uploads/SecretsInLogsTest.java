package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/** Credentials in URLs (grant tokens, presigned signatures) never reach a log line. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SecretsInLogsTest {

  private final ListAppender<ILoggingEvent> captured = new ListAppender<>();
  private Logger root;

  @BeforeEach
  void capture() {
    root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    captured.start();
    root.addAppender(captured);
  }

  @AfterEach
  void release() {
    root.detachAppender(captured);
  }

  private List<String> lines() {
    return captured.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
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

    assertThat(lines()).anyMatch(line -> line.contains("/v1/grants/***"));
    assertThat(lines()).noneMatch(line -> line.contains(token) || line.contains(signature) || line.contains(t.tokenA()));
  }
}

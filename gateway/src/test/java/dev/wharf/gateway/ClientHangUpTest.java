package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that hangs up in the middle of its body is logged as gone, not as a dependency outage: the bare
 * "connection closed" its hang-up raises in the body reader is the same exception type as a storage connection
 * that drops, and was once answered (to nobody) and logged as {@code dependency_unavailable}, which sends an
 * operator looking for an outage that is not there.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClientHangUpTest {

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
  void aHangUpMidBodyIsLoggedAsAbandonedNotAsAnOutage() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant tenant = TestStack.await(stack.newTenant());
    // One complete request first, so the token is in the gateway's cache and the next request reaches its body
    // reader in the same event-loop turn as its head, before the hang-up can be seen.
    HttpResponse<String> warm = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.port + "/v1/inbox"))
        .header("Authorization", "Bearer " + tenant.tokenA()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(warm.statusCode()).isEqualTo(200);

    String requestId = "hangup-" + UUID.randomUUID();
    try (Socket socket = new Socket("127.0.0.1", stack.port)) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/inbox/" + UUID.randomUUID() + "/reject HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tenant.tokenA()
          + "\r\nX-Request-Id: " + requestId + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"reason\":").getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }

    List<String> lines = awaitAbandoned(requestId);
    assertThat(lines).as("the gateway's log lines for the hung-up request").anyMatch(l -> l.contains("abandoned by the client"))
        .noneMatch(l -> l.contains("unavailable"));
  }

  /** The same over h2c: the client closes its connection while a stream's body is half sent. */
  @Test
  void anHttp2HangUpMidBodyIsLoggedAsAbandonedNotAsAnOutage() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant tenant = TestStack.await(stack.newTenant());
    HttpClientAgent client = stack.h2cClient();
    String requestId = "h2-hangup-" + UUID.randomUUID();
    try {
      HttpClientResponse warm = TestStack.await(client.request(HttpMethod.GET, "/v1/inbox")
          .compose(r -> r.putHeader("Authorization", "Bearer " + tenant.tokenA()).send()));
      assertThat(warm.statusCode()).isEqualTo(200);
      HttpClientRequest held = TestStack.await(client.request(HttpMethod.POST, "/v1/inbox/" + UUID.randomUUID() + "/reject"));
      held.exceptionHandler(expected -> { });
      held.putHeader("Authorization", "Bearer " + tenant.tokenA()).putHeader("X-Request-Id", requestId)
          .putHeader("Content-Type", "application/json").putHeader("Content-Length", "1000");
      TestStack.await(held.write("{\"reason\":"));
    } finally {
      TestStack.await(client.close());
    }
    List<String> lines = awaitAbandoned(requestId);
    assertThat(lines).as("the gateway's log lines for the hung-up stream").anyMatch(l -> l.contains("abandoned by the client"))
        .noneMatch(l -> l.contains("unavailable"));
  }

  private List<String> awaitAbandoned(String requestId) throws InterruptedException {
    return logs.awaitLinesWith(requestId, lines -> lines.stream().anyMatch(l -> l.contains("abandoned by the client")), Duration.ofSeconds(30));
  }
}

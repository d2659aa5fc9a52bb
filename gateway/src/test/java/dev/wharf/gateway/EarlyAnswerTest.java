package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An upload refused before its body is read (here: a bad token) still gets its answer while the client goes on
 * sending: the gateway reads and drops the rest of the body before it closes the connection, so the close is a
 * clean one and not a reset that can destroy the answer in flight (the client would see the connection drop
 * without a status, as the PostgreSQL fault scenario once did with early 503s).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EarlyAnswerTest {

  private static final int BODY = 4 * 1024 * 1024;

  @Test
  void aRefusalSentBeforeTheBodyWasReadReachesTheClientWhileItIsStillSending() throws Exception {
    TestStack stack = TestStack.get();
    for (int round = 0; round < 5; round++) {
      try (Socket socket = new Socket("127.0.0.1", stack.port)) {
        socket.setSoTimeout(20_000);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wh_not_a_token\r\nX-Wharf-Filename: big.bin\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: " + BODY + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        // The body goes out from another thread while this one reads the answer, as a streaming client does.
        CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
          byte[] chunk = new byte[64 * 1024];
          try {
            for (int sent = 0; sent < BODY; sent += chunk.length) {
              out.write(chunk);
            }
            out.flush();
          } catch (IOException closedByTheServer) {
            // Expected once the server stops draining; the answer is what counts.
          }
        });
        String head = readHead(socket.getInputStream());
        assertThat(head).startsWith("HTTP/1.1 401");
        assertThat(head.toLowerCase()).contains("connection: close");
        sending.get(30, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Over HTTP/2 (h2c) a connection carries many requests at once, so a refusal sent before its body was read
   * ends that one stream and never the connection: here, on one connection, a long-poll waits while an upload is
   * refused after its first 64 KiB (the client then holds the rest). The refusal arrives at once, the stream is
   * reset with NO_ERROR once the bounded drain gives up on the held body (RFC 9113 §8.1), and the long-poll and a
   * later request on the same connection are answered. Closing the connection instead cut every other stream on
   * it (the HTTP fuzz test once saw that as stray 500s and 503s).
   */
  @Test
  void anHttp2RefusalEndsItsOwnStreamAndNotTheConnection() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant tenant = TestStack.await(stack.newTenant());
    HttpClientAgent client = stack.h2cClient();
    Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
    try {
      Future<JsonObject> poll = client.request(HttpMethod.GET, "/v1/inbox?wait=3").compose(request -> {
        connections.add(request.connection());
        return request.putHeader("Authorization", "Bearer " + tenant.tokenA()).send();
      }).compose(response -> response.body().map(body -> new JsonObject().put("status", response.statusCode()).put("body", body.toString())));

      CompletableFuture<Long> reset = new CompletableFuture<>();
      HttpClientRequest upload = TestStack.await(client.request(HttpMethod.POST, "/v1/files"));
      connections.add(upload.connection());
      upload.exceptionHandler(e -> reset.complete(e instanceof StreamResetException r ? r.getCode() : -1L))
          .putHeader("Authorization", "Bearer wh_not_a_token").putHeader("X-Wharf-Filename", "big.bin")
          .putHeader("Content-Type", "application/octet-stream").putHeader("Content-Length", Integer.toString(BODY));
      Future<HttpClientResponse> refused = upload.response();
      TestStack.await(upload.write(Buffer.buffer(new byte[64 * 1024])));
      // The rest of the body is never sent: the answer must not wait for it.
      HttpClientResponse refusal = TestStack.await(refused);
      assertThat(refusal.statusCode()).isEqualTo(401);
      assertThat(refusal.getHeader("Connection")).as("no connection header over HTTP/2").isNull();
      assertThat(reset.get(20, TimeUnit.SECONDS)).as("the refused stream's reset code (NO_ERROR)").isZero();

      JsonObject polled = TestStack.await(poll);
      assertThat(polled.getInteger("status")).as("the long-poll on the same connection: " + polled).isEqualTo(200);
      HttpClientResponse later = TestStack.await(client.request(HttpMethod.GET, "/healthz").compose(request -> {
        connections.add(request.connection());
        return request.send();
      }));
      assertThat(later.statusCode()).isEqualTo(200);
      assertThat(connections).as("one connection carried all three").hasSize(1);
    } finally {
      TestStack.await(client.close());
    }
  }

  /**
   * The JDK's {@code HttpClient} over h2c, whose JDK 17 version never completes an exchange whose stream is
   * reset after a complete answer: a refused body that the client sends in full is drained, so the client gets
   * its 401 and the long-poll beside it its 200.
   */
  @Test
  void theJdkClientOverH2cGetsItsRefusalAndKeepsItsConnection() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant tenant = TestStack.await(stack.newTenant());
    java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_2).build();
    String base = "http://127.0.0.1:" + stack.port;
    var upgraded = client.send(java.net.http.HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(upgraded.version()).as("the client upgraded to h2c").isEqualTo(java.net.http.HttpClient.Version.HTTP_2);
    for (int round = 0; round < 3; round++) {
      var poll = client.sendAsync(java.net.http.HttpRequest.newBuilder(URI.create(base + "/v1/inbox?wait=1"))
          .header("Authorization", "Bearer " + tenant.tokenA()).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      var refused = client.send(java.net.http.HttpRequest.newBuilder(URI.create(base + "/v1/files"))
          .header("Authorization", "Bearer wh_not_a_token").header("X-Wharf-Filename", "big.bin")
          .header("Content-Type", "application/octet-stream")
          .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(new byte[1024 * 1024])).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(401);
      assertThat(refused.version()).isEqualTo(java.net.http.HttpClient.Version.HTTP_2);
      var polled = poll.get(30, TimeUnit.SECONDS);
      assertThat(polled.statusCode()).as("the long-poll beside it: " + polled.body()).isEqualTo(200);
    }
  }


  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the connection ended before the answer's head: " + head.toString(StandardCharsets.US_ASCII));
      }
      head.write(b);
      matched = b == end[matched] ? matched + 1 : b == '\r' ? 1 : 0;
    }
    return head.toString(StandardCharsets.US_ASCII);
  }
}

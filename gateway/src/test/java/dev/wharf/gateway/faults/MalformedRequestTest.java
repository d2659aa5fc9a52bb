package dev.wharf.gateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.LogCapture;
import dev.wharf.gateway.TestStack;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The requests the HTTP fuzz ({@link HttpFuzzTest}) first found answered 500, kept as regressions: each is now a 4xx
 * problem+json with a stable code.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class MalformedRequestTest {

  static TestStack stack;
  static TestStack.Tenant t;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    t = HttpFuzzTest.await(stack.newTenant());
  }

  @Test
  void aBrokenPercentEncodingInThePathIsMalformedPath() throws Exception {
    assertProblem(send("GET /v1/files/%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + t.tokenA() + "\r\n\r\n"), 400, "malformed_path");
    assertProblem(send("GET /v1/files/a%/content HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "malformed_path");
  }

  /** A NUL in the path is refused before any route: it once reached PostgreSQL as a tenant id and came back 500. */
  @Test
  void aNulInThePathIsMalformedPath() throws Exception {
    assertProblem(send("DELETE /v1/admin/tenants/wh_g_%00/tokens/" + UUID.randomUUID() + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + TestStack.ADMIN_TOKEN + "\r\n\r\n"), 400, "malformed_path");
    assertProblem(send("GET /v1/files/%00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + t.tokenA() + "\r\n\r\n"), 400, "malformed_path");
  }

  /**
   * The router matches {@code /v1/tus/{id}/} (one trailing slash) to the tus PATCH route, which streams its body;
   * the body handler took such a request for a buffered one, and over HTTP/2 the PATCH route's pause of a request
   * already read threw (500). Now a trailing slash streams like the bare path.
   */
  @Test
  void aTusPatchWithATrailingSlashIsNoServerErrorOverHttp2() throws Exception {
    java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_2).build();
    String base = "http://127.0.0.1:" + stack.port;
    for (String body : List.of("", "abc")) {
      var answer = client.send(java.net.http.HttpRequest.newBuilder(URI.create(base + "/v1/tus/" + UUID.randomUUID() + "/"))
          .header("Authorization", "Bearer " + t.tokenA()).header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0")
          .header("Content-Type", "application/offset+octet-stream")
          .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(answer.statusCode()).as("PATCH with %d body bytes over %s: %s", body.length(), answer.version(), answer.body())
          .isEqualTo(404);
    }
  }

  /** A tus method override that is no method name at all is the same 405 as any other unknown one (it was a 500). */
  @Test
  void aMalformedTusMethodOverrideIs405() throws Exception {
    assertProblem(send("POST /v1/tus/" + UUID.randomUUID() + " HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nAuthorization: Bearer "
        + t.tokenA() + "\r\nX-HTTP-Method-Override: PA,TCH\r\nContent-Length: 0\r\n\r\n"), 405, "method_not_allowed");
  }

  /**
   * A request target that is not a path at all (no leading slash): Vert.x Web fails it with a bare 400 before any
   * route runs, and matching that failure to a handler threw on the broken escape (logged as "Unhandled exception
   * in router" with a stack trace, answered in plain text). Now it is a problem like the rest.
   */
  @Test
  void aTargetThatIsNotAPathIsMalformedPath() throws Exception {
    assertProblem(send("GET %zz HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "malformed_path");
    assertProblem(send("GET abc HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "malformed_path");
    assertProblem(send("POST v1%2Ffiles HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"), 400, "malformed_path");
  }

  @Test
  void aBrokenPercentEncodingInTheQueryIsMalformedQuery() throws Exception {
    assertProblem(send("GET /v1/files?cursor=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + t.tokenA() + "\r\n\r\n"), 400,
        "malformed_query");
    assertProblem(send("GET /v1/jobs?a=% HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "malformed_query");
  }

  @Test
  void aMultipartTypeWithoutAUsableBoundaryIsMalformedMultipart() throws Exception {
    for (String type : new String[] {"multipart/form-data; boundary=", "multipart/form-data; boundary=\"",
        "multipart/form-data; boundary=a; boundary=b", "multipart/form-data"}) {
      assertProblem(send("POST /v1/mqtt/auth HTTP/1.1\r\nHost: x\r\nContent-Type: " + type + "\r\nContent-Length: 2\r\n\r\n{}"),
          400, "malformed_multipart");
    }
  }

  @Test
  void aFormBodyOnAGetIsUnsupportedMediaType() throws Exception {
    assertProblem(send("GET /v1/inbox?wait=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + t.tokenA()
        + "\r\nContent-Type: multipart/form-data; boundary=abc\r\nContent-Length: 0\r\n\r\n"), 415, "unsupported_media_type");
  }

  @Test
  void aMissingHostOrAnEmptyPathIsBadRequest() throws Exception {
    assertProblem(send("GET /metrics HTTP/1.1\r\n\r\n"), 400, "bad_request");
    assertProblem(send("GET  HTTP/1.1\r\nHost: x\r\n\r\n"), 400, null);
  }

  @Test
  void aChunkSizeThatIsNotHexIsMalformedBodyOrClosed() throws Exception {
    RawHttp.Answer a = send("POST /v1/jobs/x/cancel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + t.tokenA()
        + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
    // Either Vert.x drops the connection on the decoder failure, or the route sees it and answers malformed_body.
    if (a.status() != RawHttp.CLOSED) {
      assertProblem(a, 400, "malformed_body");
    }
  }

  @Test
  void anOverlongFormFieldIsTooLarge() throws Exception {
    String body = "username=" + "u".repeat(20_000);
    RawHttp.Answer a = send("POST /v1/admin/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestStack.ADMIN_TOKEN
        + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
    assertThat(a.status()).as(a.bodyText()).isIn(400, 413);
    assertThat(new JsonObject(a.bodyText()).getString("code")).isNotNull();
  }

  /**
   * On an h2c connection, one stream's header block over the limit is a connection error in Netty's HTTP/2 codec,
   * and it reaches every other stream still reading its body. Such a stream was answered {@code 500}: its own
   * request was fine, but the connection it came on was broken by its client's frames, so it is refused as
   * {@code http2_error} or logged as abandoned, never a server error. The HTTP fuzz test's h2c cases found it;
   * the JDK's client sends what it is given (Vert.x's refuses the header itself).
   */
  @Test
  void aProtocolErrorOnAnHttp2ConnectionIsNoServerErrorForTheStreamBesideIt() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (LogCapture logs = LogCapture.attach()) {
      java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_2).build();
      String base = "http://127.0.0.1:" + stack.port;
      // The upgrade, and the token into the gateway's cache, so the held request below reaches its body reader in
      // the same turn as its head, before the next stream's headers are read.
      var warm = client.send(java.net.http.HttpRequest.newBuilder(URI.create(base + "/v1/inbox")).header("Authorization", "Bearer " + t.tokenA())
          .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(warm.statusCode()).isEqualTo(200);
      assertThat(warm.version()).isEqualTo(java.net.http.HttpClient.Version.HTTP_2);

      String requestId = "h2-neighbour-" + UUID.randomUUID();
      CountDownLatch firstBytesTaken = new CountDownLatch(1);
      InputStream heldBody = new InputStream() {
        private boolean sent;

        @Override
        public int read() {
          throw new UnsupportedOperationException();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (!sent) {
            sent = true;
            firstBytesTaken.countDown();
            b[off] = '{';
            return 1;
          }
          try {
            release.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            throw new IOException(e);
          }
          throw new IOException("held body given up");
        }
      };
      client.sendAsync(java.net.http.HttpRequest.newBuilder(URI.create(base + "/v1/inbox/" + UUID.randomUUID() + "/reject"))
          .header("Authorization", "Bearer " + t.tokenA()).header("Content-Type", "application/json").header("X-Request-Id", requestId)
          .POST(java.net.http.HttpRequest.BodyPublishers.fromPublisher(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> heldBody), 1000))
          .build(), java.net.http.HttpResponse.BodyHandlers.discarding());
      assertThat(firstBytesTaken.await(30, TimeUnit.SECONDS)).as("the held request started its body").isTrue();
      client.sendAsync(java.net.http.HttpRequest.newBuilder(URI.create(base + "/healthz")).header("X-Filler", "x".repeat(16 * 1024)).build(),
          java.net.http.HttpResponse.BodyHandlers.discarding());

      List<String> lines = logs.awaitLinesWith(requestId, found -> !found.isEmpty(), java.time.Duration.ofSeconds(30));
      assertThat(lines).as("the gateway's log lines for the held request").isNotEmpty()
          .allMatch(l -> l.contains("code=http2_error") || l.contains("abandoned by the client"));
    } finally {
      release.countDown();
    }
  }


  private static RawHttp.Answer send(String request) throws Exception {
    return RawHttp.exchange(stack.port, (request.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"))
        .getBytes(StandardCharsets.ISO_8859_1), false, 10_000);
  }

  private static void assertProblem(RawHttp.Answer a, int status, String code) {
    assertThat(a.status()).as(a.bodyText()).isEqualTo(status);
    if (code != null) {
      assertThat(a.header("content-type")).startsWith("application/problem+json");
      assertThat(new JsonObject(a.bodyText()).getString("code")).isEqualTo(code);
    }
  }
}

package dev.wharf.gateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import io.vertx.core.json.JsonObject;
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

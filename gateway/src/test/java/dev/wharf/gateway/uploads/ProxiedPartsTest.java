package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static dev.wharf.gateway.uploads.TusTesting.random;
import static dev.wharf.gateway.uploads.TusTesting.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.LogCapture;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Parts of a direct session sent through the gateway ({@code PUT /v1/uploads/{id}/parts/{n}}) instead of to their
 * presigned URLs, by the JDK's HTTP client: in parallel, mixed with a presigned part, completed and verified; and
 * every refusal, none of which leaves a part in storage.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxiedPartsTest extends WithWorkers {

  private static HttpRequest part(String id, String n, String token, byte[] bytes, int from, int to) {
    return HttpRequest.newBuilder(URI.create(http.base + "/v1/uploads/" + id + "/parts/" + n)).header("Authorization", "Bearer " + token)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes, from, to - from)).build();
  }

  private static JsonObject session(Tenant t, long size, String sha256) throws Exception {
    JsonObject body = new JsonObject().put("filename", "scan.bin").put("size", size);
    if (sha256 != null) {
      body.put("sha256", sha256);
    }
    HttpResponse<String> created = call("POST", "/v1/uploads", t.tokenA(), body);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    return new JsonObject(created.body());
  }

  private static JsonArray stored(Tenant t, String id) throws Exception {
    HttpResponse<String> resp = call("GET", "/v1/uploads/" + id, t.tokenA(), null);
    assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
    return new JsonObject(resp.body()).getJsonArray("parts");
  }

  private static String code(HttpResponse<String> resp) {
    return new JsonObject(resp.body()).getString("code");
  }

  @Test
  void partsSentInParallelThroughTheGatewayCompleteAVerifiedFile() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(11 * MIB + 17, 31);
    JsonObject session = session(t, bytes.length, sha256(bytes));
    String id = session.getString("id");
    int size = session.getInteger("part_size");
    assertThat(session.getInteger("parts_total")).isEqualTo(3);

    // Parts 1 and 3 through the gateway at once; part 2 to its presigned URL: one session, both ways.
    List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
    sent.add(TusTesting.HTTP.sendAsync(part(id, "3", t.tokenA(), bytes, 2 * size, bytes.length), HttpResponse.BodyHandlers.ofString()));
    sent.add(TusTesting.HTTP.sendAsync(part(id, "1", t.tokenA(), bytes, 0, size), HttpResponse.BodyHandlers.ofString()));
    String url = session.getJsonArray("parts").getJsonObject(1).getString("url");
    HttpResponse<String> presigned = TusTesting.HTTP.send(HttpRequest.newBuilder(URI.create(url))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes, size, size)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(presigned.statusCode()).isEqualTo(200);
    HttpResponse<String> third = sent.get(0).get(60, TimeUnit.SECONDS);
    HttpResponse<String> first = sent.get(1).get(60, TimeUnit.SECONDS);
    assertThat(third.statusCode()).as(third.body()).isEqualTo(200);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    JsonObject answer = new JsonObject(third.body());
    assertThat(answer.getInteger("number")).isEqualTo(3);
    assertThat(answer.getLong("size")).isEqualTo(bytes.length - 2L * size);
    assertThat(answer.getString("sha256")).isEqualTo(sha256(bytes, 2 * size, bytes.length));
    assertThat(answer.getString("etag")).isNotBlank();
    assertThat(new JsonObject(first.body()).getString("sha256")).isEqualTo(sha256(bytes, 0, size));

    // A part sent again replaces the first copy (wrong bytes first, then the right ones).
    assertThat(TusTesting.send(part(id, "1", t.tokenA(), random(size, 77), 0, size)).statusCode()).isEqualTo(200);
    assertThat(TusTesting.send(part(id, "1", t.tokenA(), bytes, 0, size)).statusCode()).isEqualTo(200);
    assertThat(stored(t, id)).hasSize(3);

    HttpResponse<String> done = call("POST", "/v1/uploads/" + id + "/complete", t.tokenA(), null);
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    JsonObject file = http.awaitVerdict(t.tokenA(), UUID.fromString(id));
    assertThat(file.getString("status")).as(file.encode()).isEqualTo("processed");
    assertThat(sha256(http.download(t.tokenA(), UUID.fromString(id)))).isEqualTo(sha256(bytes));
    assertThat(await(stack.openMultipartUploads(t.id()))).isZero();

    // The audit trail has each part the gateway stored, with the SHA-256 of its bytes.
    JsonArray events = new JsonObject(call("GET", "/v1/files/" + id + "/events", t.tokenA(), null).body()).getJsonArray("items");
    List<String> stores = events.stream().map(JsonObject.class::cast).filter(e -> "part_stored".equals(e.getString("event")))
        .map(e -> e.getJsonObject("detail").getInteger("part") + ":" + e.getJsonObject("detail").getString("sha256"))
        .collect(Collectors.toList());
    assertThat(stores).hasSize(4).contains("3:" + sha256(bytes, 2 * size, bytes.length)).endsWith("1:" + sha256(bytes, 0, size));

    // A completed upload takes no more parts.
    HttpResponse<String> late = TusTesting.send(part(id, "2", t.tokenA(), bytes, size, 2 * size));
    assertThat(late.statusCode()).isEqualTo(409);
    assertThat(code(late)).isEqualTo("upload_completed");
  }

  @Test
  void refusedPartsLeaveNothingInStorage() throws Exception {
    Tenant t = await(stack.newTenant());
    Tenant other = await(stack.newTenant());
    byte[] bytes = random(6 * MIB, 32);
    JsonObject session = session(t, bytes.length, null);
    String id = session.getString("id");
    int size = session.getInteger("part_size");

    HttpResponse<String> wrongSize = TusTesting.send(part(id, "1", t.tokenA(), bytes, 0, size - 1));
    assertThat(wrongSize.statusCode()).isEqualTo(400);
    assertThat(code(wrongSize)).isEqualTo("invalid_part");
    assertThat(wrongSize.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/problem+json"));
    for (String n : new String[] {"0", "3", "x", "-1", "99999999999"}) {
      HttpResponse<String> bad = TusTesting.send(part(id, n, t.tokenA(), bytes, 0, 10));
      assertThat(bad.statusCode()).as("part " + n).isEqualTo(400);
      assertThat(code(bad)).as("part " + n).isEqualTo("invalid_part");
    }
    // A body of unknown length (chunked) cannot be checked against the part's size before it streams.
    HttpResponse<String> chunked = TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/uploads/" + id + "/parts/2"))
        .header("Authorization", "Bearer " + t.tokenA())
        .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes, size, bytes.length - size))).build());
    assertThat(chunked.statusCode()).isEqualTo(411);
    assertThat(code(chunked)).isEqualTo("length_required");
    for (String token : new String[] {t.tokenB(), other.tokenA()}) {
      assertThat(TusTesting.send(part(id, "1", token, bytes, 0, size)).statusCode()).isEqualTo(404);
    }
    assertThat(TusTesting.send(part(id, "1", t.senderToken(), bytes, 0, size)).statusCode()).isEqualTo(403);
    assertThat(TusTesting.send(part(UUID.randomUUID().toString(), "1", t.tokenA(), bytes, 0, size)).statusCode()).isEqualTo(404);
    HttpResponse<String> noToken = TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/uploads/" + id + "/parts/1"))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes, 0, size)).build());
    assertThat(noToken.statusCode()).isEqualTo(401);

    // A device whose link breaks mid-part: the part it started is not in storage.
    try (LogCapture log = LogCapture.attach()) {
      try (Socket socket = new Socket("127.0.0.1", stack.port)) {
        OutputStream out = socket.getOutputStream();
        out.write(("PUT /v1/uploads/" + id + "/parts/1 HTTP/1.1\r\nHost: wharf\r\nAuthorization: Bearer " + t.tokenA()
            + "\r\nContent-Length: " + size + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes, 0, size / 2);
        out.flush();
      }
      assertThat(log.awaitLinesWith("part not stored [file=" + id + ", part=1", lines -> !lines.isEmpty(), Duration.ofSeconds(30)))
          .as("the gateway gave the cut part up").isNotEmpty();
    }
    // Storage may still be tearing the cut part down (s3proxy then refuses to list the parts: 503 from the
    // gateway); once it answers, it holds nothing of it.
    await(stack.eventually(Duration.ofSeconds(30), () -> stack.client.get("/v1/uploads/" + id).bearerTokenAuthentication(t.tokenA())
        .send().map(resp -> resp.statusCode() == 200)));
    assertThat(stored(t, id)).as("nothing of a refused or cut part is stored").isEmpty();

    // The same session still takes the right parts.
    assertThat(TusTesting.send(part(id, "2", t.tokenA(), bytes, size, bytes.length)).statusCode()).isEqualTo(200);
    assertThat(TusTesting.send(part(id, "1", t.tokenA(), bytes, 0, size)).statusCode()).isEqualTo(200);
    assertThat(stored(t, id)).hasSize(2);
  }
}

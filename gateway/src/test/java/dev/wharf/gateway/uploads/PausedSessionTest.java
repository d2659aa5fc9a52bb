package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static dev.wharf.gateway.uploads.TusTesting.random;
import static dev.wharf.gateway.uploads.TusTesting.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A device that expects to be away pauses its direct session: kept for {@code uploads.pause-max} instead of
 * expiring after {@code uploads.session-ttl}, taking nothing while paused, and on resume answered with what storage
 * holds and URLs for the rest.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PausedSessionTest extends WithWorkers {

  private static HttpResponse<String> putPart(String id, int n, String token, byte[] bytes, int from, int to) throws Exception {
    return TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/uploads/" + id + "/parts/" + n))
        .header("Authorization", "Bearer " + token).PUT(HttpRequest.BodyPublishers.ofByteArray(bytes, from, to - from)).build());
  }

  private static String code(HttpResponse<String> resp) {
    return new JsonObject(resp.body()).getString("code");
  }

  @Test
  void aPausedSessionIsKeptTakesNothingAndResumesWhereItWas() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(6 * MIB + 5, 41);
    JsonObject session = new JsonObject(call("POST", "/v1/uploads", t.tokenA(), new JsonObject()
        .put("filename", "mission.bag").put("size", bytes.length).put("sha256", sha256(bytes))).body());
    String id = session.getString("id");
    int size = session.getInteger("part_size");
    assertThat(putPart(id, 1, t.tokenA(), bytes, 0, size).statusCode()).isEqualTo(200);

    Instant before = Instant.now();
    HttpResponse<String> paused = call("POST", "/v1/uploads/" + id + "/pause", t.tokenA(), null);
    assertThat(paused.statusCode()).as(paused.body()).isEqualTo(200);
    JsonObject p = new JsonObject(paused.body());
    assertThat(p.getString("state")).isEqualTo("paused");
    assertThat(p.getString("paused_at")).isNotNull();
    // Kept for uploads.pause-max (7 days by default), not the suite's session-ttl.
    assertThat(Instant.parse(p.getString("expires_at"))).isAfter(before.plus(Duration.ofDays(6)));

    // Nothing is taken while paused; a part URL handed out before is storage's to honour, so only the gateway refuses.
    for (HttpResponse<String> refused : List.of(
        putPart(id, 2, t.tokenA(), bytes, size, bytes.length),
        call("POST", "/v1/uploads/" + id + "/parts", t.tokenA(), new JsonObject().put("parts", new JsonArray().add(2))),
        call("POST", "/v1/uploads/" + id + "/complete", t.tokenA(), null))) {
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
      assertThat(code(refused)).isEqualTo("upload_paused");
    }
    JsonObject status = new JsonObject(call("GET", "/v1/uploads/" + id, t.tokenA(), null).body());
    assertThat(status.getString("state")).isEqualTo("paused");
    assertThat(status.getJsonArray("parts")).hasSize(1);
    // Another device, another tenant, a sender: the same answers as for any upload.
    assertThat(call("POST", "/v1/uploads/" + id + "/resume", t.tokenB(), null).statusCode()).isEqualTo(404);
    assertThat(call("POST", "/v1/uploads/" + id + "/pause", await(stack.newTenant()).tokenA(), null).statusCode()).isEqualTo(404);
    assertThat(call("POST", "/v1/uploads/" + id + "/resume", t.senderToken(), null).statusCode()).isEqualTo(403);

    HttpResponse<String> resumed = call("POST", "/v1/uploads/" + id + "/resume", t.tokenA(), null);
    assertThat(resumed.statusCode()).as(resumed.body()).isEqualTo(200);
    JsonObject r = new JsonObject(resumed.body());
    assertThat(r.getString("state")).isEqualTo("active");
    assertThat(r.containsKey("paused_at")).isFalse();
    assertThat(Instant.parse(r.getString("expires_at"))).isBefore(Instant.now().plus(Duration.ofDays(2)));
    assertThat(r.getLong("bytes_stored")).isEqualTo(size);
    // Resuming again only renews the expiry (no second "resumed" in the trail, checked below).
    HttpResponse<String> again = call("POST", "/v1/uploads/" + id + "/resume", t.tokenA(), null);
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(again.body()).getString("state")).isEqualTo("active");
    JsonArray urls = r.getJsonArray("parts");
    assertThat(urls).hasSize(1);
    assertThat(urls.getJsonObject(0).getInteger("number")).isEqualTo(2);
    HttpResponse<String> direct = TusTesting.HTTP.send(HttpRequest.newBuilder(URI.create(urls.getJsonObject(0).getString("url")))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes, size, bytes.length - size)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(direct.statusCode()).isEqualTo(200);
    HttpResponse<String> done = call("POST", "/v1/uploads/" + id + "/complete", t.tokenA(), null);
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    JsonObject file = http.awaitVerdict(t.tokenA(), UUID.fromString(id));
    assertThat(file.getString("status")).isEqualTo("processed");
    assertThat(sha256(http.download(t.tokenA(), UUID.fromString(id)))).isEqualTo(sha256(bytes));

    List<String> events = new JsonObject(call("GET", "/v1/files/" + id + "/events", t.tokenA(), null).body()).getJsonArray("items")
        .stream().map(e -> ((JsonObject) e).getString("event")).toList();
    assertThat(events).containsSubsequence("paused", "resumed");
    assertThat(events.stream().filter("resumed"::equals)).hasSize(1);
    HttpResponse<String> late = call("POST", "/v1/uploads/" + id + "/pause", t.tokenA(), null);
    assertThat(late.statusCode()).isEqualTo(409);
    assertThat(code(late)).isEqualTo("upload_completed");
  }

  @Test
  void aPausedSessionPastItsHorizonIsSweptLikeAnyExpiredOne() throws Exception {
    Tenant t = await(stack.newTenant());
    JsonObject session = new JsonObject(call("POST", "/v1/uploads", t.tokenA(), new JsonObject()
        .put("filename", "gone.bin").put("size", 6 * MIB)).body());
    String id = session.getString("id");
    assertThat(call("POST", "/v1/uploads/" + id + "/pause", t.tokenA(), null).statusCode()).isEqualTo(200);
    assertThat(await(stack.openMultipartUploads(t.id()))).isEqualTo(1);
    // uploads.pause-max ran out (its horizon is the session's expiry; the sweeper runs every 500 ms here).
    await(stack.app.services().pool().preparedQuery("UPDATE upload_sessions SET expires_at = now() - interval '1 second' WHERE file_id = $1")
        .execute(Tuple.of(UUID.fromString(id))));
    await(stack.eventually(Duration.ofSeconds(30), () -> stack.openMultipartUploads(t.id()).map(open -> open == 0)));
    assertThat(call("GET", "/v1/uploads/" + id, t.tokenA(), null).statusCode()).isEqualTo(404);
  }

  @Test
  void aTusUploadCannotBePaused() throws Exception {
    Tenant t = await(stack.newTenant());
    UUID tus = http.created(t.tokenA(), 100, "t.bin", null);
    assertThat(call("POST", "/v1/uploads/" + tus + "/pause", t.tokenA(), null).statusCode()).isEqualTo(404);
  }
}

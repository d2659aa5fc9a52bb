package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static dev.wharf.gateway.uploads.TusTesting.random;
import static dev.wharf.gateway.uploads.TusTesting.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.devstack.EmbeddedServers;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Presigned direct-to-S3 sessions at /v1/uploads: the device PUTs parts to storage, the gateway completes. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DirectUploadTest extends WithWorkers {

  private static int putPart(String url, byte[] bytes, int from, int to) throws Exception {
    return TusTesting.HTTP.send(HttpRequest.newBuilder(URI.create(url)).PUT(HttpRequest.BodyPublishers.ofByteArray(bytes, from, to - from)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void partsGoStraightToStorageAndTheCompletedFileIsVerified() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(11 * MIB + 17, 21);
    HttpResponse<String> created = call("POST", "/v1/uploads", t.tokenA(), new JsonObject()
        .put("filename", "lidar.bin").put("size", bytes.length).put("sha256", sha256(bytes)).put("priority", "high"));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    assertThat(created.body()).doesNotContain(EmbeddedServers.S3_SECRET_KEY);
    JsonObject session = new JsonObject(created.body());
    String id = session.getString("id");
    int partSize = session.getInteger("part_size");
    JsonArray parts = session.getJsonArray("parts");
    assertThat(session.getInteger("parts_total")).isEqualTo(3);
    assertThat(parts).hasSize(3);

    // Part 1 and 3 go up; part 2 first with the wrong bytes, then again (a retry replaces it).
    assertThat(putPart(parts.getJsonObject(0).getString("url"), bytes, 0, partSize)).isEqualTo(200);
    assertThat(putPart(parts.getJsonObject(2).getString("url"), bytes, 2 * partSize, bytes.length)).isEqualTo(200);
    HttpResponse<String> early = call("POST", "/v1/uploads/" + id + "/complete", t.tokenA(), null);
    assertThat(early.statusCode()).isEqualTo(409);
    assertThat(new JsonObject(early.body()).getString("code")).isEqualTo("upload_incomplete");
    assertThat(new JsonObject(early.body()).getString("detail")).contains("[2]");
    assertThat(putPart(parts.getJsonObject(1).getString("url"), random(partSize, 99), 0, partSize)).isEqualTo(200);

    // A device that lost its state asks what storage holds, and for a fresh URL.
    JsonObject status = new JsonObject(call("GET", "/v1/uploads/" + id, t.tokenA(), null).body());
    assertThat(status.getJsonArray("parts")).hasSize(3);
    assertThat(status.getLong("bytes_stored")).isEqualTo(bytes.length);
    HttpResponse<String> again = call("POST", "/v1/uploads/" + id + "/parts", t.tokenA(), new JsonObject().put("parts", new JsonArray().add(2)));
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(putPart(new JsonObject(again.body()).getJsonArray("parts").getJsonObject(0).getString("url"), bytes, partSize, 2 * partSize))
        .isEqualTo(200);

    HttpResponse<String> done = call("POST", "/v1/uploads/" + id + "/complete", t.tokenA(), null);
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    assertThat(new JsonObject(done.body()).getString("status")).isEqualTo("uploaded");
    assertThat(new JsonObject(done.body()).getString("priority")).isEqualTo("high");
    // Completing twice answers the same file.
    assertThat(call("POST", "/v1/uploads/" + id + "/complete", t.tokenA(), null).statusCode()).isEqualTo(200);

    JsonObject file = http.awaitVerdict(t.tokenA(), UUID.fromString(id));
    assertThat(file.getString("status")).as(file.encode()).isEqualTo("processed");
    assertThat(file.getString("sha256")).isEqualTo(sha256(bytes));
    assertThat(sha256(http.download(t.tokenA(), UUID.fromString(id)))).isEqualTo(sha256(bytes));
    assertThat(await(stack.openMultipartUploads(t.id()))).isZero();
  }

  @Test
  void bytesThatDoNotMatchTheAnnouncedChecksumFailAtIngest() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(1000, 22);
    JsonObject session = new JsonObject(call("POST", "/v1/uploads", t.tokenA(), new JsonObject()
        .put("filename", "x.bin").put("size", bytes.length).put("sha256", "a".repeat(64))).body());
    assertThat(putPart(session.getJsonArray("parts").getJsonObject(0).getString("url"), bytes, 0, bytes.length)).isEqualTo(200);
    String id = session.getString("id");
    assertThat(call("POST", "/v1/uploads/" + id + "/complete", t.tokenA(), null).statusCode()).isEqualTo(200);
    JsonObject file = http.awaitVerdict(t.tokenA(), UUID.fromString(id));
    assertThat(file.getString("status")).isEqualTo("failed");
    assertThat(file.getString("status_detail")).contains("SHA-256");
  }

  @Test
  void anotherDevicesSessionIsNotFoundAndAbortLeavesNothing() throws Exception {
    Tenant t = await(stack.newTenant());
    Tenant other = await(stack.newTenant());
    JsonObject session = new JsonObject(call("POST", "/v1/uploads", t.tokenA(), new JsonObject()
        .put("filename", "y.bin").put("size", 6 * MIB)).body());
    String id = session.getString("id");
    assertThat(putPart(session.getJsonArray("parts").getJsonObject(0).getString("url"), random(5 * MIB, 23), 0, 5 * MIB)).isEqualTo(200);
    for (String token : new String[] {t.tokenB(), other.tokenA()}) {
      assertThat(call("GET", "/v1/uploads/" + id, token, null).statusCode()).isEqualTo(404);
      assertThat(call("POST", "/v1/uploads/" + id + "/parts", token, new JsonObject().put("parts", new JsonArray().add(1))).statusCode()).isEqualTo(404);
      assertThat(call("POST", "/v1/uploads/" + id + "/complete", token, null).statusCode()).isEqualTo(404);
      assertThat(call("DELETE", "/v1/uploads/" + id, token, null).statusCode()).isEqualTo(404);
    }
    assertThat(call("POST", "/v1/uploads", t.senderToken(), new JsonObject().put("filename", "z").put("size", 1)).statusCode()).isEqualTo(403);
    assertThat(new JsonObject(call("POST", "/v1/uploads", t.tokenA(), new JsonObject().put("filename", "z")).body()).getString("code"))
        .isEqualTo("invalid_length");
    assertThat(call("POST", "/v1/uploads", t.tokenA(), new JsonObject().put("filename", "z").put("size", 65L * MIB)).statusCode()).isEqualTo(413);
    assertThat(new JsonObject(call("POST", "/v1/uploads/" + id + "/parts", t.tokenA(), new JsonObject().put("parts", new JsonArray().add(9))).body())
        .getString("code")).isEqualTo("invalid_parts");

    assertThat(call("DELETE", "/v1/uploads/" + id, t.tokenA(), null).statusCode()).isEqualTo(204);
    assertThat(call("GET", "/v1/uploads/" + id, t.tokenA(), null).statusCode()).isEqualTo(404);
    assertThat(await(stack.openMultipartUploads(t.id()))).isZero();
  }

  @Test
  void openUploadsAreCappedPerDeviceAcrossSessionsAndGrants() throws Exception {
    Tenant t = await(stack.newTenant());
    // The test stack allows 3 open uploads per device.
    for (int i = 0; i < 3; i++) {
      assertThat(call("POST", "/v1/uploads", t.tokenA(), new JsonObject().put("filename", "f" + i).put("size", 10)).statusCode()).isEqualTo(201);
    }
    HttpResponse<String> fourth = http.create(t.tokenA(), 10, "f4", null);
    assertThat(fourth.statusCode()).isEqualTo(429);
    assertThat(new JsonObject(fourth.body()).getString("code")).isEqualTo("too_many_open_uploads");
    // Another device has its own cap.
    assertThat(http.create(t.tokenB(), 10, "g", null).statusCode()).isEqualTo(201);
  }
}

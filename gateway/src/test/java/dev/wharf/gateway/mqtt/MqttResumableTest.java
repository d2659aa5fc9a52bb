package dev.wharf.gateway.mqtt;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Resumable and direct uploads asked for over MQTT: a tus URL, presigned part URLs, upload/complete. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MqttResumableTest {

  static final Duration WAIT = Duration.ofSeconds(20);
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  private static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void resumableModeAnswersATusUrlThatTakesTheFile() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = new byte[70_000];
    new Random(31).nextBytes(bytes);
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      JsonObject request = new JsonObject().put("req", "r-tus").put("mode", "resumable").put("filename", "map.bin")
          .put("size", bytes.length).put("sha256", sha256(bytes));
      a.publish("upload/request", request.encode());
      JsonObject grant = a.next("upload/grant", WAIT);
      assertThat(grant.getString("method")).isEqualTo("tus");
      String url = grant.getString("url");
      assertThat(url).isEqualTo("http://127.0.0.1:" + stack.port + "/v1/tus/" + grant.getString("file_id"));
      // The same req again: the same session.
      a.publish("upload/request", request.encode());
      assertThat(a.next("upload/grant", WAIT).getString("file_id")).isEqualTo(grant.getString("file_id"));

      HttpResponse<String> patched = HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + t.tokenA())
          .header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0").header("Content-Type", "application/offset+octet-stream")
          .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(patched.statusCode()).as(patched.body()).isEqualTo(204);
      HttpResponse<String> file = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.port + "/v1/files/" + grant.getString("file_id")))
          .header("Authorization", "Bearer " + t.tokenA()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(new JsonObject(file.body()).getString("sha256")).isEqualTo(sha256(bytes));
    }
  }

  @Test
  void directModeAnswersPartUrlsAndUploadCompleteCommitsTheFile() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = new byte[40_000];
    new Random(32).nextBytes(bytes);
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      a.publish("upload/request", new JsonObject().put("req", "r-direct").put("mode", "direct").put("filename", "scan.bin")
          .put("size", bytes.length).encode());
      JsonObject grant = a.next("upload/grant", WAIT);
      assertThat(grant.getString("method")).isEqualTo("direct");
      assertThat(grant.getJsonArray("parts")).hasSize(1);
      String fileId = grant.getString("file_id");

      // Completing before the part is there: an error reply, nothing committed.
      a.publish("upload/complete", new JsonObject().put("req", "c1").put("file_id", fileId).encode());
      JsonObject error = a.next("errors", WAIT);
      assertThat(error.getJsonObject("error").getString("code")).isEqualTo("upload_incomplete");

      int put = HTTP.send(HttpRequest.newBuilder(URI.create(grant.getJsonArray("parts").getJsonObject(0).getString("url")))
          .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
      assertThat(put).isEqualTo(200);
      a.publish("upload/complete", new JsonObject().put("req", "c2").put("file_id", fileId).encode());
      JsonObject status = a.next("files/status", WAIT);
      assertThat(status.getString("file_id")).isEqualTo(fileId);
      assertThat(status.getString("status")).isEqualTo("uploaded");
      assertThat(status.getString("req")).isEqualTo("c2");

      // Another device's session: not found, the same answer as an unknown one.
      try (PahoDevice b = PahoDevice.connect(stack.mqttPort, t.deviceB(), t.tokenB()).subscribeOwn()) {
        b.publish("upload/complete", new JsonObject().put("file_id", fileId).encode());
        assertThat(b.next("errors", WAIT).getJsonObject("error").getString("code")).isEqualTo("not_found");
      }
    }
  }

  @Test
  void anUnknownModeIsABadRequest() throws Exception {
    Tenant t = await(stack.newTenant());
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      a.publish("upload/request", new JsonObject().put("req", "r-x").put("mode", "carrier-pigeon").put("filename", "a").put("size", 1).encode());
      JsonObject grant = a.next("upload/grant", WAIT);
      assertThat(grant.getJsonObject("error").getString("code")).isEqualTo("bad_request");
    }
  }

  @Test
  void grantsAndSessionsShareTheOpenUploadCap() throws Exception {
    Tenant t = await(stack.newTenant());
    // The test stack allows 3 open uploads per device: two tus sessions over HTTP, one grant over MQTT.
    for (int i = 0; i < 2; i++) {
      HttpResponse<String> created = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.port + "/v1/tus"))
          .header("Authorization", "Bearer " + t.tokenA()).header("Tus-Resumable", "1.0.0").header("Upload-Length", "10")
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(created.statusCode()).isEqualTo(201);
    }
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      a.publish("upload/request", new JsonObject().put("req", "g1").put("filename", "a.json").put("size", 2).encode());
      assertThat(a.next("upload/grant", WAIT).getString("method")).isEqualTo("PUT");
      a.publish("upload/request", new JsonObject().put("req", "g2").put("filename", "b.json").put("size", 2).encode());
      assertThat(a.next("upload/grant", WAIT).getJsonObject("error").getString("code")).isEqualTo("too_many_open_uploads");
      a.publish("upload/request", new JsonObject().put("req", "g3").put("mode", "resumable").put("filename", "c.bin").put("size", 2).encode());
      assertThat(a.next("upload/grant", WAIT).getJsonObject("error").getString("code")).isEqualTo("too_many_open_uploads");
    }
  }
}

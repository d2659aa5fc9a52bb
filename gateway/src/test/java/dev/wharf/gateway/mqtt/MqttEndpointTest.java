package dev.wharf.gateway.mqtt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import java.net.URI;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Endpoint mode driven by a third-party client (Eclipse Paho, MQTT 3.1.1): who may connect, publish and
 * subscribe where, the upload trigger end to end (request, grant, HTTP PUT, status), notices, and bad
 * input. Paho's API blocks, so these tests run on the test thread and wait on futures and message queues
 * with deadlines.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MqttEndpointTest {

  static final Duration WAIT = Duration.ofSeconds(20);
  static TestStack stack;
  static String workers;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    workers = await(stack.startWorkers(2));
  }

  @AfterAll
  static void stopWorkers() throws Exception {
    await(stack.vertx.undeploy(workers));
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  static JsonObject request(String req, String filename, long size, String sha256) {
    JsonObject json = new JsonObject().put("req", req).put("filename", filename).put("size", size).put("content_type", "application/json");
    return sha256 == null ? json : json.put("sha256", sha256);
  }

  static HttpResponse<Buffer> put(String url, Buffer body) throws Exception {
    URI uri = URI.create(url);
    return await(stack.client.put(uri.getPort(), uri.getHost(), uri.getPath()).sendBuffer(body));
  }

  @Test
  void connectWithAWrongTokenIsRefusedAsNotAuthorized() throws Exception {
    Tenant t = await(stack.newTenant());
    assertThatThrownBy(() -> PahoDevice.connect(stack.mqttPort, t.deviceA(), "wh_d_not-a-token"))
        .isInstanceOf(MqttException.class)
        .satisfies(e -> assertThat(((MqttException) e).getReasonCode()).isEqualTo(MqttException.REASON_CODE_NOT_AUTHORIZED));
    // Another device's token under this device's name.
    assertThatThrownBy(() -> PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenB()))
        .satisfies(e -> assertThat(((MqttException) e).getReasonCode()).isEqualTo(MqttException.REASON_CODE_NOT_AUTHORIZED));
    // A sender token is not a device.
    assertThatThrownBy(() -> PahoDevice.connect(stack.mqttPort, t.deviceA(), t.senderToken()))
        .satisfies(e -> assertThat(((MqttException) e).getReasonCode()).isEqualTo(MqttException.REASON_CODE_NOT_AUTHORIZED));
    try (PahoDevice ok = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA())) {
      assertThat(ok.client.isConnected()).isTrue();
    }
  }

  @Test
  void subscribingOutsideTheOwnPrefixGetsTheFailureCode() throws Exception {
    Tenant t = await(stack.newTenant());
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA())) {
      for (String filter : new String[] {"wharf/d/" + t.deviceB() + "/#", "wharf/#", "wharf/d/+/upload/grant", "#", "$share/x/wharf/d/" + t.deviceA() + "/#"}) {
        int[] granted = grantedQos(a, filter);
        assertThat(granted).as(filter).containsExactly(0x80);
      }
      assertThat(grantedQos(a, "wharf/d/" + t.deviceA() + "/#")).containsExactly(1);
      assertThat(a.client.isConnected()).isTrue();
    }
  }

  private static int[] grantedQos(PahoDevice device, String filter) {
    try {
      return device.client.subscribeWithResponse(filter, 1).getGrantedQos();
    } catch (MqttException e) {
      // Paho reports a refused subscription as an exception carrying the SUBACK code.
      return new int[] {e.getReasonCode()};
    }
  }

  @Test
  void publishingOutsideTheOwnPrefixClosesTheConnection() throws Exception {
    Tenant t = await(stack.newTenant());
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA())) {
      a.publishTo("wharf/d/" + t.deviceB() + "/upload/request", request("r1", "x.json", 2, null).toBuffer().getBytes());
      assertThat(a.lost.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isNotNull();
    } catch (MqttException e) {
      // Paho may notice the closed connection while waiting for the PUBACK instead.
      assertThat(e.getReasonCode()).isEqualTo(MqttException.REASON_CODE_CONNECTION_LOST);
    }
  }

  @Test
  void requestGrantPutAndStatusEndToEnd() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] body = "{\"robot\":\"r2\",\"readings\":[1,2,3]}".getBytes();
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      a.publish("upload/request", request("req-1", "reading.json", body.length, sha256(body)).encode());
      JsonObject grant = a.next("upload/grant", WAIT);
      assertThat(grant.getString("req")).isEqualTo("req-1");
      assertThat(grant.getString("method")).isEqualTo("PUT");
      assertThat(grant.getString("url")).startsWith("http://127.0.0.1:" + stack.port + "/v1/grants/wh_g_");
      assertThat(grant.getString("expires_at")).isNotBlank();
      String fileId = grant.getString("file_id");

      HttpResponse<Buffer> wrongSize = put(grant.getString("url"), Buffer.buffer(body).appendString(" "));
      assertThat(wrongSize.statusCode()).isEqualTo(400);
      assertThat(wrongSize.bodyAsJsonObject().getString("code")).isEqualTo("size_mismatch");

      HttpResponse<Buffer> created = put(grant.getString("url"), Buffer.buffer(body));
      assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
      assertThat(created.bodyAsJsonObject().getString("id")).isEqualTo(fileId);
      assertThat(created.bodyAsJsonObject().getString("sha256")).isEqualTo(sha256(body));

      HttpResponse<Buffer> again = put(grant.getString("url"), Buffer.buffer(body));
      assertThat(again.statusCode()).isEqualTo(410);
      assertThat(again.bodyAsJsonObject().getString("code")).isEqualTo("grant_used");

      JsonObject status = a.next("files/status", Duration.ofSeconds(40));
      assertThat(status.getString("file_id")).isEqualTo(fileId);
      assertThat(status.getString("status")).isEqualTo("processed");
      HttpResponse<Buffer> file = await(stack.client.get("/v1/files/" + fileId).bearerTokenAuthentication(t.tokenA()).send());
      assertThat(file.bodyAsJsonObject().getString("filename")).isEqualTo("reading.json");
    }
  }

  @Test
  void aChecksumMismatchKeepsNoFileAndTheGrantStaysUsable() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] body = "{\"a\":1}".getBytes();
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      a.publish("upload/request", request("req-sum", "a.json", body.length, sha256(body)).encode());
      JsonObject grant = a.next("upload/grant", WAIT);
      HttpResponse<Buffer> bad = put(grant.getString("url"), Buffer.buffer("{\"a\":2}"));
      assertThat(bad.statusCode()).isEqualTo(422);
      assertThat(bad.bodyAsJsonObject().getString("code")).isEqualTo("checksum_mismatch");
      HttpResponse<Buffer> good = put(grant.getString("url"), Buffer.buffer(body));
      assertThat(good.statusCode()).as(good.bodyAsString()).isEqualTo(201);
      assertThat(good.bodyAsJsonObject().getString("id")).isEqualTo(grant.getString("file_id"));
    }
  }

  @Test
  void aDeviceMayAskOnOneConnectionAndHearTheGrantOnAnother() throws Exception {
    Tenant t = await(stack.newTenant());
    try (PahoDevice listener = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn();
        PahoDevice asker = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA());
        PahoDevice otherDevice = PahoDevice.connect(stack.mqttPort, t.deviceB(), t.tokenB()).subscribeOwn()) {
      // As with mosquitto_pub and mosquitto_sub: one client asks and leaves, another listens.
      asker.publish("upload/request", request("split", "split.json", 2, null).encode());
      JsonObject grant = listener.next("upload/grant", WAIT);
      assertThat(grant.getString("req")).isEqualTo("split");
      assertThat(put(grant.getString("url"), Buffer.buffer("{}")).statusCode()).isEqualTo(201);
      // Another device of the tenant hears nothing of it.
      assertThat(otherDevice.poll("upload/grant", Duration.ofMillis(300))).isNull();
    }
  }

  @Test
  void aRepeatedReqGetsTheSameGrant() throws Exception {
    Tenant t = await(stack.newTenant());
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      a.publish("upload/request", request("same", "one.json", 2, null).encode());
      JsonObject first = a.next("upload/grant", WAIT);
      a.publish("upload/request", request("same", "one.json", 2, null).encode());
      JsonObject second = a.next("upload/grant", WAIT);
      assertThat(second).isEqualTo(first);
      assertThat(put(first.getString("url"), Buffer.buffer("{}")).statusCode()).isEqualTo(201);
      a.publish("upload/request", request("same", "one.json", 2, null).encode());
      assertThat(a.next("upload/grant", WAIT).getString("file_id")).isEqualTo(first.getString("file_id"));
      // The same req for another file is a client error, not a second upload.
      a.publish("upload/request", request("same", "two.json", 3, null).encode());
      assertThat(a.next("upload/grant", WAIT).getJsonObject("error").getString("code")).isEqualTo("req_reused");
      HttpResponse<Buffer> files = await(stack.client.get("/v1/files").bearerTokenAuthentication(t.tokenA()).send());
      assertThat(files.bodyAsJsonObject().getJsonArray("items")).hasSize(1);
    }
  }

  @Test
  void openUploadsAreCappedPerDeviceAndAnUnusedGrantFreesItsSlotWhenItExpires() throws Exception {
    Tenant t = await(stack.newTenant());
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      for (int i = 0; i < 3; i++) {
        a.publish("upload/request", request("cap-" + i, "f" + i + ".json", 2, null).encode());
        assertThat(a.next("upload/grant", WAIT).containsKey("url")).isTrue();
      }
      a.publish("upload/request", request("cap-3", "f3.json", 2, null).encode());
      JsonObject refused = a.next("upload/grant", WAIT);
      assertThat(refused.getString("req")).isEqualTo("cap-3");
      assertThat(refused.getJsonObject("error").getString("code")).isEqualTo("too_many_open_uploads");
      // Device B of the same tenant has slots of its own.
      try (PahoDevice b = PahoDevice.connect(stack.mqttPort, t.deviceB(), t.tokenB()).subscribeOwn()) {
        b.publish("upload/request", request("cap-0", "f.json", 2, null).encode());
        assertThat(b.next("upload/grant", WAIT).containsKey("url")).isTrue();
      }
      // The grants expire unused (the stack's TTL is short): the device may ask again.
      JsonObject[] last = new JsonObject[1];
      await(stack.eventually(Duration.ofSeconds(30), () -> stack.vertx.executeBlocking(() -> {
        a.publish("upload/request", request("cap-4", "f4.json", 2, null).encode());
        last[0] = a.next("upload/grant", WAIT);
        return last[0].containsKey("url");
      }, false)));
      assertThat(last[0].getString("req")).isEqualTo("cap-4");
    }
  }

  @Test
  void badInputGetsErrorRepliesAndTheConnectionSurvives() throws Exception {
    Tenant t = await(stack.newTenant());
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      a.publish("upload/request", "this is not json");
      assertThat(a.next("upload/grant", WAIT).getJsonObject("error").getString("code")).isEqualTo("malformed_json");
      a.publish("upload/request", "{\"req\":\"m1\",\"size\":3}");
      JsonObject missing = a.next("upload/grant", WAIT);
      assertThat(missing.getString("req")).isEqualTo("m1");
      assertThat(missing.getJsonObject("error").getString("code")).isEqualTo("bad_request");
      a.publish("upload/request", "{\"req\":\"m2\",\"filename\":\"a\",\"size\":\"big\"}");
      assertThat(a.next("upload/grant", WAIT).getJsonObject("error").getString("code")).isEqualTo("bad_request");
      a.publish("upload/request", request("m3", "huge.bin", 1L << 40, null).encode());
      assertThat(a.next("upload/grant", WAIT).getJsonObject("error").getString("code")).isEqualTo("too_large");
      a.publish("upload/request", request("m4", "x.json", 2, "not-hex").encode());
      assertThat(a.next("upload/grant", WAIT).getJsonObject("error").getString("code")).isEqualTo("invalid_checksum");
      a.publish("upload/request", new JsonObject().put("req", "m5").put("filename", "x".repeat(5000)).put("size", 1).encode());
      assertThat(a.next("upload/grant", WAIT).getJsonObject("error").getString("code")).isEqualTo("payload_too_large");
      a.publish("no/such/topic", "{}");
      JsonObject unknown = a.next("errors", WAIT);
      assertThat(unknown.getString("topic")).isEqualTo(a.topic("no/such/topic"));
      assertThat(unknown.getJsonObject("error").getString("code")).isEqualTo("unknown_topic");
      a.publish("inbox/ack", "[1,2]");
      assertThat(a.next("errors", WAIT).getJsonObject("error").getString("code")).isEqualTo("malformed_json");
      String delivery = UUID.randomUUID().toString();
      a.publish("inbox/ack", new JsonObject().put("id", delivery).encode());
      JsonObject ack = a.next("errors", WAIT);
      assertThat(ack.getString("id")).isEqualTo(delivery);
      assertThat(ack.getJsonObject("error").getString("code")).isEqualTo("not_found");

      assertThat(a.client.isConnected()).isTrue();
      a.publish("upload/request", request("after", "ok.json", 2, null).encode());
      assertThat(a.next("upload/grant", WAIT).getString("url")).isNotBlank();
      assertThat(a.lost).isNotDone();
    }
  }

  @Test
  void inboxNoticesReachTheAddressedDeviceOnly() throws Exception {
    Tenant one = await(stack.newTenant());
    Tenant two = await(stack.newTenant());
    // Both tenants have a device called dev-a: a notice is for one tenant's device.
    try (PahoDevice a1 = PahoDevice.connect(stack.mqttPort, one.deviceA(), one.tokenA()).subscribeOwn();
        PahoDevice a2 = PahoDevice.connect(stack.mqttPort, two.deviceA(), two.tokenA()).subscribeOwn()) {
      String first = UUID.randomUUID().toString();
      String second = UUID.randomUUID().toString();
      stack.vertx.eventBus().publish("wharf.inbox.notice", notice(one, first));
      stack.vertx.eventBus().publish("wharf.inbox.notice", notice(two, second));
      JsonObject got1 = a1.next("inbox", WAIT);
      assertThat(got1.getString("id")).isEqualTo(first);
      assertThat(got1.getString("filename")).isEqualTo("map.bin");
      assertThat(got1.getLong("size")).isEqualTo(1234L);
      assertThat(got1.containsKey("tenant")).isFalse();
      assertThat(a2.next("inbox", WAIT).getString("id")).isEqualTo(second);
    }
  }

  @Test
  void stagedDeliveryIsAnnouncedAndAnMqttAckHasTheEffectOfTheHttpAck() throws Exception {
    Tenant t = await(stack.newTenant());
    try (PahoDevice a = PahoDevice.connect(stack.mqttPort, t.deviceA(), t.tokenA()).subscribeOwn()) {
      io.vertx.ext.web.multipart.MultipartForm form = io.vertx.ext.web.multipart.MultipartForm.create()
          .binaryFileUpload("file", "plan.json", io.vertx.core.buffer.Buffer.buffer("{\"go\":true}"), "application/json");
      JsonObject staged = await(stack.client.post("/v1/devices/" + t.deviceA() + "/deliveries")
          .bearerTokenAuthentication(t.senderToken()).sendMultipartForm(form)).bodyAsJsonObject();
      String id = staged.getJsonArray("items").getJsonObject(0).getString("id");
      // The notice arrives after commit; the device fetches over HTTP and acks over MQTT.
      JsonObject notice = a.next("inbox", WAIT);
      assertThat(notice.getString("id")).isEqualTo(id);
      assertThat(notice.getString("filename")).isEqualTo("plan.json");
      var content = await(stack.client.get("/v1/inbox/" + id + "/content").bearerTokenAuthentication(t.tokenA()).send());
      assertThat(content.bodyAsString()).isEqualTo("{\"go\":true}");
      a.publish("inbox/ack", new JsonObject().put("id", id).encode());
      await(stack.eventually(Duration.ofSeconds(10), () -> stack.client.get("/v1/deliveries/" + id)
          .bearerTokenAuthentication(t.senderToken()).send()
          .map(resp -> "acked".equals(resp.bodyAsJsonObject().getString("state")))));
      // The same delivery acked again over HTTP is still success: one ack, whichever protocol.
      var again = await(stack.client.post("/v1/inbox/" + id + "/ack").bearerTokenAuthentication(t.tokenA()).send());
      assertThat(again.statusCode()).isEqualTo(200);
    }
  }

  private static JsonObject notice(Tenant t, String id) {
    return new JsonObject().put("tenant", t.id()).put("device", t.deviceA()).put("id", id).put("filename", "map.bin")
        .put("size", 1234).put("sha256", "ab".repeat(32)).put("expires_at", "2030-01-01T00:00:00Z");
  }
}

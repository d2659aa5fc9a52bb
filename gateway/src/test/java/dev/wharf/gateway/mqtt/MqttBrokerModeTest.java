package dev.wharf.gateway.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.WharfApp;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Broker mode against Moquette 0.17 in-process: the upload trigger end to end through the broker, and a
 * broker restart mid-run. Moquette 0.17 has no shared subscriptions ({@code $share} appears nowhere in
 * it; they came in 0.18, which is not available here), so this Wharf subscribes plainly, as one replica.
 * Load splitting over {@code $share} is tested against Mosquitto in {@link MqttSharedSubscriptionTest}.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MqttBrokerModeTest {

  static final Duration WAIT = Duration.ofSeconds(20);
  static TestStack stack;
  static String workers;
  @TempDir
  static Path dir;
  static Brokers.Moquette broker;
  static WharfApp wharf;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    workers = await(stack.startWorkers(1));
    broker = new Brokers.Moquette(TestStack.freePort(), dir.resolve("moquette")).start();
    wharf = Brokers.wharf(stack, broker.port, "wharf-moquette-1", "none", Map.of("WHARF_MQTT_MAX_OPEN_UPLOADS", "100"));
    awaitBridge(wharf, true);
  }

  @AfterAll
  static void stop() throws Exception {
    if (wharf != null) {
      await(wharf.stop());
    }
    if (broker != null) {
      broker.close();
    }
    await(stack.vertx.undeploy(workers));
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static void awaitBridge(WharfApp app, boolean up) throws Exception {
    await(stack.eventually(Duration.ofSeconds(30),
        () -> Future.succeededFuture(app.services().mqttMetrics().brokerConnections().get() == (up ? 1 : 0))));
  }

  static String request(String req, long size) {
    return new JsonObject().put("req", req).put("filename", req + ".json").put("size", size).encode();
  }

  @Test
  void requestGrantPutAndStatusThroughTheBroker() throws Exception {
    Brokers.Device d = await(Brokers.uniqueDevice(stack));
    try (PahoDevice device = PahoDevice.connect("tcp://127.0.0.1:" + broker.port, d.id(), d.token(), "dev-" + d.id(), true).subscribeOwn()) {
      device.publish("upload/request", request("b-1", 9));
      JsonObject grant = device.next("upload/grant", WAIT);
      assertThat(grant.getString("req")).isEqualTo("b-1");
      // Bad input is covered against the endpoint (MqttEndpointTest); Moquette 0.17 on Netty 4.2 closed the
      // device's channel when two replies followed each other quickly, so only the repeat is checked here.
      device.publish("upload/request", request("b-1", 9));
      assertThat(device.next("upload/grant", WAIT).getString("file_id")).isEqualTo(grant.getString("file_id"));
      URI url = URI.create(grant.getString("url"));
      HttpResponse<Buffer> created = await(stack.client.put(url.getPort(), url.getHost(), url.getPath()).sendBuffer(Buffer.buffer("{\"b\":[1]}")));
      assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
      JsonObject status = device.next("files/status", Duration.ofSeconds(40));
      assertThat(status.getString("file_id")).isEqualTo(grant.getString("file_id"));
      assertThat(status.getString("status")).isEqualTo("processed");

    }
  }

  @Test
  void wharfReconnectsAndResubscribesAfterABrokerRestartAndLosesNoAcknowledgedRequest() throws Exception {
    Brokers.Device d = await(Brokers.uniqueDevice(stack));
    Map<String, String> fileIds = new HashMap<>();
    String clientId = "dev-restart-" + d.id();
    try (PahoDevice before = PahoDevice.connect("tcp://127.0.0.1:" + broker.port, d.id(), d.token(), clientId, true).subscribeOwn()) {
      for (int i = 0; i < 3; i++) {
        before.publish("upload/request", request("r-" + i, 2));
        JsonObject grant = before.next("upload/grant", WAIT);
        fileIds.put(grant.getString("req"), grant.getString("file_id"));
      }
      broker.stop();
      assertThat(before.lost.get(20, TimeUnit.SECONDS)).isNotNull();
    }
    awaitBridge(wharf, false);
    broker.start();
    // The device publishes as soon as the broker is back, before Wharf need be: the broker acknowledges,
    // and Wharf's persistent session (kept by the broker across the restart) holds the requests for it.
    try (PahoDevice after = PahoDevice.connect("tcp://127.0.0.1:" + broker.port, d.id(), d.token(), clientId, true).subscribeOwn()) {
      for (int i = 3; i < 6; i++) {
        after.publish("upload/request", request("r-" + i, 2));
      }
      for (int i = 3; i < 6; i++) {
        JsonObject grant = after.next("upload/grant", Duration.ofSeconds(40));
        assertThat(grant.containsKey("error")).as(grant.encode()).isFalse();
        assertThat(fileIds.put(grant.getString("req"), grant.getString("file_id"))).isNull();
      }
      assertThat(fileIds).containsOnlyKeys("r-0", "r-1", "r-2", "r-3", "r-4", "r-5");
      awaitBridge(wharf, true);
    }
  }
}

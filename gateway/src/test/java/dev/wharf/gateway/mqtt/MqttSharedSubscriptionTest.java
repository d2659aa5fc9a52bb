package dev.wharf.gateway.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.WharfApp;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Wharf replicas on one shared subscription ({@code $share/wharf/...}) of a real Mosquitto: each gets
 * part of the load and no request is answered twice. Moquette 0.17 lacks {@code $share}, so this runs on
 * Debian's Mosquitto and is skipped where it is not installed ({@code apt-get install mosquitto}).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MqttSharedSubscriptionTest {

  static final int REQUESTS = 40;
  static TestStack stack;
  @TempDir
  static Path dir;
  static Brokers.Mosquitto broker;
  static WharfApp one;
  static WharfApp two;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(Brokers.Mosquitto.installed(), "mosquitto is not installed");
    stack = TestStack.get();
    broker = Brokers.Mosquitto.start(dir);
    one = Brokers.wharf(stack, broker.port, "wharf-share-1", "wharf", Map.of("WHARF_MQTT_MAX_OPEN_UPLOADS", "100"));
    two = Brokers.wharf(stack, broker.port, "wharf-share-2", "wharf", Map.of("WHARF_MQTT_MAX_OPEN_UPLOADS", "100"));
    for (WharfApp app : new WharfApp[] {one, two}) {
      await(stack.eventually(Duration.ofSeconds(30), () -> Future.succeededFuture(app.services().mqttMetrics().brokerConnections().get() == 1)));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (WharfApp app : new WharfApp[] {one, two}) {
      if (app != null) {
        await(app.stop());
      }
    }
    if (broker != null) {
      broker.close();
    }
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static double handled(WharfApp app) {
    return app.services().mqttMetrics().count("wharf_mqtt_messages_total", "direction", "in", "kind", "upload_request");
  }

  @Test
  void replicasSplitTheRequestsAndAnswerEachOnce() throws Exception {
    Brokers.Device d = await(Brokers.uniqueDevice(stack));
    double before = handled(one) + handled(two);
    try (PahoDevice device = PahoDevice.connect("tcp://127.0.0.1:" + broker.port, d.id(), d.token(), "dev-" + d.id(), true).subscribeOwn()) {
      for (int i = 0; i < REQUESTS; i++) {
        device.publish("upload/request", new JsonObject().put("req", "s-" + i).put("filename", "f.json").put("size", 2).encode());
      }
      Set<String> answered = new HashSet<>();
      Set<String> files = new HashSet<>();
      for (int i = 0; i < REQUESTS; i++) {
        JsonObject grant = device.next("upload/grant", Duration.ofSeconds(30));
        assertThat(grant.containsKey("error")).as(grant.encode()).isFalse();
        assertThat(answered.add(grant.getString("req"))).as("answered twice: " + grant.getString("req")).isTrue();
        files.add(grant.getString("file_id"));
      }
      assertThat(files).hasSize(REQUESTS);
      assertThat(handled(one)).as("replica one's share").isPositive();
      assertThat(handled(two)).as("replica two's share").isPositive();
      assertThat(handled(one) + handled(two) - before).isEqualTo(REQUESTS);
    }
  }
}

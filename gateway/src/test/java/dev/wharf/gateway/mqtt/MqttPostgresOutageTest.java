package dev.wharf.gateway.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.WharfApp;
import dev.wharf.gateway.faults.FaultTable;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT while PostgreSQL is down: the device gets an error reply with {@code postgres_unavailable}, its
 * message is not acknowledged (no PUBACK from the endpoint, no ack from the broker bridge), and once the
 * database is back the same message is delivered again and answered with a grant.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MqttPostgresOutageTest {

  static final Duration WAIT = Duration.ofSeconds(30);
  static TestStack stack;
  @TempDir
  static Path dir;
  static Brokers.Moquette broker;
  static WharfApp bridged;
  static boolean databaseStopped;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    broker = new Brokers.Moquette(TestStack.freePort(), dir.resolve("moquette")).start();
    bridged = Brokers.wharf(stack, broker.port, "wharf-outage-1", "none", Map.of());
    await(stack.eventually(Duration.ofSeconds(30), () -> Future.succeededFuture(bridged.services().mqttMetrics().brokerConnections().get() == 1)));
  }

  @AfterAll
  static void stop() throws Exception {
    if (bridged != null) {
      await(bridged.stop());
    }
    if (broker != null) {
      broker.close();
    }
  }

  /** Whatever a test did, PostgreSQL is running after it. */
  @AfterEach
  void databaseBack() throws Exception {
    if (databaseStopped) {
      startDatabase();
    }
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static String request(String req) {
    return new JsonObject().put("req", req).put("filename", req + ".json").put("size", 2).encode();
  }

  @Test
  void endpointWithholdsThePubackAndAnswersTheRedeliveredRequestAfterRecovery() throws Exception {
    Brokers.Device d = await(Brokers.uniqueDevice(stack));
    String uri = "tcp://127.0.0.1:" + stack.mqttPort;
    try (PahoDevice device = PahoDevice.connect(uri, d.id(), d.token(), "outage-" + d.id(), false).subscribeOwn()) {
      stopDatabase();
      int messageId = device.publishWithoutWaiting("upload/request", request("o-1"));

      JsonObject refused = device.next("upload/grant", WAIT);
      assertThat(refused.getString("req")).isEqualTo("o-1");
      assertThat(refused.getJsonObject("error").getString("code")).isEqualTo("postgres_unavailable");
      assertThat(refused.getJsonObject("error").getInteger("retry_after")).isPositive();
      assertThat(device.lost.get(20, TimeUnit.SECONDS)).as("the endpoint closes the connection so the device sends again").isNotNull();
      assertThat(device.acknowledged).as("no PUBACK for a request that was not handled").isEmpty();
      assertThat(device.client.getPendingDeliveryTokens()).hasSize(1);

      startDatabase();
      await(stack.eventually(WAIT, () -> stack.client.get("/readyz").send().map(r -> r.statusCode() == 200)));
      // Wharf keeps no subscriptions across connections: a second connection of the device listens for the
      // answer, and the first reconnects, which makes Paho send the unacknowledged request again.
      try (PahoDevice listener = PahoDevice.connect(stack.mqttPort, d.id(), d.token()).subscribeOwn()) {
        device.reconnect();
        JsonObject grant = listener.next("upload/grant", WAIT);
        assertThat(grant.containsKey("error")).as(grant.encode()).isFalse();
        assertThat(grant.getString("req")).isEqualTo("o-1");
        assertThat(grant.getString("file_id")).isNotBlank();
        assertThat(device.acknowledged.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).as("PUBACK after the grant").isEqualTo(messageId);
      }
    }
    long grants = grantsFor(d, "o-1.json");
    assertThat(grants).as("the redelivered request is answered once: one grant").isEqualTo(1);
    FaultTable.record("MQTT endpoint, PostgreSQL down", "1 upload/request at QoS 1 (Paho)",
        "PostgreSQL stopped: error reply postgres_unavailable, no PUBACK; restarted: redelivered, granted", 1, 0, 0);
  }

  /** Grants the request for {@code filename} made in the device's tenant (a request answered twice would make two). */
  private static long grantsFor(Brokers.Device d, String filename) throws Exception {
    return await(stack.app.services().pool().preparedQuery("SELECT count(*) AS n FROM upload_grants WHERE tenant_id = $1 AND filename = $2")
        .execute(io.vertx.sqlclient.Tuple.of(d.tenant(), filename)).map(rows -> rows.iterator().next().getLong("n")));
  }

  @Test
  void brokerBridgeWithholdsTheAckAndAnswersTheRedeliveredRequestAfterRecovery() throws Exception {
    Brokers.Device d = await(Brokers.uniqueDevice(stack));
    try (PahoDevice device = connectToBroker(d)) {
      stopDatabase();
      device.publish("upload/request", request("bo-1"));

      JsonObject refused = device.next("upload/grant", WAIT);
      assertThat(refused.getString("req")).isEqualTo("bo-1");
      assertThat(refused.getJsonObject("error").getString("code")).isEqualTo("postgres_unavailable");

      startDatabase();
      // Until Wharf reconnects after the database is back, a redelivery may be refused again; then it is granted.
      JsonObject answer = device.next("upload/grant", Duration.ofSeconds(60));
      while (answer.containsKey("error")) {
        assertThat(answer.getJsonObject("error").getString("code")).isEqualTo("postgres_unavailable");
        answer = device.next("upload/grant", Duration.ofSeconds(60));
      }
      assertThat(answer.getString("req")).isEqualTo("bo-1");
      assertThat(answer.getString("file_id")).isNotBlank();
    }
    long grants = grantsFor(d, "bo-1.json");
    assertThat(grants).as("the redelivered request is answered once: one grant").isEqualTo(1);
    FaultTable.record("MQTT broker mode, PostgreSQL down", "1 upload/request at QoS 1 via Moquette",
        "PostgreSQL stopped: error reply postgres_unavailable, no ack; restarted: redelivered, granted", 1, 0, 0);
  }

  /**
   * A device on Moquette, subscribed to its own topics. Moquette 0.17 on Netty 4.2 now and then closes a
   * fresh connection as its SUBSCRIBE arrives ("SUBSCRIBE received on already closed connection"; see
   * MqttBrokerModeTest), which is the broker's trouble, not Wharf's: such a device connects again, at most
   * three times.
   */
  private static PahoDevice connectToBroker(Brokers.Device d) throws Exception {
    MqttException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      PahoDevice device = PahoDevice.connect("tcp://127.0.0.1:" + broker.port, d.id(), d.token(), "outage-b-" + d.id(), true);
      try {
        return device.subscribeOwn();
      } catch (MqttException e) {
        device.close();
        last = e;
      }
    }
    throw last;
  }

  private static void stopDatabase() throws Exception {
    databaseStopped = true;
    stack.servers.stopPostgres();
  }

  private static void startDatabase() throws Exception {
    stack.servers.startPostgresAgain();
    databaseStopped = false;
  }
}

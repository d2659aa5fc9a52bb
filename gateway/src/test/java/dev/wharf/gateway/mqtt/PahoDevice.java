package dev.wharf.gateway.mqtt;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * A device as a third-party MQTT client (Eclipse Paho) sees Wharf. Paho's API blocks, so this is driven
 * from the test thread, never an event loop; messages arrive on Paho's thread into per-topic queues that
 * the test waits on.
 */
final class PahoDevice implements AutoCloseable {

  final String id;
  final MqttClient client;
  final CompletableFuture<Throwable> lost = new CompletableFuture<>();
  /** Ids of this device's QoS 1 publishes that the server acknowledged (PUBACK), in order. */
  final BlockingQueue<Integer> acknowledged = new LinkedBlockingQueue<>();
  private final Map<String, BlockingQueue<JsonObject>> inbox = new ConcurrentHashMap<>();
  private MqttConnectOptions options;

  private PahoDevice(String id, MqttClient client) {
    this.id = id;
    this.client = client;
  }

  /** Connects with {@code username}/{@code password}; throws Paho's exception when refused. */
  static PahoDevice connect(int port, String username, String password) throws MqttException {
    return connect("tcp://127.0.0.1:" + port, username, password, "paho-" + username + "-" + System.nanoTime(), true);
  }

  static PahoDevice connect(String uri, String username, String password, String clientId, boolean cleanSession) throws MqttException {
    MqttClient client = new MqttClient(uri, clientId, new MemoryPersistence());
    PahoDevice device = new PahoDevice(username, client);
    client.setCallback(new MqttCallback() {
      @Override
      public void connectionLost(Throwable cause) {
        device.lost.complete(cause);
      }

      @Override
      public void messageArrived(String topic, MqttMessage message) {
        device.queue(topic).add(new JsonObject(new String(message.getPayload(), StandardCharsets.UTF_8)));
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {
        device.acknowledged.add(token.getMessageId());
      }
    });
    MqttConnectOptions options = new MqttConnectOptions();
    options.setUserName(username);
    options.setPassword(password.toCharArray());
    options.setCleanSession(cleanSession);
    options.setAutomaticReconnect(false);
    options.setConnectionTimeout(10);
    options.setKeepAliveInterval(30);
    options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    client.connect(options);
    device.options = options;
    return device;
  }

  String topic(String suffix) {
    return "wharf/d/" + id + "/" + suffix;
  }

  /** Subscribes to everything under the device's own prefix. */
  PahoDevice subscribeOwn() throws MqttException {
    client.subscribe("wharf/d/" + id + "/#", 1);
    return this;
  }

  void publish(String suffix, String payload) throws MqttException {
    publishTo(topic(suffix), payload.getBytes(StandardCharsets.UTF_8));
  }

  void publishTo(String topic, byte[] payload) throws MqttException {
    MqttMessage message = new MqttMessage(payload);
    message.setQos(1);
    client.publish(topic, message);
  }

  /** Publishes at QoS 1 without waiting for the PUBACK; answers the message id. */
  int publishWithoutWaiting(String suffix, String payload) throws MqttException {
    MqttMessage message = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
    message.setQos(1);
    return client.getTopic(topic(suffix)).publish(message).getMessageId();
  }

  /**
   * Connects again with the same client id and options; with a persistent session (clean session off) Paho
   * then sends again every QoS 1 publish the server did not acknowledge.
   */
  void reconnect() throws MqttException {
    client.connect(options);
  }

  /** The next message on the device's {@code suffix} topic; fails after {@code timeout}. */
  JsonObject next(String suffix, Duration timeout) throws InterruptedException {
    JsonObject message = queue(topic(suffix)).poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (message == null) {
      throw new AssertionError("no message on " + topic(suffix) + " within " + timeout);
    }
    return message;
  }

  /** Whether a message on {@code suffix} arrives within {@code wait} (used to show that none does). */
  JsonObject poll(String suffix, Duration wait) throws InterruptedException {
    return queue(topic(suffix)).poll(wait.toMillis(), TimeUnit.MILLISECONDS);
  }

  private BlockingQueue<JsonObject> queue(String topic) {
    return inbox.computeIfAbsent(topic, t -> new LinkedBlockingQueue<>());
  }

  @Override
  public void close() {
    try {
      if (client.isConnected()) {
        client.disconnect(1000);
      }
      client.close(true);
    } catch (MqttException e) {
      // closing a test client: nothing to do
    }
  }
}

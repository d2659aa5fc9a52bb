package dev.wharf.mqtt.broker;

import dev.wharf.auth.Principal;
import dev.wharf.auth.TenantStore;
import dev.wharf.error.Outages;
import dev.wharf.mqtt.DeviceMessages;
import dev.wharf.mqtt.MqttConfig;
import dev.wharf.mqtt.MqttMetrics;
import dev.wharf.mqtt.Notices;
import dev.wharf.mqtt.Notices.Notice;
import dev.wharf.mqtt.TopicKind;
import dev.wharf.mqtt.Topics;
import dev.wharf.mqtt.Topics.DeviceTopic;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import io.vertx.mqtt.messages.MqttPublishMessage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Broker mode: Wharf is a client of an existing broker. It subscribes at QoS 1 to what devices publish,
 * on a shared subscription so replicas split the load, and publishes grants, status and inbox notices to
 * the devices' topics. The session is persistent (clean session off, a stable client id), so a broker
 * that keeps sessions holds requests for a replica that is briefly away. A message is acknowledged only
 * once its grant is committed; a lost connection is retried with exponential backoff and jitter, and the
 * subscriptions are made again each time. A message that could not be handled for an outage is answered
 * with an error reply and left unacknowledged; since a broker sends an unacknowledged message again only on
 * a new connection, Wharf reconnects after {@link #REDELIVERY_PAUSE_MILLIS} to have it delivered again.
 *
 * <p>The broker authenticates devices (through Wharf's HTTP auth endpoints); Wharf trusts the topic: a
 * message on {@code {root}/d/{d}/…} comes from device {@code d}. Device ids are unique per tenant only,
 * so a device id that exists in two tenants is refused here as it is by the auth endpoint.
 */
public final class BrokerBridgeVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(BrokerBridgeVerticle.class);
  /** How long after an outage left messages unacknowledged Wharf reconnects to have them delivered again. */
  static final long REDELIVERY_PAUSE_MILLIS = 5_000;
  private static final List<TopicKind> INBOUND = List.of(TopicKind.UPLOAD_REQUEST, TopicKind.UPLOAD_COMPLETE, TopicKind.INBOX_ACK);

  private final MqttConfig config;
  private final TenantStore tenants;
  private final DeviceMessages messages;
  private final MqttMetrics metrics;
  private final Topics topics;
  private final ArrayDeque<Outgoing> backlog = new ArrayDeque<>();
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();
  private MqttClient client;
  private boolean up;
  private boolean stopping;
  private int attempt;
  private long reconnectTimer = -1;
  private long redeliveryTimer = -1;

  private record Outgoing(String topic, Buffer payload, String kind) {}

  public BrokerBridgeVerticle(MqttConfig config, TenantStore tenants, DeviceMessages messages, MqttMetrics metrics) {
    this.config = config;
    this.tenants = tenants;
    this.messages = messages;
    this.metrics = metrics;
    this.topics = new Topics(config.topicRoot());
  }

  @Override
  public Future<?> start() {
    consumers.add(forward(Notices.FILE_STATUS_ADDRESS, Notices::fileStatus));
    consumers.add(forward(Notices.INBOX_NOTICE_ADDRESS, Notices::inbox));
    // The first connection is attempted now but not awaited: a broker that is down delays MQTT, not the gateway.
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList()).onSuccess(v -> connect());
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(reconnectTimer);
    vertx.cancelTimer(redeliveryTimer);
    List<Future<Void>> closing = new ArrayList<>();
    consumers.forEach(c -> closing.add(c.unregister()));
    if (client != null && client.isConnected()) {
      closing.add(client.disconnect());
    }
    return Future.join(closing);
  }

  private void connect() {
    if (stopping) {
      return;
    }
    MqttConfig.Broker broker = config.broker();
    MqttClientOptions options = new MqttClientOptions()
        .setClientId(broker.clientId())
        .setUsername(broker.username())
        .setPassword(broker.password())
        .setCleanSession(false)
        .setKeepAliveInterval(30)
        .setAutoKeepAlive(true)
        .setMaxInflightQueue(Math.max(config.maxInflight(), 64))
        .setMaxMessageSize(config.decoderLimit())
        .setAckTimeout(30);
    options.setAutoAck(false);
    options.setConnectTimeout(10_000);
    if (broker.ssl()) {
      options.setSsl(true);
      if (broker.trustPath() != null) {
        options.setTrustOptions(new PemTrustOptions().addCertPath(broker.trustPath()));
      }
    }
    MqttClient next = MqttClient.create(vertx, options);
    client = next;
    next.publishHandler(this::onMessage);
    next.closeHandler(v -> {
      if (client == next && up) {
        up = false;
        metrics.brokerConnections().decrementAndGet();
        log.warn("broker connection lost [host={}, port={}]", broker.host(), broker.port());
        scheduleReconnect();
      }
    });
    next.exceptionHandler(err -> log.debug("broker connection error [cause={}]", err.toString()));
    next.connect(broker.port(), broker.host())
        .compose(connack -> {
          Map<String, Integer> filters = new LinkedHashMap<>();
          INBOUND.forEach(kind -> filters.put(topics.everyDevice(kind, broker.sharedGroup()), 1));
          return next.subscribe(filters).map(id -> connack);
        })
        .onSuccess(connack -> {
          up = true;
          attempt = 0;
          metrics.brokerConnections().incrementAndGet();
          log.info("connected to broker and subscribed [host={}, port={}, client={}, session_present={}, group={}]",
              broker.host(), broker.port(), broker.clientId(), connack.isSessionPresent(), broker.sharedGroup());
          flush();
        })
        .onFailure(err -> {
          log.warn("broker connection failed [host={}, port={}, attempt={}, cause={}]", broker.host(), broker.port(), attempt, err.toString());
          if (next.isConnected()) {
            next.disconnect();
          }
          scheduleReconnect();
        });
  }

  private void scheduleReconnect() {
    if (stopping || reconnectTimer != -1) {
      return;
    }
    MqttConfig.Broker broker = config.broker();
    long max = broker.reconnectMax().toMillis();
    long base = Math.min(max, broker.reconnectMin().toMillis() << Math.min(attempt, 20));
    long delay = Math.max(1, (long) (base * (0.5 + ThreadLocalRandom.current().nextDouble() * 0.5)));
    attempt++;
    reconnectTimer = vertx.setTimer(delay, id -> {
      reconnectTimer = -1;
      connect();
    });
  }

  private void onMessage(MqttPublishMessage message) {
    Optional<DeviceTopic> parsed = topics.parse(message.topicName());
    if (parsed.isEmpty()) {
      metrics.error("unknown_topic");
      log.info("message on a topic outside wharf ignored [topic={}]", Topics.loggable(message.topicName()));
      message.ack();
      return;
    }
    String deviceId = parsed.get().device();
    TopicKind kind = parsed.get().kind().orElse(null);
    MqttClient receivedOn = client;
    tenants.tenantsOfDevice(deviceId)
        .recover(err -> Future.failedFuture(Outages.asUnavailable(Outages.POSTGRES, err)))
        .compose(found -> {
          if (found.size() != 1) {
            metrics.error(found.isEmpty() ? "unknown_device" : "ambiguous_device");
            log.info("message from a device that is not exactly one tenant's ignored [device={}, tenants={}]", deviceId, found.size());
            return Future.succeededFuture((DeviceMessages.Reply) null);
          }
          Principal device = new Principal(Principal.Kind.DEVICE, found.get(0), deviceId, Set.of(), "mqtt-broker");
          return messages.handle(device, message.topicName(), kind, message.payload());
        })
        .onComplete(ar -> {
          // A failure here is the tenant lookup's (handle itself never fails): answered like any other.
          DeviceMessages.Reply reply = ar.succeeded()
              ? ar.result()
              : messages.failed(deviceId, message.topicName(), kind, message.payload(), ar.cause());
          if (reply != null) {
            send(topics.topic(deviceId, reply.kind()), reply.payload(), reply.kind().metricName());
          }
          if (reply != null && !reply.acknowledge()) {
            redeliverLater();
            return;
          }
          if (client != receivedOn || !up) {
            // Packet ids belong to a connection: a PUBACK on a newer one could acknowledge another message.
            // The broker sends this one again on the new connection, and a repeat is answered the same way.
            return;
          }
          message.ack();
        });
  }

  /**
   * Messages were left unacknowledged for an outage. The broker sends them again only on a new connection
   * of this persistent session, so after a pause the connection is dropped and made again (through the
   * usual reconnect); if the dependency is still down, the next attempt ends here again.
   */
  private void redeliverLater() {
    if (stopping || redeliveryTimer != -1) {
      return;
    }
    redeliveryTimer = vertx.setTimer(REDELIVERY_PAUSE_MILLIS, id -> {
      redeliveryTimer = -1;
      MqttClient current = client;
      if (!stopping && current != null && current.isConnected()) {
        log.info("reconnecting to the broker to have unacknowledged messages delivered again");
        current.disconnect();
      }
    });
  }

  private MessageConsumer<JsonObject> forward(String address, Function<JsonObject, Optional<Notice>> parse) {
    return vertx.eventBus().<JsonObject>localConsumer(address, (Message<JsonObject> message) -> {
      if (message.headers().contains(Notices.RELAYED_HEADER)) {
        return;
      }
      parse.apply(message.body()).ifPresentOrElse(
          notice -> send(topics.topic(notice.device(), notice.kind()), notice.payload(), notice.kind().metricName()),
          () -> log.warn("malformed event ignored [address={}]", address));
    });
  }

  private void send(String topic, JsonObject payload, String kind) {
    Outgoing out = new Outgoing(topic, payload.toBuffer(), kind);
    if (!up) {
      hold(out);
      return;
    }
    flush();
    publish(out);
  }

  private void publish(Outgoing out) {
    metrics.sent(out.kind());
    client.publish(out.topic(), out.payload(), MqttQoS.AT_LEAST_ONCE, false, false).onFailure(err -> {
      log.warn("publish to broker failed, held for retry [topic={}, cause={}]", out.topic(), err.toString());
      hold(out);
    });
  }

  private void hold(Outgoing out) {
    if (backlog.size() >= config.broker().backlog()) {
      backlog.pollFirst();
      metrics.dropped("backlog_full");
    }
    backlog.addLast(out);
  }

  private void flush() {
    // One pass over what is held now: a publish that fails again is held again, for the next pass.
    for (int n = backlog.size(); n > 0 && up; n--) {
      publish(backlog.pollFirst());
    }
  }
}

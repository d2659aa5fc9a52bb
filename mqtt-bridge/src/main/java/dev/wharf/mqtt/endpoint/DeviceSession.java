package dev.wharf.mqtt.endpoint;

import dev.wharf.auth.Principal;
import dev.wharf.mqtt.DeviceMessages;
import dev.wharf.mqtt.DeviceMessages.Reply;
import dev.wharf.mqtt.MqttConfig;
import dev.wharf.mqtt.MqttErrors;
import dev.wharf.mqtt.MqttMetrics;
import dev.wharf.mqtt.TopicFilters;
import dev.wharf.mqtt.TopicKind;
import dev.wharf.mqtt.Topics;
import dev.wharf.error.ServerException;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttEndpoint;
import io.vertx.mqtt.MqttTopicSubscription;
import io.vertx.mqtt.messages.MqttPublishMessage;
import io.vertx.mqtt.messages.MqttSubscribeMessage;
import io.vertx.mqtt.messages.MqttUnsubscribeMessage;
import io.vertx.mqtt.messages.codes.MqttDisconnectReasonCode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One authenticated device connection. The device may publish and subscribe only under its own prefix: a
 * subscription elsewhere gets the SUBACK failure code, a publish elsewhere closes the connection. Its state
 * is bounded: at most {@code maxSubscriptions} filters, {@code maxInflight} messages being handled and
 * {@code maxInflight} QoS 1 messages awaiting the device's PUBACK (more are dropped and counted).
 */
final class DeviceSession {

  private static final Logger log = LoggerFactory.getLogger(DeviceSession.class);
  /** How long an error reply before a close may wait for the device's PUBACK. */
  private static final long REPLY_ACK_WAIT_MILLIS = 5_000;

  private final Vertx vertx;
  private final MqttEndpoint endpoint;
  private final Principal device;
  private final Topics topics;
  private final DeviceMessages messages;
  private final MqttConfig config;
  private final MqttMetrics metrics;
  private final Map<String, MqttQoS> subscriptions = new HashMap<>();
  /** Our QoS 1 publishes whose PUBACK something waits for, by message id. */
  private final Map<Integer, Promise<Void>> awaitingAck = new HashMap<>();
  private int handling;
  private int unacked;
  private boolean closed;
  private boolean closing;

  private final java.util.function.Consumer<dev.wharf.mqtt.Notices.Notice> replies;

  DeviceSession(Vertx vertx, MqttEndpoint endpoint, Principal device, Topics topics, DeviceMessages messages, MqttConfig config,
      MqttMetrics metrics, java.util.function.Consumer<dev.wharf.mqtt.Notices.Notice> replies) {
    this.vertx = vertx;
    this.replies = replies;
    this.endpoint = endpoint;
    this.device = device;
    this.topics = topics;
    this.messages = messages;
    this.config = config;
    this.metrics = metrics;
  }

  Principal device() {
    return device;
  }

  MqttEndpoint endpoint() {
    return endpoint;
  }

  /** Installs the handlers; call before accepting the connection. */
  void open(Runnable onClose) {
    endpoint.publishAutoAck(false);
    endpoint.subscriptionAutoAck(false);
    endpoint.publishHandler(this::onPublish);
    endpoint.publishReleaseHandler(endpoint::publishComplete);
    endpoint.subscribeHandler(this::onSubscribe);
    endpoint.unsubscribeHandler(this::onUnsubscribe);
    endpoint.publishAcknowledgeHandler(id -> {
      unacked = Math.max(0, unacked - 1);
      Promise<Void> waiting = awaitingAck.remove(id);
      if (waiting != null) {
        waiting.tryComplete();
      }
    });
    endpoint.disconnectHandler(v -> log.debug("device disconnected [tenant={}, device={}]", device.tenantId(), device.deviceId()));
    endpoint.exceptionHandler(err -> log.debug("mqtt connection error [tenant={}, device={}, cause={}]",
        device.tenantId(), device.deviceId(), err.toString()));
    endpoint.closeHandler(v -> {
      closed = true;
      awaitingAck.values().forEach(Promise::tryComplete);
      awaitingAck.clear();
      subscriptions.clear();
      onClose.run();
    });
  }

  private void onSubscribe(MqttSubscribeMessage subscribe) {
    List<MqttQoS> granted = new ArrayList<>();
    for (MqttTopicSubscription sub : subscribe.topicSubscriptions()) {
      String filter = sub.topicName();
      boolean allowed = topics.owns(device.deviceId(), filter)
          && (subscriptions.containsKey(filter) || subscriptions.size() < config.maxSubscriptions());
      if (allowed) {
        MqttQoS qos = sub.qualityOfService() == MqttQoS.AT_MOST_ONCE ? MqttQoS.AT_MOST_ONCE : MqttQoS.AT_LEAST_ONCE;
        subscriptions.put(filter, qos);
        granted.add(qos);
      } else {
        metrics.error("subscribe_refused");
        log.info("subscription refused [tenant={}, device={}, filter={}]", device.tenantId(), device.deviceId(), filter);
        granted.add(MqttQoS.FAILURE);
      }
    }
    endpoint.subscribeAcknowledge(subscribe.messageId(), granted);
  }

  private void onUnsubscribe(MqttUnsubscribeMessage unsubscribe) {
    unsubscribe.topics().forEach(subscriptions::remove);
    endpoint.unsubscribeAcknowledge(unsubscribe.messageId());
  }

  private void onPublish(MqttPublishMessage message) {
    String topic = message.topicName();
    if (!topics.owns(device.deviceId(), topic) || topic.contains("+") || topic.contains("#")) {
      metrics.error("publish_refused");
      log.info("publish outside the device's prefix, disconnecting [tenant={}, device={}, topic={}]",
          device.tenantId(), device.deviceId(), Topics.loggable(topic));
      refuse();
      return;
    }
    TopicKind kind = topics.parse(topic).flatMap(t -> t.kind()).orElse(null);
    if (handling >= config.maxInflight()) {
      metrics.received(kind == null ? "unknown" : kind.metricName());
      metrics.error("overloaded");
      JsonObject error = MqttErrors.toJson(ServerException.overloaded("too many messages in progress on this connection; slow down"));
      send(kind == null ? TopicKind.ERRORS : kind.replyTopic(), new JsonObject().put("topic", topic).put("error", error));
      acknowledge(message);
      return;
    }
    handling++;
    messages.handle(device, topic, kind, message.payload()).onComplete(ar -> {
      handling--;
      Reply reply = ar.result();
      if (reply != null && !reply.acknowledge()) {
        redeliver(topic, reply);
        return;
      }
      if (reply != null) {
        // To every connection of this device that listens for it, not only the one that asked.
        replies.accept(new dev.wharf.mqtt.Notices.Notice(device.tenantId(), device.deviceId(), reply.kind(), reply.payload()));
      }
      // The grant (or the ack) is committed: now the device may forget the message.
      if (!closed) {
        acknowledge(message);
      }
    });
  }

  /**
   * The message could not be handled for an outage: no PUBACK. The error reply goes to this connection,
   * then the connection is closed, because MQTT lets a client send an unacknowledged PUBLISH again only
   * when it reconnects; a device with a persistent session (clean session off) does so, and the message is
   * handled then. While the dependency is still down, the reconnect itself is refused (server unavailable).
   * The close waits for the device's PUBACK of the reply (at most {@value #REPLY_ACK_WAIT_MILLIS} ms): a
   * client may drop a message it received just before its connection went.
   */
  private void redeliver(String topic, Reply reply) {
    if (closed || closing) {
      if (!closed) {
        send(reply.kind(), reply.payload());
      }
      return;
    }
    closing = true;
    log.info("closing the connection so the device sends its message again [tenant={}, device={}, topic={}]",
        device.tenantId(), device.deviceId(), topic);
    Promise<Void> replied = Promise.promise();
    long timer = vertx.setTimer(REPLY_ACK_WAIT_MILLIS, id -> replied.tryComplete());
    publish(reply.kind(), reply.payload(), true).onComplete(ar -> replied.tryComplete());
    replied.future().onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (closed) {
        return;
      }
      if (endpoint.protocolVersion() >= 5) {
        endpoint.disconnect(MqttDisconnectReasonCode.SERVER_BUSY, io.netty.handler.codec.mqtt.MqttProperties.NO_PROPERTIES);
      }
      endpoint.close();
    });
  }

  /** PUBACK for QoS 1, PUBREC for QoS 2 (the PUBREL is answered with PUBCOMP), nothing for QoS 0. */
  private void acknowledge(MqttPublishMessage message) {
    switch (message.qosLevel()) {
      case AT_LEAST_ONCE -> endpoint.publishAcknowledge(message.messageId());
      case EXACTLY_ONCE -> endpoint.publishReceived(message.messageId());
      default -> { }
    }
  }

  /** Publishes to the device's {@code kind} topic if it subscribed to it, at the QoS it was granted. */
  void send(TopicKind kind, JsonObject payload) {
    publish(kind, payload, false);
  }

  /**
   * {@link #send}, answering when the message is gone: when the device acknowledged it if {@code awaitAck}
   * and it went at QoS 1, else when it was written (or dropped, or the connection closed).
   */
  private Future<Void> publish(TopicKind kind, JsonObject payload, boolean awaitAck) {
    // An endpoint that is closing says so before its close handler has run (isConnected turns false first).
    if (closed || !endpoint.isConnected()) {
      return Future.succeededFuture();
    }
    String topic = topics.topic(device.deviceId(), kind);
    MqttQoS qos = null;
    for (Map.Entry<String, MqttQoS> sub : subscriptions.entrySet()) {
      if (TopicFilters.matches(sub.getKey(), topic) && (qos == null || sub.getValue().value() > qos.value())) {
        qos = sub.getValue();
      }
    }
    if (qos == null) {
      metrics.dropped("not_subscribed");
      return Future.succeededFuture();
    }
    if (qos == MqttQoS.AT_LEAST_ONCE) {
      if (unacked >= config.maxInflight()) {
        metrics.dropped("inflight_full");
        log.info("message dropped, the device has not acknowledged earlier ones [tenant={}, device={}, topic={}]",
            device.tenantId(), device.deviceId(), topic);
        return Future.succeededFuture();
      }
      unacked++;
    }
    metrics.sent(kind.metricName());
    boolean acked = awaitAck && qos == MqttQoS.AT_LEAST_ONCE;
    return endpoint.publish(topic, payload.toBuffer(), qos, false, false)
        .onFailure(err -> log.debug("publish to device failed [device={}, topic={}, cause={}]", device.deviceId(), topic, err.toString()))
        .compose(messageId -> {
          if (!acked || closed) {
            return Future.<Void>succeededFuture();
          }
          Promise<Void> ack = Promise.promise();
          awaitingAck.put(messageId, ack);
          return ack.future();
        }, err -> Future.succeededFuture());
  }

  /** Closes the connection of a device that broke the rules (MQTT 5: DISCONNECT with not-authorized). */
  private void refuse() {
    if (closed) {
      return;
    }
    if (endpoint.protocolVersion() >= 5) {
      endpoint.disconnect(MqttDisconnectReasonCode.NOT_AUTHORIZED, io.netty.handler.codec.mqtt.MqttProperties.NO_PROPERTIES);
    }
    endpoint.close();
  }

  void close() {
    if (!closed) {
      endpoint.close();
    }
  }
}

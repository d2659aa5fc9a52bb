package dev.wharf.events;

import dev.wharf.config.RedisConfig;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries notices between replicas over Redis pub/sub, so that what one process publishes on its local
 * event bus reaches the same address on every process. Deploy one instance per process.
 *
 * <p>For each relayed address, a message published locally (after its commit, by whoever publishes it) is
 * PUBLISHed on the channel {@code wharf:{ns}:notices} tagged with this process's origin id. A dedicated
 * subscriber connection receives the channel and republishes other origins' messages on the local event
 * bus, with the header {@value #RELAYED_HEADER} so they are not sent back out. Local consumers get local
 * messages directly, even with Redis down. Pub/sub is at most once: a notice lost while Redis or the
 * subscriber is down is not replayed, so consumers must treat notices as hints (the inbox query stays the
 * truth). The subscriber reconnects with backoff.
 */
public final class NoticeRelay extends VerticleBase {

  /** Header marking a message that came in from another replica; its value is that replica's origin id. */
  public static final String RELAYED_HEADER = "wharf-relayed-from";

  /**
   * Local event bus address where the relay says whether it hears the other replicas: {@code {"listening": true}}
   * once its subscription stands (again), {@code {"listening": false}} when it is lost or cannot be made. What
   * other replicas publish in between is never heard, so a cache kept fresh by their notices must not trust itself then.
   */
  public static final String STATE_ADDRESS = "wharf.events.relay-state";

  private static final Logger log = LoggerFactory.getLogger(NoticeRelay.class);
  private static final long MAX_BACKOFF_MS = 10_000;

  private final RedisConfig config;
  private final RedisAPI publisher;
  private final Set<String> addresses;
  private final WharfMetrics metrics;
  private final String origin = UUID.randomUUID().toString();

  /** How this process's own envelopes begin ({@link #publish} writes the origin first): they come back unread. */
  private final String ownEnvelope = "{\"o\":\"" + origin + "\",";
  private final String channel;
  private final List<MessageConsumer<Object>> consumers = new ArrayList<>();
  private Redis subscriberClient;
  private RedisConnection subscriber;
  private long backoffMs = 250;
  private long reconnectTimer = -1;
  private boolean stopped;

  /** Relays {@code addresses}; {@code publisher} is the process's pooled Redis API. */
  public NoticeRelay(RedisConfig config, RedisAPI publisher, Set<String> addresses, WharfMetrics metrics) {
    this.config = config;
    this.publisher = publisher;
    this.addresses = Set.copyOf(addresses);
    this.metrics = metrics;
    this.channel = "wharf:{" + config.namespace() + "}:notices";
  }

  /** The Redis channel notices travel on. */
  public String channel() {
    return channel;
  }

  @Override
  public Future<?> start() {
    List<Future<Void>> registered = new ArrayList<>();
    for (String address : addresses) {
      MessageConsumer<Object> consumer = vertx.eventBus().localConsumer(address, msg -> {
        if (msg.headers().contains(RELAYED_HEADER)) {
          return;
        }
        publish(address, msg.body());
      });
      consumers.add(consumer);
      registered.add(consumer.completion());
    }
    subscriberClient = Redis.createClient(vertx, new RedisOptions().setConnectionString(config.uri()).setMaxPoolSize(1));
    // A Redis that is down at start does not stop the gateway: notices are hints; the subscriber keeps retrying.
    return Future.all(registered).compose(v -> subscribe().recover(err -> {
      log.warn("notice subscriber not connected, retrying [channel={}, cause={}]", channel, err.toString());
      announce(false);
      scheduleReconnect();
      return Future.succeededFuture();
    }));
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    vertx.cancelTimer(reconnectTimer);
    List<Future<Void>> closing = new ArrayList<>();
    consumers.forEach(c -> closing.add(c.unregister()));
    if (subscriber != null) {
      closing.add(subscriber.close().otherwiseEmpty());
    }
    return Future.join(closing).eventually(() -> subscriberClient == null ? Future.succeededFuture() : subscriberClient.close());
  }

  private void publish(String address, Object body) {
    if (!(body instanceof JsonObject json)) {
      return;
    }
    publisher.publish(channel, envelope(address, json)).onComplete(ar -> {
      metrics.count("wharf_notices_relayed_total", "direction", ar.succeeded() ? "out" : "lost", 1);
      if (ar.failed()) {
        log.warn("notice not relayed to other replicas [address={}, cause={}]", address, ar.cause().toString());
      }
    });
  }

  /** What travels on the channel: this process's origin (first), the address and the notice. */
  String envelope(String address, JsonObject body) {
    return new JsonObject().put("o", origin).put("a", address).put("b", body).encode();
  }

  /** Whether {@code text} is an envelope this process sent, told without decoding it. */
  boolean isOwn(String text) {
    return text.startsWith(ownEnvelope);
  }

  private Future<Void> subscribe() {
    return subscriberClient.connect().compose(conn -> {
      if (stopped) {
        return conn.close();
      }
      subscriber = conn;
      conn.handler(this::received);
      conn.exceptionHandler(err -> log.warn("notice subscriber failed [channel={}, cause={}]", channel, err.toString()));
      conn.endHandler(v -> {
        subscriber = null;
        if (!stopped) {
          log.warn("notice subscriber disconnected, reconnecting [channel={}]", channel);
          announce(false);
          scheduleReconnect();
        }
      });
      return conn.send(Request.cmd(Command.SUBSCRIBE).arg(channel)).<Void>mapEmpty().onSuccess(v -> {
        backoffMs = 250;
        log.info("notice subscriber listening [channel={}, origin={}]", channel, origin);
        announce(true);
      });
    });
  }

  private void announce(boolean listening) {
    vertx.eventBus().publish(STATE_ADDRESS, new JsonObject().put("listening", listening));
  }

  private void scheduleReconnect() {
    if (stopped) {
      return;
    }
    long delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    reconnectTimer = vertx.setTimer(delay, id -> subscribe().onFailure(err -> {
      log.warn("notice subscriber reconnect failed [channel={}, cause={}]", channel, err.toString());
      scheduleReconnect();
    }));
  }

  private void received(Response message) {
    if (message == null || message.size() < 3 || !"message".equals(message.get(0).toString())) {
      return;
    }
    String text = message.get(2).toString();
    if (isOwn(text)) {
      // Every replica hears its own notices back; skip decoding them.
      return;
    }
    JsonObject envelope;
    try {
      envelope = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      log.warn("notice ignored, not JSON [channel={}]", channel);
      return;
    }
    String from = envelope.getString("o");
    String address = envelope.getString("a");
    Object body = envelope.getValue("b");
    if (origin.equals(from) || address == null || !addresses.contains(address) || !(body instanceof JsonObject)) {
      return;
    }
    metrics.count("wharf_notices_relayed_total", "direction", "in", 1);
    vertx.eventBus().publish(address, body, new DeliveryOptions().addHeader(RELAYED_HEADER, from));
  }
}

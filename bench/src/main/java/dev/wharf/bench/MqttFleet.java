package dev.wharf.bench;

import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import io.vertx.mqtt.messages.MqttPublishMessage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * The benchmark's devices: one Vert.x {@link MqttClient} per device (MQTT 3.1.1, clean session, user name =
 * device id, password = device token), all on the event loops of one Vert.x instance, so K idle connections
 * cost K sockets and no threads. A device counts as connected once its CONNACK accepted it and its SUBACK
 * granted {@code wharf/d/{d}/upload/grant} at QoS 1.
 *
 * <p>{@link #roundTrips} drives upload requests from a few connected devices, each with a fixed number in
 * flight, and matches every grant (or error reply) to its request by {@code req}.
 */
final class MqttFleet implements AutoCloseable {

  /** One device of the tenant: its credentials and, once connected, its client. */
  static final class Device {
    final String id;
    final String token;
    volatile MqttClient client;
    volatile Context context;
    volatile boolean connected;
    final Map<String, Long> pending = new ConcurrentHashMap<>();
    final AtomicInteger seq = new AtomicInteger();

    Device(String id, String token) {
      this.id = id;
      this.token = token;
    }
  }

  /** The outcome of ramping connections up. */
  record Ramp(int attempted, int connected, int failed, double seconds, String firstFailure, String stoppedBecause) {}

  /** Round trips measured in a window; latencies in nanoseconds, sorted. */
  record RoundTrips(int devices, int inflightPerDevice, double windowSeconds, long inWindow, long[] sortedLatencies,
                    long dropped, Map<String, Long> errorsByCode, long errorsInWindow, long noReply, long publishFailures,
                    long unmatched) {

    double perSecond() {
      return inWindow / windowSeconds;
    }

    double percentileMillis(double p) {
      if (sortedLatencies.length == 0) {
        return Double.NaN;
      }
      int rank = (int) Math.ceil(p * sortedLatencies.length) - 1;
      return sortedLatencies[Math.max(0, Math.min(rank, sortedLatencies.length - 1))] / 1e6;
    }

    double maxMillis() {
      return sortedLatencies.length == 0 ? Double.NaN : sortedLatencies[sortedLatencies.length - 1] / 1e6;
    }
  }

  private static final int LATENCY_CAPACITY = 2_000_000;

  private final Vertx vertx = Vertx.vertx();
  private final int port;
  private final String topicRoot;
  private final int keepAliveSeconds;
  private final AtomicLong droppedConnections = new AtomicLong();

  MqttFleet(int port, String topicRoot, int keepAliveSeconds) {
    this.port = port;
    this.topicRoot = topicRoot;
    this.keepAliveSeconds = keepAliveSeconds;
  }

  String grantTopic(Device d) {
    return topicRoot + "/d/" + d.id + "/upload/grant";
  }

  String requestTopic(Device d) {
    return topicRoot + "/d/" + d.id + "/upload/request";
  }

  /** Connections that closed although the benchmark had not asked them to. */
  long droppedConnections() {
    return droppedConnections.get();
  }

  /**
   * Connects the devices in batches of {@code batch}, at most {@code concurrency} handshakes (CONNECT,
   * CONNACK, SUBSCRIBE, SUBACK) at a time, each bounded by {@code timeoutMillis}. Stops early when a batch
   * fails entirely or more than 5 % of the attempts so far failed. {@code progress} is called after every
   * batch with the number connected so far.
   */
  Ramp connect(List<Device> devices, int batch, int concurrency, long timeoutMillis, java.util.function.IntConsumer progress)
      throws InterruptedException {
    Semaphore slots = new Semaphore(concurrency);
    AtomicInteger connected = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicReference<String> firstFailure = new AtomicReference<>();
    long start = System.nanoTime();
    int attempted = 0;
    String stopped = null;
    for (int from = 0; from < devices.size() && stopped == null; from += batch) {
      List<Device> slice = devices.subList(from, Math.min(devices.size(), from + batch));
      CountDownLatch done = new CountDownLatch(slice.size());
      int failedBefore = failed.get();
      for (Device d : slice) {
        if (!slots.tryAcquire(timeoutMillis * 2, TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("no connection handshake finished within " + timeoutMillis * 2 + " ms");
        }
        attempted++;
        connectOne(d, timeoutMillis).onComplete(ar -> {
          if (ar.succeeded()) {
            connected.incrementAndGet();
          } else {
            failed.incrementAndGet();
            firstFailure.compareAndSet(null, d.id + ": " + ar.cause());
          }
          slots.release();
          done.countDown();
        });
      }
      if (!done.await(timeoutMillis * 3, TimeUnit.MILLISECONDS)) {
        stopped = "a batch did not finish within " + timeoutMillis * 3 + " ms";
      }
      progress.accept(connected.get());
      int batchFailures = failed.get() - failedBefore;
      if (stopped == null && batchFailures == slice.size()) {
        stopped = "a whole batch of " + slice.size() + " failed";
      } else if (stopped == null && failed.get() > Math.max(20, attempted / 20)) {
        stopped = failed.get() + " of " + attempted + " connections failed (more than 5 %)";
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
    return new Ramp(attempted, connected.get(), failed.get(), (System.nanoTime() - start) / 1e9, firstFailure.get(), stopped);
  }

  private Future<Void> connectOne(Device d, long timeoutMillis) {
    MqttClientOptions options = new MqttClientOptions()
        .setClientId(d.id)
        .setUsername(d.id)
        .setPassword(d.token)
        .setCleanSession(true)
        .setKeepAliveInterval(keepAliveSeconds)
        .setMaxInflightQueue(64);
    options.setConnectTimeout((int) timeoutMillis);
    MqttClient client = MqttClient.create(vertx, options);
    Promise<Void> ready = Promise.promise();
    client.publishHandler(m -> onMessage(d, m));
    client.subscribeCompletionHandler(suback -> {
      if (suback.grantedQoSLevels().equals(List.of(1))) {
        ready.tryComplete();
      } else {
        ready.tryFail("SUBACK granted " + suback.grantedQoSLevels());
      }
    });
    client.closeHandler(v -> {
      if (d.connected) {
        d.connected = false;
        droppedConnections.incrementAndGet();
      }
    });
    long timer = vertx.setTimer(timeoutMillis, t -> ready.tryFail("no CONNACK+SUBACK within " + timeoutMillis + " ms"));
    d.client = client;
    client.connect(port, "127.0.0.1").onComplete(ar -> {
      if (ar.failed()) {
        ready.tryFail(ar.cause());
      } else if (ar.result().code() != MqttConnectReturnCode.CONNECTION_ACCEPTED) {
        ready.tryFail("CONNACK " + ar.result().code());
      } else {
        d.context = Vertx.currentContext();
        client.subscribe(grantTopic(d), 1).onFailure(ready::tryFail);
      }
    });
    return ready.future().andThen(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        d.connected = true;
      } else if (client.isConnected()) {
        client.disconnect();
      }
    });
  }

  // Round trips: state of the current run, set by roundTrips().
  private volatile boolean running;
  private volatile long windowStart;
  private volatile long windowEnd;
  private final long[] latencies = new long[LATENCY_CAPACITY];
  private final AtomicInteger latencyCount = new AtomicInteger();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  private final LongAdder inWindow = new LongAdder();
  private final LongAdder errorsInWindow = new LongAdder();
  private final LongAdder publishFailures = new LongAdder();
  private final LongAdder unmatched = new LongAdder();

  /**
   * From each of {@code devices} (connected), {@code inflight} upload requests at a time, each a fresh {@code req}
   * at QoS 1, the next sent when a reply arrives. The first {@code warmupSeconds} are not counted; replies
   * arriving in the following {@code windowSeconds} are counted and their latency (publish to the reply's
   * arrival) kept. Then no more are sent, and replies still due are awaited for at most 30 s.
   */
  RoundTrips roundTrips(List<Device> devices, int inflight, int warmupSeconds, int windowSeconds) throws InterruptedException {
    latencyCount.set(0);
    errors.clear();
    inWindow.reset();
    errorsInWindow.reset();
    publishFailures.reset();
    unmatched.reset();
    long dropsBefore = droppedConnections.get();
    long now = System.nanoTime();
    windowStart = now + TimeUnit.SECONDS.toNanos(warmupSeconds);
    windowEnd = windowStart + TimeUnit.SECONDS.toNanos(windowSeconds);
    running = true;
    for (Device d : devices) {
      d.pending.clear();
      d.context.runOnContext(v -> {
        for (int i = 0; i < inflight; i++) {
          request(d);
        }
      });
    }
    TimeUnit.NANOSECONDS.sleep(Math.max(0, windowEnd - System.nanoTime()));
    running = false;
    long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < drainDeadline && devices.stream().anyMatch(d -> !d.pending.isEmpty())) {
      TimeUnit.MILLISECONDS.sleep(50);
    }
    long noReply = devices.stream().mapToLong(d -> d.pending.size()).sum();
    int n = Math.min(latencyCount.get(), LATENCY_CAPACITY);
    long[] sorted = Arrays.copyOf(latencies, n);
    Arrays.sort(sorted);
    Map<String, Long> byCode = new TreeMap<>();
    errors.forEach((code, count) -> byCode.put(code, count.sum()));
    return new RoundTrips(devices.size(), inflight, windowSeconds, inWindow.sum(), sorted, droppedConnections.get() - dropsBefore,
        byCode, errorsInWindow.sum(), noReply, publishFailures.sum(), unmatched.sum());
  }

  /** Sends one upload request; runs on the device's context. */
  private void request(Device d) {
    if (!running || !d.connected) {
      return;
    }
    String req = "b" + d.seq.incrementAndGet();
    JsonObject body = new JsonObject().put("req", req).put("filename", "bench-" + req + ".bin").put("size", 1024);
    d.pending.put(req, System.nanoTime());
    d.client.publish(requestTopic(d), body.toBuffer(), MqttQoS.AT_LEAST_ONCE, false, false).onFailure(err -> {
      if (d.pending.remove(req) != null) {
        publishFailures.increment();
      }
    });
  }

  private void onMessage(Device d, MqttPublishMessage message) {
    long arrived = System.nanoTime();
    JsonObject json;
    try {
      json = message.payload().toJsonObject();
    } catch (RuntimeException e) {
      unmatched.increment();
      return;
    }
    Long sent = d.pending.remove(String.valueOf(json.getValue("req")));
    if (sent == null) {
      unmatched.increment();
      return;
    }
    boolean error = json.containsKey("error");
    if (error) {
      String code = json.getJsonObject("error").getString("code", "?");
      errors.computeIfAbsent(code, c -> new LongAdder()).increment();
    }
    if (arrived >= windowStart && arrived < windowEnd) {
      inWindow.increment();
      if (error) {
        errorsInWindow.increment();
      }
      int i = latencyCount.getAndIncrement();
      if (i < LATENCY_CAPACITY) {
        latencies[i] = arrived - sent;
      }
    }
    request(d);
  }

  /** DISCONNECTs every connected client (at most 30 s in all). */
  void disconnectAll(List<Device> devices) throws InterruptedException {
    List<Future<Void>> closing = new ArrayList<>();
    for (Device d : devices) {
      if (d.client != null && d.connected) {
        d.connected = false;
        closing.add(d.client.disconnect());
      }
    }
    try {
      Blocking.await(Future.join(closing), java.time.Duration.ofSeconds(30));
    } catch (Exception e) {
      System.err.println("  some clients did not disconnect cleanly: " + e);
    }
  }

  @Override
  public void close() throws Exception {
    Blocking.await(vertx.close(), java.time.Duration.ofSeconds(30));
  }
}

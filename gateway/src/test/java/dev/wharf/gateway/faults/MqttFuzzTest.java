package dev.wharf.gateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 10, bad input generated, MQTT: the gateway's own MQTT endpoint gets seeded random packets over raw sockets
 * (bad remaining lengths, truncated packets, wrong protocol names and levels, CONNECT twice, packets before CONNECT,
 * QoS 2 and the invalid QoS 3, huge client ids and topics, random bytes) and, through the stock Paho client, random
 * topics and payloads on the device's real request topics. A protocol violation must close the connection (MQTT 3.1.1
 * §4.8); nothing may crash the endpoint: afterwards a well-behaved device still gets its upload grant, and the live heap
 * grew by less than {@value #HEAP_BOUND_MIB} MiB.
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class MqttFuzzTest {

  static final int HEAP_BOUND_MIB = 48;

  static TestStack stack;
  static TestStack.Tenant tenant;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    tenant = HttpFuzzTest.await(stack.newTenant());
  }

  @Test
  void fuzzedMqttPacketsAreRefusedAndTheEndpointKeepsGranting() throws Exception {
    run("mqtt fuzz", Integer.getInteger("wharf.fuzz.mqtt-cases", 1_000), 300);
  }

  @Test
  @Tag("fault-long")
  void longMqttFuzzIsRefusedAndTheEndpointKeepsGranting() throws Exception {
    run("mqtt fuzz (long)", Integer.getInteger("wharf.fuzz.mqtt-long-cases", 30_000), 5_000);
  }

  private void run(String scenario, int rawCases, int pahoMessages) throws Exception {
    long seed = Long.getLong("wharf.fuzz.seed", System.nanoTime());
    System.out.printf("%s: seed %d (reproduce with -Dwharf.fuzz.seed=%d), %d raw cases, %d Paho messages%n",
        scenario, seed, seed, rawCases, pahoMessages);
    Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
    List<String> failures = Collections.synchronizedList(new ArrayList<>());
    runRaw(seed ^ 0x5eed, Math.min(200, rawCases), new ConcurrentHashMap<>(), new ArrayList<>());
    long heapBefore = HttpFuzzTest.liveHeap();
    runRaw(seed, rawCases, outcomes, failures);
    PahoTally paho = runPaho(seed, pahoMessages);
    long heapAfter = HttpFuzzTest.liveHeap();
    boolean granted = wellBehavedDeviceGetsAGrant();

    System.out.printf("%s: raw outcomes %s; Paho: %d random publishes, %d acknowledged, %d replies, connection lost %d times "
            + "(each after publishing outside its own prefix, as specified); heap (live after GC) %.1f MiB before, %.1f MiB after "
            + "(bound +%d MiB); a well-behaved device got its grant afterwards: %s%n",
        scenario, new TreeMap<>(Map.copyOf(outcomes)).toString().replaceAll("=(\\d+)", "=$1"), paho.sent, paho.acked.sum(),
        paho.replies.size(), paho.lostOutsidePrefix + paho.lostOtherwise, heapBefore / 1048576.0, heapAfter / 1048576.0,
        HEAP_BOUND_MIB, granted);
    failures.stream().limit(20).forEach(f -> System.out.println("  UNEXPECTED " + f));
    FaultTable.record(scenario, (rawCases + pahoMessages) + " packets, seed " + seed, "malformed MQTT, random topics/payloads/QoS",
        paho.acked.sum(), 0, failures.size() + paho.lostOtherwise + (granted ? 0 : 1));

    assertThat(failures).as("protocol violations the endpoint did not close on (seed %d)", seed).isEmpty();
    assertThat(paho.lostOtherwise).as("Paho connections lost without a protocol violation (publish failures: %s; lost: %s)",
        paho.publishFailures, paho.lost).isZero();
    assertThat(granted).as("a well-behaved device still gets its upload grant").isTrue();
    assertThat(heapAfter - heapBefore).as("live heap growth").isLessThan(HEAP_BOUND_MIB * 1048576L);
  }

  // ---- raw packets

  /** One raw case: bytes to send, and whether the endpoint must close (a protocol violation). */
  record RawCase(String kind, byte[] bytes, boolean mustClose) {}

  private void runRaw(long seed, int cases, Map<String, LongAdder> outcomes, List<String> failures) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<java.util.concurrent.Future<?>> jobs = new ArrayList<>();
      for (int i = 0; i < cases; i++) {
        int index = i;
        jobs.add(pool.submit(() -> {
          RawCase c = rawCase(new Random(seed * 1_000_003L + index));
          String outcome;
          try {
            outcome = exchange(c.bytes());
          } catch (IOException e) {
            outcome = "connect failed";
          }
          outcomes.computeIfAbsent(c.kind() + "→" + outcome, k -> new LongAdder()).increment();
          if (outcome.equals("connect failed") || c.mustClose() && outcome.equals("held")) {
            failures.add("seed=" + seed + " case=" + index + " " + c.kind() + " -> " + outcome);
          }
        }));
      }
      for (var job : jobs) {
        job.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Writes the bytes, then reads until the endpoint closes ("closed") or 1 s passes in silence ("held"). */
  private static String exchange(byte[] bytes) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", stack.mqttPort), 5_000);
      socket.setSoTimeout(1_000);
      try {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
      } catch (SocketException e) {
        return "closed";
      }
      InputStream in = socket.getInputStream();
      String first = null;
      try {
        byte[] buf = new byte[4096];
        int n;
        while ((n = in.read(buf)) != -1) {
          if (first == null && n > 0) {
            first = packetName(buf[0]);
          }
        }
        return first == null ? "closed" : "answered " + first + ", closed";
      } catch (SocketTimeoutException e) {
        return "held";
      } catch (SocketException e) {
        return "closed";
      }
    }
  }

  private static String packetName(byte b) {
    return switch ((b >> 4) & 0x0f) {
      case 2 -> b == 0x20 ? "CONNACK" : "CONNACK?";
      case 3 -> "PUBLISH";
      case 4 -> "PUBACK";
      case 9 -> "SUBACK";
      case 13 -> "PINGRESP";
      default -> "type " + ((b >> 4) & 0x0f);
    };
  }

  private RawCase rawCase(Random r) {
    byte[] connect = connect(tenant.deviceA(), tenant.tokenA(), "fz-" + r.nextInt(1_000_000), "MQTT", 4, 0x02);
    return switch (r.nextInt(14)) {
      case 0 -> new RawCase("random bytes", randomBytes(r, 1 + r.nextInt(300)), false);
      case 1 -> new RawCase("PUBLISH before CONNECT", publish(topic(r), payload(r), 0), true);
      case 2 -> new RawCase("CONNECT twice", concat(connect, connect), true);
      case 3 -> new RawCase("wrong protocol name", connect(tenant.deviceA(), tenant.tokenA(), "c", HttpFuzz.pick(r,
          new String[] {"MQTX", "", "MQIsdp", "mqtt", "M\u0000TT"}), 4, 0x02), true);
      case 4 -> new RawCase("wrong protocol level", connect(tenant.deviceA(), tenant.tokenA(), "c", "MQTT",
          HttpFuzz.pick(r, new Integer[] {0, 1, 2, 6, 9, 255}), 0x02), true);
      case 5 -> new RawCase("reserved CONNECT flag", connect(tenant.deviceA(), tenant.tokenA(), "c", "MQTT", 4, 0x03), true);
      case 6 -> new RawCase("huge client id", connect(tenant.deviceA(), tenant.tokenA(),
          "c".repeat(129 + r.nextInt(60_000)), "MQTT", 4, 0x02), true);
      case 7 -> new RawCase("bad remaining length", concat(connect, new byte[] {0x30, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01}), true);
      case 8 -> new RawCase("QoS 3 PUBLISH", concat(connect, publishFlags(topic(r), payload(r), 0x36, 1)), true);
      case 9 -> new RawCase("QoS 2 PUBLISH", concat(connect, publishFlags(topic(r), payload(r), 0x34, 1)), false);
      case 10 -> new RawCase("truncated packet", concat(connect, java.util.Arrays.copyOf(publish(topic(r), payload(r), 1),
          2 + r.nextInt(5))), false);
      case 11 -> new RawCase("huge topic", concat(connect, publish("wharf/d/" + tenant.deviceA() + "/" + "t".repeat(1_000 + r.nextInt(60_000)),
          payload(r), 1)), false);
      case 12 -> new RawCase("SUBSCRIBE with QoS 3", concat(connect, subscribe(topic(r), 3)), true);
      default -> new RawCase("random packet after CONNECT", concat(connect, randomBytes(r, 1 + r.nextInt(200))), false);
    };
  }

  private String topic(Random r) {
    String own = "wharf/d/" + tenant.deviceA() + "/";
    return switch (r.nextInt(8)) {
      case 0 -> own + "upload/request";
      case 1 -> own + "inbox/ack";
      case 2 -> own + HttpFuzz.randomChars(r, r.nextInt(40), "ab/+#$\u0000ü ");
      case 3 -> "wharf/d/" + tenant.deviceB() + "/upload/request";
      case 4 -> HttpFuzz.randomChars(r, r.nextInt(40), "ab/+#$");
      case 5 -> "";
      default -> own + "inbox/reject";
    };
  }

  private byte[] payload(Random r) {
    return switch (r.nextInt(4)) {
      case 0 -> randomBytes(r, r.nextInt(5_000));
      case 1 -> new JsonObject().put("req", HttpFuzz.randomChars(r, r.nextInt(300), "ab-")).put("filename", "../x")
          .put("size", r.nextLong()).encode().getBytes(StandardCharsets.UTF_8);
      case 2 -> "{".repeat(r.nextInt(2_000)).getBytes(StandardCharsets.UTF_8);
      default -> new byte[0];
    };
  }

  static byte[] connect(String user, String password, String clientId, String protocol, int level, int flags) {
    ByteArrayOutputStream v = new ByteArrayOutputStream();
    utf(v, protocol);
    v.write(level);
    v.write(flags | 0xC0);
    v.write(0);
    v.write(30);
    utf(v, clientId);
    utf(v, user);
    utf(v, password);
    return packet(0x10, v.toByteArray());
  }

  static byte[] publish(String topic, byte[] payload, int qos) {
    return publishFlags(topic, payload, 0x30 | (qos << 1), qos == 0 ? 0 : 1);
  }

  static byte[] publishFlags(String topic, byte[] payload, int header, int packetId) {
    ByteArrayOutputStream v = new ByteArrayOutputStream();
    utf(v, topic);
    if ((header & 0x06) != 0) {
      v.write(packetId >> 8);
      v.write(packetId);
    }
    v.writeBytes(payload);
    return packet(header, v.toByteArray());
  }

  static byte[] subscribe(String filter, int qos) {
    ByteArrayOutputStream v = new ByteArrayOutputStream();
    v.write(0);
    v.write(7);
    utf(v, filter);
    v.write(qos);
    return packet(0x82, v.toByteArray());
  }

  static byte[] packet(int header, byte[] variable) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(header);
    int len = variable.length;
    do {
      int digit = len % 128;
      len /= 128;
      out.write(len > 0 ? digit | 0x80 : digit);
    } while (len > 0);
    out.writeBytes(variable);
    return out.toByteArray();
  }

  private static void utf(ByteArrayOutputStream out, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    int n = Math.min(b.length, 65_535);
    out.write(n >> 8);
    out.write(n);
    out.write(b, 0, n);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static byte[] randomBytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  // ---- Paho, a stock client, on the real topics

  static final class PahoTally {
    /** Paho's connectionLost reports for the current client. */
    final BlockingQueue<Throwable> lost = new LinkedBlockingQueue<>();
    int sent;
    int lostOutsidePrefix;
    int lostOtherwise;
    final List<String> publishFailures = new java.util.ArrayList<>();
    final LongAdder acked = new LongAdder();
    final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
  }

  private PahoTally runPaho(long seed, int messages) throws Exception {
    Random r = new Random(seed);
    PahoTally tally = new PahoTally();
    String[] suffixes = {"upload/request", "inbox/ack", "inbox/reject", "upload/complete", "files/status", "errors", "x", "upload/request/x"};
    MqttClient client = null;
    for (int i = 0; i < messages; i++) {
      if (client == null || !client.isConnected()) {
        client = pahoConnect(tally);
      }
      boolean outside = r.nextInt(50) == 0;
      String topic = outside ? "wharf/d/" + tenant.deviceB() + "/upload/request"
          : "wharf/d/" + tenant.deviceA() + "/" + HttpFuzz.pick(r, suffixes);
      MqttMessage m = new MqttMessage(payload(r));
      m.setQos(r.nextInt(2));
      tally.sent++;
      try {
        client.publish(topic, m);
      } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
        // Counted below by whether the connection was lost; what Paho said is kept for the assertion.
        tally.publishFailures.add(e.getReasonCode() + " " + e);
      }
      if (outside) {
        // Publishing outside the own prefix is answered by closing the connection (MqttEndpointTest pins that).
        awaitLost(client, tally);
        tally.lostOutsidePrefix++;
        closeQuietly(client);
        client = null;
      } else if (!client.isConnected()) {
        tally.lostOtherwise++;
        closeQuietly(client);
        client = null;
      }
    }
    if (client != null) {
      closeQuietly(client);
    }
    return tally;
  }

  /** Waits (at most 10 s) for Paho to report the connection lost, then forgets the report. */
  private static void awaitLost(MqttClient client, PahoTally tally) throws InterruptedException {
    if (client.isConnected()) {
      tally.lost.poll(10, TimeUnit.SECONDS);
    }
    tally.lost.clear();
  }

  private MqttClient pahoConnect(PahoTally tally) throws Exception {
    MqttClient client = new MqttClient("tcp://127.0.0.1:" + stack.mqttPort, "fuzz-paho-" + System.nanoTime(), new MemoryPersistence());
    // Paho waits for a QoS 1 PUBACK forever by default; once it was seen to wait on a connection whose threads
    // had ended. A bound turns that into a counted failure instead of a hung build.
    client.setTimeToWait(20_000);
    client.setCallback(new MqttCallback() {
      @Override
      public void connectionLost(Throwable cause) {
        tally.lost.add(cause == null ? new IllegalStateException("connection lost") : cause);
      }

      @Override
      public void messageArrived(String topic, MqttMessage message) {
        tally.replies.add(topic);
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {
        tally.acked.increment();
      }
    });
    client.connect(options());
    client.subscribe("wharf/d/" + tenant.deviceA() + "/#", 1);
    return client;
  }

  private MqttConnectOptions options() {
    MqttConnectOptions options = new MqttConnectOptions();
    options.setUserName(tenant.deviceA());
    options.setPassword(tenant.tokenA().toCharArray());
    options.setAutomaticReconnect(false);
    options.setConnectionTimeout(10);
    options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    return options;
  }

  private boolean wellBehavedDeviceGetsAGrant() throws Exception {
    BlockingQueue<JsonObject> grants = new LinkedBlockingQueue<>();
    MqttClient client = new MqttClient("tcp://127.0.0.1:" + stack.mqttPort, "fuzz-good-" + System.nanoTime(), new MemoryPersistence());
    client.setCallback(new MqttCallback() {
      @Override
      public void connectionLost(Throwable cause) {
      }

      @Override
      public void messageArrived(String topic, MqttMessage message) {
        if (topic.endsWith("/upload/grant")) {
          grants.add(new JsonObject(new String(message.getPayload(), StandardCharsets.UTF_8)));
        }
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {
      }
    });
    try {
      client.connect(options());
      client.subscribe("wharf/d/" + tenant.deviceA() + "/upload/grant", 1);
      String req = "after-fuzz-" + System.nanoTime();
      MqttMessage m = new MqttMessage(new JsonObject().put("req", req).put("filename", "ok.json").put("size", 2)
          .put("content_type", "application/json").encode().getBytes(StandardCharsets.UTF_8));
      m.setQos(1);
      client.publish("wharf/d/" + tenant.deviceA() + "/upload/request", m);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (System.nanoTime() < deadline) {
        JsonObject g = grants.poll(500, TimeUnit.MILLISECONDS);
        if (g != null && req.equals(g.getString("req"))) {
          System.out.println("well-behaved device after the fuzz: " + g.encode());
          return g.getString("url") != null;
        }
      }
      return false;
    } finally {
      closeQuietly(client);
    }
  }

  private static void closeQuietly(MqttClient client) {
    try {
      if (client.isConnected()) {
        client.disconnectForcibly(1_000, 1_000);
      }
      client.close(true);
    } catch (Exception e) {
      // already gone
    }
  }

  static <T> T await(Future<T> f) throws Exception {
    return HttpFuzzTest.await(f);
  }
}

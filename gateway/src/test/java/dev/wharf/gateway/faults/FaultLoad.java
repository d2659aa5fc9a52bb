package dev.wharf.gateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load of a fault scenario: {@code clients} devices uploading files one after the other until told to stop
 * (POST /v1/files; one in eight of 6 MiB, streamed as a multipart upload, the rest 1..64 KiB), each polling its
 * inbox after each upload, while the gateway's ingest workers verify what was acknowledged. Every answer is counted:
 * 201 (acknowledged), 503 with Retry-After (honest; the device sends the same file again a moment later), anything
 * else, a 503 without Retry-After or a broken connection included, is unexpected. {@link #verify} then checks that
 * every acknowledged upload reached {@code processed} and downloads with its SHA-256.
 */
final class FaultLoad {

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private static final int LARGE = 6 * (1 << 20) + 321;
  /** How long a device waits after a 503 before sending again (shorter than Retry-After, to keep the load on). */
  private static final long RETRY_MS = 200;

  private final String base;
  private final Tenant tenant;
  private final int clients;
  private volatile boolean stopping;
  private final long seed;
  private final AtomicInteger next = new AtomicInteger();
  private final Executor retryDelay = CompletableFuture.delayedExecutor(RETRY_MS, TimeUnit.MILLISECONDS);
  private final Object answered = new Object();

  final AtomicLong acknowledged = new AtomicLong();
  final AtomicLong honest = new AtomicLong();
  final AtomicLong unexpected = new AtomicLong();
  final AtomicLong polls = new AtomicLong();
  final AtomicLong answers = new AtomicLong();
  /** File id → what was acknowledged. */
  final Map<String, Acked> acked = new ConcurrentHashMap<>();
  final List<String> unexpectedAnswers = java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<CompletableFuture<Void>> running = new ArrayList<>();
  private volatile long giveUpAt;

  private FaultLoad(int port, Tenant tenant, int clients, long seed) {
    this.base = "http://127.0.0.1:" + port;
    this.tenant = tenant;
    this.clients = clients;
    this.seed = seed;
  }

  /**
   * Starts the devices; they upload until {@link #stop}, and a device that was refused sends the same file again
   * until it is acknowledged or {@code limit} has passed.
   */
  static FaultLoad start(int port, Tenant tenant, int clients, long seed, Duration limit) {
    FaultLoad load = new FaultLoad(port, tenant, clients, seed);
    load.giveUpAt = System.nanoTime() + limit.toNanos();
    for (int c = 0; c < clients; c++) {
      load.running.add(load.nextUpload(c));
    }
    return load;
  }

  String describe() {
    return uploads() + " uploads (1 in 8 of 6 MiB) by " + clients + " devices, inbox polls, ingest";
  }

  /** Uploads started so far (each is sent until acknowledged). */
  int uploads() {
    return next.get();
  }

  private CompletableFuture<Void> nextUpload(int client) {
    if (stopping || System.nanoTime() > giveUpAt) {
      return CompletableFuture.completedFuture(null);
    }
    int i = next.getAndIncrement();
    return upload(client, i).thenCompose(v -> nextUpload(client));
  }

  private static byte[] body(long seed, int i) {
    int size = i % 8 == 7 ? LARGE : 1024 + new Random(seed * 31 + i).nextInt(63 * 1024);
    byte[] bytes = new byte[size];
    new Random(seed * 7919 + i).nextBytes(bytes);
    return bytes;
  }

  /** Sends upload {@code i} until it is acknowledged (honest refusals are retried), then polls the inbox once. */
  private CompletableFuture<Void> upload(int client, int i) {
    byte[] bytes = body(seed, i);
    String token = client % 2 == 0 ? tenant.tokenA() : tenant.tokenB();
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/files"))
        .header("Authorization", "Bearer " + token).header("X-Wharf-Filename", "f" + i + ".bin")
        .timeout(Duration.ofSeconds(90)).POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build();
    return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()).handle((resp, failure) -> {
      boolean done = false;
      if (failure != null) {
        unexpected("upload " + i + ": " + failure);
        done = true; // a broken connection is counted; the device gives this file up
      } else if (resp.statusCode() == 201) {
        acked.put(new JsonObject(resp.body()).getString("id"), new Acked(sha256(bytes), token));
        acknowledged.incrementAndGet();
        done = true;
      } else if (isHonest(resp)) {
        honest.incrementAndGet();
      } else {
        unexpected("upload " + i + ": " + resp.statusCode() + " " + resp.body());
        done = true;
      }
      answered();
      return done;
    }).thenCompose(done -> {
      if (!done && System.nanoTime() < giveUpAt) {
        return CompletableFuture.runAsync(() -> { }, retryDelay).thenCompose(v -> upload(client, i));
      }
      return poll(token);
    });
  }

  private CompletableFuture<Void> poll(String token) {
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/inbox?wait=0"))
        .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).GET().build();
    return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()).handle((resp, failure) -> {
      if (failure != null) {
        unexpected("poll: " + failure);
      } else if (resp.statusCode() == 200) {
        polls.incrementAndGet();
      } else if (isHonest(resp)) {
        honest.incrementAndGet();
      } else {
        unexpected("poll: " + resp.statusCode() + " " + resp.body());
      }
      answered();
      return null;
    });
  }

  private static boolean isHonest(HttpResponse<String> resp) {
    return resp.statusCode() == 503 && resp.headers().firstValue("Retry-After").isPresent();
  }

  private void unexpected(String what) {
    unexpected.incrementAndGet();
    if (unexpectedAnswers.size() < 20) {
      unexpectedAnswers.add(what);
    }
  }

  private void answered() {
    answers.incrementAndGet();
    synchronized (answered) {
      answered.notifyAll();
    }
  }

  /** Waits until {@code counter} reaches {@code target}, or {@code timeout} passed; answers whether it did. */
  boolean awaitCount(AtomicLong counter, long target, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (answered) {
      while (counter.get() < target) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          return false;
        }
        answered.wait(left);
      }
    }
    return true;
  }

  /** Stops the devices after the upload each is on, and waits until they are done. */
  void finish(Duration timeout) throws Exception {
    stopping = true;
    CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Checks that every acknowledged upload reached {@code processed} with its SHA-256 and downloads whole; answers
   * how many did not (lost).
   */
  long verify(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    long lost = 0;
    for (Map.Entry<String, Acked> e : acked.entrySet()) {
      String token = e.getValue().token();
      String sha = e.getValue().sha256();
      JsonObject file;
      while (true) {
        file = file(token, e.getKey());
        String status = file.getString("status");
        if ("processed".equals(status) || "failed".equals(status) || System.nanoTime() > deadline) {
          break;
        }
        synchronized (answered) {
          answered.wait(100); // nothing notifies here: a bounded pause between two looks
        }
      }
      if (!"processed".equals(file.getString("status")) || !sha.equals(file.getString("sha256"))
          || !sha.equals(downloadSha256(token, e.getKey()))) {
        lost++;
        System.out.println("LOST: " + e.getKey() + " expected " + sha + ", found " + file.encode());
      }
    }
    return lost;
  }

  private JsonObject file(String token, String id) throws Exception {
    HttpResponse<String> resp = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/files/" + id))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
    return resp.statusCode() == 200 ? new JsonObject(resp.body()) : new JsonObject().put("http_status", resp.statusCode());
  }

  private String downloadSha256(String token, String id) throws Exception {
    HttpResponse<InputStream> resp = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/files/" + id + "/content"))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = resp.body()) {
      if (resp.statusCode() != 200) {
        return "download answered " + resp.statusCode();
      }
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[64 * 1024];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        md.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      return "download broke: " + e;
    }
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The figures as one line, and the asserts every scenario shares: nothing unexpected, nothing lost. */
  void report(String scenario, String faults, long lost) {
    System.out.printf("%s: %s; %s: %d x 201, %d x 503 + Retry-After, %d inbox polls answered, %d lost, %d other%n",
        scenario, describe(), faults, acknowledged.get(), honest.get(), polls.get(), lost, unexpected.get());
    FaultTable.record(scenario, describe(), faults, acknowledged.get(), lost, unexpected.get());
    assertThat(unexpectedAnswers).as("answers other than 201, 200 or 503 with Retry-After").isEmpty();
    assertThat(lost).as("acknowledged uploads not processed whole").isZero();
    assertThat(acknowledged.get()).as("every upload acknowledged once the faults ended").isEqualTo(uploads());
  }

  record Acked(String sha256, String token) {}
}

package dev.wharf.bench;

import dev.wharf.ingest.IngestQueue;
import dev.wharf.files.Priority;
import dev.wharf.ingest.RedisIngestQueue;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The ingest queue's rate on the embedded Redis: {@code jobs} enqueued by {@code loops} concurrent loops, then
 * drained by {@code loops} concurrent claim-then-complete loops (two {@code EVALSHA} round trips per job), the
 * way ingest workers use it; and {@code redis-benchmark}'s {@code ZADD} rate on the same server as the yardstick.
 */
final class QueueBench {

  private static final Pattern RPS = Pattern.compile("ZADD:\\s*([0-9.]+)\\s+requests per second");

  /** What one run measured. */
  record Result(int jobs, int loops, double enqueuedPerSecond, double completedPerSecond, int completed) {}

  private QueueBench() {}

  /** Enqueues then drains {@code jobs} jobs under its own namespace; blocks the calling thread. */
  static Result run(String redisUri, int jobs, int loops) throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis client = Redis.createClient(vertx, new RedisOptions()
        .setType(RedisClientType.STANDALONE)
        .setConnectionString(redisUri)
        .setMaxPoolSize(16)
        .setMaxPoolWaiting(1024));
    try {
      RedisAPI redis = RedisAPI.api(client);
      String namespace = "bench-" + UUID.randomUUID().toString().substring(0, 8);
      IngestQueue queue = await(RedisIngestQueue.create(vertx, redis, namespace));
      Priority[] priorities = Priority.values();
      AtomicInteger next = new AtomicInteger();
      long t0 = System.nanoTime();
      await(Future.all(repeat(loops, () -> enqueueLoop(queue, next, jobs, priorities))));
      long t1 = System.nanoTime();
      AtomicInteger completed = new AtomicInteger();
      await(Future.all(repeat(loops, () -> drainLoop(queue, completed, jobs))));
      long t2 = System.nanoTime();
      redis.del(List.of("wharf:{" + namespace + "}:ready", "wharf:{" + namespace + "}:delayed",
          "wharf:{" + namespace + "}:leases", "wharf:{" + namespace + "}:owners", "wharf:{" + namespace + "}:prio",
          "wharf:{" + namespace + "}:enqueued"));
      return new Result(jobs, loops, jobs / seconds(t1 - t0), completed.get() / seconds(t2 - t1), completed.get());
    } finally {
      client.close();
      Blocking.await(vertx.close(), java.time.Duration.ofSeconds(30));
    }
  }

  /** Enqueues jobs numbered from {@code next} until {@code jobs} are taken; one round trip at a time. */
  private static Future<Void> enqueueLoop(IngestQueue queue, AtomicInteger next, int jobs, Priority[] priorities) {
    Promise<Void> done = Promise.promise();
    enqueueNext(queue, next, jobs, priorities, done);
    return done.future();
  }

  private static void enqueueNext(IngestQueue queue, AtomicInteger next, int jobs, Priority[] priorities, Promise<Void> done) {
    int n = next.getAndIncrement();
    if (n >= jobs) {
      done.complete();
      return;
    }
    queue.enqueue(UUID.randomUUID().toString(), priorities[n % priorities.length], System.currentTimeMillis())
        .onSuccess(v -> enqueueNext(queue, next, jobs, priorities, done))
        .onFailure(done::fail);
  }

  /** Claims and completes until a claim finds nothing, at most {@code rounds} times. */
  private static Future<Void> drainLoop(IngestQueue queue, AtomicInteger completed, int rounds) {
    Promise<Void> done = Promise.promise();
    drainNext(queue, completed, rounds, done);
    return done.future();
  }

  private static void drainNext(IngestQueue queue, AtomicInteger completed, int roundsLeft, Promise<Void> done) {
    if (roundsLeft == 0) {
      done.complete();
      return;
    }
    queue.claim(Duration.ofSeconds(60))
        .compose(lease -> lease.isEmpty()
            ? Future.succeededFuture(false)
            : queue.complete(lease.get()).map(held -> {
              if (!held) {
                throw new IllegalStateException("lease lost for " + lease.get().jobId());
              }
              completed.incrementAndGet();
              return true;
            }))
        .onSuccess(more -> {
          if (more) {
            drainNext(queue, completed, roundsLeft - 1, done);
          } else {
            done.complete();
          }
        })
        .onFailure(done::fail);
  }

  /**
   * {@code redis-benchmark -h 127.0.0.1 -p PORT -t zadd -n N -c C -q}: the ZADD requests per second, or -1 when
   * {@code redis-benchmark} is not on the PATH. Output goes to {@code log}.
   */
  static double zaddRate(int port, int requests, int clients, Path log) throws IOException, InterruptedException {
    List<String> command = List.of("redis-benchmark", "-h", "127.0.0.1", "-p", Integer.toString(port), "-t", "zadd",
        "-n", Integer.toString(requests), "-c", Integer.toString(clients), "-q");
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException notInstalled) {
      return -1;
    }
    StringBuilder output = new StringBuilder();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        output.append(line).append('\n');
      }
    }
    if (!process.waitFor(5, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new IOException("redis-benchmark did not finish within 5 minutes");
    }
    Files.writeString(log, String.join(" ", command) + "\n" + output);
    // -q rewrites its progress line with carriage returns; the last ZADD figure is the result.
    Matcher m = RPS.matcher(output.toString().replace('\r', '\n'));
    double rate = -1;
    while (m.find()) {
      rate = Double.parseDouble(m.group(1));
    }
    if (rate < 0) {
      throw new IOException("no ZADD rate in redis-benchmark's output; see " + log);
    }
    return rate;
  }

  private static <T> List<Future<T>> repeat(int n, java.util.function.Supplier<Future<T>> start) {
    List<Future<T>> all = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      all.add(start.get());
    }
    return all;
  }

  private static <T> T await(Future<T> future) throws Exception {
    return Blocking.await(future, java.time.Duration.ofMinutes(10));
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }
}

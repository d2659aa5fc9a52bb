package dev.wharf.bench;

import dev.wharf.devstack.EmbeddedServers;
import dev.wharf.ingest.IngestQueue;
import dev.wharf.ingest.LeaseBatches;
import dev.wharf.files.Priority;
import dev.wharf.ingest.RedisIngestQueue;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * The issue-11 queue benchmark ({@code ./bench/run.sh queue}), side by side on one Redis and one s3proxy:
 *
 * <ol>
 *   <li>BullMQ's no-op rate: {@code bench/bullmq/noop.cjs} under node, N jobs added in bulk, then one Worker
 *       with concurrency C whose processor does nothing;
 *   <li>Wharf's queue alone: the same N jobs enqueued, then drained claim + complete with no work, through the
 *       {@link IngestQueue} API with the same concurrency C, the way an {@code IngestWorker} uses it;
 *   <li>presigned GETs of tiny objects straight from s3proxy (16 connections), against ingest jobs/s of M tiny
 *       uploads drained by the real {@code IngestWorker} of a {@code wharf serve} child (S3 read, inspection,
 *       PostgreSQL commit).
 * </ol>
 */
final class IngestBench {

  /** Everything one run measured. */
  record Result(double bullmqPerSecond, double wharfPerSecond, int wharfCompleted, double presignedGetsPerSecond,
      double ingestPerSecond, int ingestJobs, int ingestSucceeded, double ingestSeconds, double uploadsPerSecond,
      double attemptMillis) {}

  /** The settings of a run. */
  record Settings(int queueJobs, int concurrency, int claimBatch, int files, int fileBytes, int getConnections, int getSeconds,
      int ingestWorkers, int ingestConcurrency, Map<String, String> gatewayExtra) {}

  private final EmbeddedServers servers;
  private final Path jar;
  private final Path outDir;
  private final Settings settings;
  private final PrintStream log;

  IngestBench(EmbeddedServers servers, Path jar, Path outDir, Settings settings, PrintStream log) {
    this.servers = servers;
    this.jar = jar;
    this.outDir = outDir;
    this.settings = settings;
    this.log = log;
  }

  Result run() throws Exception {
    log.printf(Locale.ROOT, "(a) BullMQ no-op: %d jobs, concurrency %d%n", settings.queueJobs(), settings.concurrency());
    double bullmq = bullmq();
    log.printf(Locale.ROOT, "  BullMQ: %.0f jobs/s%n", bullmq);
    log.printf(Locale.ROOT, "(b) Wharf queue alone, claim + complete no-op: %d jobs, concurrency %d%n", settings.queueJobs(),
        settings.concurrency());
    long[] wharf = wharfNoop();
    double wharfRate = wharf[0] / (wharf[1] / 1e9);
    log.printf(Locale.ROOT, "  Wharf queue: %.0f jobs/s (%d completed)%n", wharfRate, wharf[0]);

    log.printf(Locale.ROOT, "(c) presigned GETs of %d-byte objects, %d connections, %d s%n", settings.fileBytes(),
        settings.getConnections(), settings.getSeconds());
    double gets = presignedGets();
    log.printf(Locale.ROOT, "  presigned GETs: %.0f /s%n", gets);
    log.printf(Locale.ROOT, "(c) ingest of %d uploads of %d bytes: ingest.workers %d, ingest.concurrency %d%n", settings.files(),
        settings.fileBytes(), settings.ingestWorkers(), settings.ingestConcurrency());
    double[] ingest = ingest();
    return new Result(bullmq, wharfRate, (int) wharf[0], gets, ingest[0], (int) ingest[1], (int) ingest[2], ingest[3], ingest[4], ingest[5]);
  }

  /** Runs the node script; answers BullMQ's completed jobs per second. */
  private double bullmq() throws IOException, InterruptedException {
    Path prefix = Path.of("bench/target/bullmq");
    if (!Files.isDirectory(prefix.resolve("node_modules/bullmq"))) {
      throw new IOException("bullmq is not installed in " + prefix + " (./bench/run.sh queue installs it: npm install --prefix "
          + prefix + " bullmq@5)");
    }
    List<String> command = List.of("node", "bench/bullmq/noop.cjs", prefix.toString(), Integer.toString(servers.redisPort()),
        Integer.toString(settings.queueJobs()), Integer.toString(settings.concurrency()));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String last = null;
    StringBuilder output = new StringBuilder();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        output.append(line).append('\n');
        if (line.startsWith("{")) {
          last = line;
        }
      }
    }
    if (!process.waitFor(10, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new IOException("the BullMQ script did not finish within 10 minutes");
    }
    Files.writeString(outDir.resolve("bullmq.txt"), String.join(" ", command) + "\n" + output);
    if (process.exitValue() != 0 || last == null) {
      throw new IOException("the BullMQ script failed (exit " + process.exitValue() + "); see " + outDir.resolve("bullmq.txt"));
    }
    JsonObject result = new JsonObject(last);
    if (result.getInteger("completed") != settings.queueJobs()) {
      throw new IOException("BullMQ completed " + result.getInteger("completed") + " of " + settings.queueJobs() + " jobs");
    }
    return result.getDouble("perSecond");
  }

  /**
   * Enqueues the jobs (not timed), then drains them with {@code concurrency} jobs in flight, each claimed and
   * completed with no work between. Answers {completed, nanos}.
   */
  private long[] wharfNoop() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis client = Redis.createClient(vertx, new RedisOptions()
        .setType(RedisClientType.STANDALONE)
        .setConnectionString(servers.redisUri())
        .setMaxPoolSize(16)
        .setMaxPoolWaiting(4096));
    try {
      RedisAPI redis = RedisAPI.api(client);
      String namespace = "bench-" + UUID.randomUUID().toString().substring(0, 8);
      IngestQueue queue = await(RedisIngestQueue.create(vertx, redis, namespace));
      Priority[] priorities = Priority.values();
      List<Future<Void>> adds = new ArrayList<>();
      long now = System.currentTimeMillis();
      for (int i = 0; i < settings.queueJobs(); i++) {
        adds.add(queue.enqueue(UUID.randomUUID().toString(), priorities[i % priorities.length], now + i));
        if (adds.size() == 1000) {
          await(Future.all(adds));
          adds.clear();
        }
      }
      await(Future.all(adds));
      AtomicInteger completed = new AtomicInteger();
      long t0 = System.nanoTime();
      Promise<Void> done = Promise.promise();
      vertx.runOnContext(v -> new NoopDrain(queue, settings.concurrency(), settings.claimBatch(), completed, done).start());
      await(done.future());
      long nanos = System.nanoTime() - t0;
      IngestQueue.QueueStats left = await(queue.stats());
      if (left.leased() != 0 || java.util.Arrays.stream(left.ready()).sum() != 0) {
        throw new IllegalStateException("the drain left jobs behind: " + java.util.Arrays.toString(left.ready()) + " ready, "
            + left.leased() + " leased");
      }
      List<String> keys = new ArrayList<>();
      for (String key : List.of("ready", "delayed", "leases", "owners", "prio", "enqueued")) {
        keys.add("wharf:{" + namespace + "}:" + key);
      }
      await(redis.del(keys));
      return new long[] {completed.get(), nanos};
    } finally {
      client.close();
      Blocking.await(vertx.close(), Duration.ofSeconds(30));
    }
  }

  /**
   * An ingest worker's use of the queue with the work taken out: up to {@code concurrency} jobs held at once,
   * claimed up to {@code claimBatch} per round trip into the free slots, each completed at once through
   * {@link LeaseBatches} (completions made while one is in flight go out together); done when the queue is
   * empty and no job is held. Runs on one event loop, like one worker verticle.
   */
  private static final class NoopDrain {
    private final IngestQueue queue;
    private final int concurrency;
    private final int claimBatch;
    private final AtomicInteger completed;
    private final Promise<Void> done;
    private final LeaseBatches leaseCalls;
    private int held;
    private boolean claiming;
    private boolean empty;

    NoopDrain(IngestQueue queue, int concurrency, int claimBatch, AtomicInteger completed, Promise<Void> done) {
      this.queue = queue;
      this.concurrency = concurrency;
      this.claimBatch = claimBatch;
      this.completed = completed;
      this.done = done;
      this.leaseCalls = new LeaseBatches(queue, Duration.ofSeconds(60));
    }

    void start() {
      fill();
    }

    private void fill() {
      int free = concurrency - held;
      if (claiming || free <= 0) {
        return;
      }
      if (empty) {
        if (held == 0) {
          done.tryComplete();
        }
        return;
      }
      claiming = true;
      int wanted = Math.min(free, claimBatch);
      queue.claim(Duration.ofSeconds(60), wanted).onComplete(ar -> {
        claiming = false;
        if (ar.failed()) {
          done.tryFail(ar.cause());
          return;
        }
        List<IngestQueue.Lease> leases = ar.result().leases();
        empty = leases.isEmpty();
        held += leases.size();
        for (IngestQueue.Lease lease : leases) {
          leaseCalls.complete(lease).onComplete(c -> {
            held--;
            if (c.failed() || !c.result()) {
              done.tryFail(c.failed() ? c.cause() : new IllegalStateException("lease lost for " + lease.jobId()));
              return;
            }
            completed.incrementAndGet();
            fill();
          });
        }
        fill();
      });
    }
  }

  /** Presigned GETs of tiny objects from s3proxy, {@code getConnections} loops for {@code getSeconds}; answers GETs/s. */
  private double presignedGets() throws Exception {
    byte[] body = new byte[settings.fileBytes()];
    new java.util.Random(11).nextBytes(body);
    int objects = 64;
    List<String> urls = new ArrayList<>();
    try (DirectS3 direct = new DirectS3(servers, 8 << 20);
        S3Presigner presigner = S3Presigner.builder()
            .region(Region.US_EAST_1)
            .credentialsProvider(StaticCredentialsProvider.create(
                AwsBasicCredentials.create(EmbeddedServers.S3_ACCESS_KEY, EmbeddedServers.S3_SECRET_KEY)))
            .endpointOverride(URI.create(servers.s3Endpoint()))
            .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
            .build()) {
      for (int i = 0; i < objects; i++) {
        String key = "bench/tiny-get-" + i;
        direct.putBytes(key, body);
        urls.add(presigner.presignGetObject(p -> p.signatureDuration(Duration.ofHours(1))
            .getObjectRequest(g -> g.bucket(EmbeddedServers.S3_BUCKET).key(key))).url().toString());
      }
      Vertx vertx = Vertx.vertx();
      HttpClientAgent http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
          new PoolOptions().setHttp1MaxSize(settings.getConnections()));
      try {
        runGets(vertx, http, urls, 1, body.length);
        long[] counted = runGets(vertx, http, urls, settings.getSeconds(), body.length);
        return counted[0] / (counted[1] / 1e9);
      } finally {
        http.close();
        Blocking.await(vertx.close(), Duration.ofSeconds(30));
        for (int i = 0; i < objects; i++) {
          direct.delete("bench/tiny-get-" + i);
        }
      }
    }
  }

  /** GETs for {@code seconds} from {@code getConnections} loops; answers {GETs, nanos}. Every body's size is checked. */
  private long[] runGets(Vertx vertx, HttpClientAgent http, List<String> urls, int seconds, int size) throws Exception {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    AtomicLong count = new AtomicLong();
    AtomicInteger next = new AtomicInteger();
    List<Future<Void>> loops = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < settings.getConnections(); i++) {
      Promise<Void> loop = Promise.promise();
      loops.add(loop.future());
      vertx.runOnContext(v -> getLoop(http, urls, next, count, deadline, size, loop));
    }
    await(Future.all(loops));
    return new long[] {count.get(), System.nanoTime() - t0};
  }

  private static void getLoop(HttpClientAgent http, List<String> urls, AtomicInteger next, AtomicLong count, long deadline, int size,
      Promise<Void> loop) {
    if (System.nanoTime() >= deadline) {
      loop.tryComplete();
      return;
    }
    String url = urls.get(Math.floorMod(next.getAndIncrement(), urls.size()));
    http.request(new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url))
        .compose(req -> req.send().compose(resp -> {
          if (resp.statusCode() != 200) {
            return resp.body().compose(b -> Future.failedFuture("presigned GET answered " + resp.statusCode() + ": " + b));
          }
          return resp.body();
        }))
        .onSuccess(b -> {
          if (b.length() != size) {
            loop.tryFail("presigned GET returned " + b.length() + " bytes, not " + size);
            return;
          }
          count.incrementAndGet();
          getLoop(http, urls, next, count, deadline, size, loop);
        })
        .onFailure(loop::tryFail);
  }

  /**
   * Uploads the tiny files through a gateway without workers, stops it, starts one with workers and waits until
   * PostgreSQL shows every job ended. The rate is jobs / (last finished_at − first started_at), on PostgreSQL's
   * clock, so the child's start-up is not counted. Answers {jobs/s, jobs, succeeded, seconds, uploads/s, mean attempt ms}.
   */
  private double[] ingest() throws Exception {
    GeneratedBytes bytes = new GeneratedBytes(5);
    int files = settings.files();
    double uploadsPerSecond;
    try (GatewayProcess uploader = GatewayProcess.start(jar, "256m", servers, Map.of(), outDir.resolve("gateway-queue-upload.log"))) {
      uploader.createDevice();
      ExecutorService clients = Executors.newFixedThreadPool(16);
      try {
        AtomicInteger failures = new AtomicInteger();
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < files; i++) {
          String name = "tiny-" + i + ".bin";
          sent.add(clients.submit(() -> {
            try {
              uploader.upload(bytes, settings.fileBytes(), name);
            } catch (Exception e) {
              if (failures.incrementAndGet() == 1) {
                log.println("  upload failed: " + e.getMessage());
              }
            }
          }));
        }
        for (java.util.concurrent.Future<?> f : sent) {
          f.get(10, TimeUnit.MINUTES);
        }
        uploadsPerSecond = files / ((System.nanoTime() - t0) / 1e9);
        if (failures.get() > 0) {
          throw new IOException(failures.get() + " of " + files + " uploads failed");
        }
      } finally {
        clients.shutdownNow();
      }
    }
    log.printf(Locale.ROOT, "  %d uploads through a gateway without workers: %.0f /s; now draining them%n", files, uploadsPerSecond);
    Vertx vertx = Vertx.vertx();
    Pool pg = PgBuilder.pool().with(new io.vertx.sqlclient.PoolOptions().setMaxSize(1))
        .connectingTo(new PgConnectOptions().setHost(servers.postgresHost()).setPort(servers.postgresPort())
            .setUser(servers.postgresUser()).setDatabase(servers.postgresDatabase()))
        .using(vertx).build();
    Map<String, String> env = new java.util.HashMap<>(settings.gatewayExtra());
    env.put("WHARF_INGEST_WORKERS", Integer.toString(settings.ingestWorkers()));
    env.put("WHARF_INGEST_CONCURRENCY", Integer.toString(settings.ingestConcurrency()));
    env.put("WHARF_INGEST_CLAIM_BATCH", Integer.toString(settings.claimBatch()));
    try (GatewayProcess worker = GatewayProcess.start(jar, "256m", servers, env, outDir.resolve("gateway-queue-ingest.log"))) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      Row row;
      while (true) {
        row = Blocking.await(pg.query("SELECT count(*) AS total, count(*) FILTER (WHERE status IN ('succeeded', 'dead', 'cancelled')) AS ended, "
                + "count(*) FILTER (WHERE status = 'succeeded') AS succeeded, "
                + "EXTRACT(EPOCH FROM max(finished_at) - min(started_at))::float8 AS span, "
                + "(avg(EXTRACT(EPOCH FROM finished_at - started_at)) * 1000)::float8 AS attempt_ms FROM ingest_jobs").execute(),
            Duration.ofSeconds(30)).iterator().next();
        if (row.getLong("ended") >= files) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new IOException("only " + row.getLong("ended") + " of " + files + " jobs ended within 10 minutes");
        }
        Thread.sleep(100); // the benchmark driver's own thread, polling PostgreSQL with a deadline
      }
      double span = row.getDouble("span");
      return new double[] {row.getLong("ended") / span, row.getLong("ended"), row.getLong("succeeded"), span, uploadsPerSecond,
          row.getDouble("attempt_ms")};
    } finally {
      pg.close();
      Blocking.await(vertx.close(), Duration.ofSeconds(30));
    }
  }

  private static <T> T await(Future<T> future) throws Exception {
    return Blocking.await(future, Duration.ofMinutes(10));
  }
}

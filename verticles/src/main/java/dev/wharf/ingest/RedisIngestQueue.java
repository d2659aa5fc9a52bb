package dev.wharf.ingest;

import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import dev.wharf.files.Priority;
import dev.wharf.loop.TurnBatches;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The {@link IngestQueue} in Redis, every mutation one Lua script run with {@code EVALSHA}.
 *
 * <p>Key layout, all under one hash tag so the keys share a Redis Cluster slot:
 *
 * <ul>
 *   <li>{@code wharf:{ns}:ready}: sorted set, score = {@code band * 1e13 + enqueuedAtMillis};
 *   <li>{@code wharf:{ns}:delayed}: sorted set, score = due time (ms, Redis server time);
 *   <li>{@code wharf:{ns}:leases}: sorted set, score = lease expiry (ms, Redis server time);
 *   <li>{@code wharf:{ns}:owners}: hash, job id → token of the live lease;
 *   <li>{@code wharf:{ns}:prio} and {@code wharf:{ns}:enqueued}: hashes, job id → band and enqueue time,
 *       so a retried or expired job goes back to {@code ready} at its original place.
 * </ul>
 *
 * <p>A claim first promotes due delayed jobs and expired leases (at most {@value #PROMOTE_BATCH} of each
 * per claim), clearing an expired lease's token: its old holder's {@link #extend}, {@link #complete} and
 * {@link #retryLater} then return false. A claim takes up to N ready jobs in one script run, each under
 * its own token; completions and extensions of many leases are one script run each, every lease checked
 * against its own token. When a job becomes ready (enqueue, reconcile, a lease handed back with no delay) a
 * notice is published on the event bus at {@link #readyAddress()}, so idle workers need not poll fast; notices are
 * coalesced to at most one per {@value ReadyNotices#WINDOW_MS} ms, each sent after every job it announces. Due and expiry times use Redis {@code TIME}, so replicas with
 * skewed clocks agree. Every Redis failure surfaces as {@link ServerException#unavailable} for
 * {@code "redis"}. The enqueues one event loop makes in a turn share one script run ({@link TurnBatches}). Safe to
 * share between verticle instances: its mutable state is the notices' one atomic integer and each event loop's own
 * batch of enqueues.
 */
public final class RedisIngestQueue implements IngestQueue {

  /** Namespace of the production queue: keys {@code wharf:{ingest}:…}. */
  public static final String DEFAULT_NAMESPACE = "ingest";

  /** Event bus address of the production queue's ready notices (relayed across replicas by the notice relay). */
  public static final String READY_ADDRESS = "wharf.ingest.ready";

  /** Delayed jobs and expired leases promoted to ready per claim, each. */
  static final int PROMOTE_BATCH = 100;

  /** Most enqueues in one script run; a turn with more sends several. */
  static final int ENQUEUE_BATCH = 64;

  /** Jobs checked per enqueue script run when reconciling. */
  static final int RECONCILE_BATCH = 500;

  private static final List<String> SCRIPTS =
      List.of("enqueue", "claim", "extend", "complete", "retry", "remove", "stats");

  private final Vertx vertx;
  private final RedisAPI redis;
  private final Map<String, LuaScript> scripts;
  private final String readyAddress;
  private final String ready;
  private final String delayed;
  private final String leases;
  private final String owners;
  private final String prio;
  private final String enqueued;
  private final ReadyNotices notices;
  private final TurnBatches<QueuedJob, Void> enqueues;

  private RedisIngestQueue(Vertx vertx, RedisAPI redis, String namespace, Map<String, LuaScript> scripts) {
    this.vertx = vertx;
    this.redis = redis;
    this.readyAddress = readyAddress(namespace);
    this.scripts = scripts;
    String prefix = "wharf:{" + namespace + "}:";
    this.ready = prefix + "ready";
    this.delayed = prefix + "delayed";
    this.leases = prefix + "leases";
    this.owners = prefix + "owners";
    this.prio = prefix + "prio";
    this.enqueued = prefix + "enqueued";
    this.notices = new ReadyNotices(vertx, () -> vertx.eventBus().publish(readyAddress, readyNotice()));
    this.enqueues = new TurnBatches<>(ENQUEUE_BATCH, job -> enqueueAll(List.of(job)).mapEmpty(),
        jobs -> enqueueAll(jobs).map(added -> Collections.nCopies(jobs.size(), (Void) null)));
  }

  /**
   * Loads every queue script into Redis ({@code SCRIPT LOAD}) and returns the queue for
   * {@link #DEFAULT_NAMESPACE}.
   */
  public static Future<RedisIngestQueue> create(Vertx vertx, RedisAPI redis) {
    return create(vertx, redis, DEFAULT_NAMESPACE);
  }

  /**
   * Loads every queue script into Redis ({@code SCRIPT LOAD}) and returns the queue whose keys are
   * {@code wharf:{namespace}:…}.
   *
   * @param redis a client over a pooled {@code Redis.createClient}; not closed by the queue
   * @param namespace the hash tag; letters, digits, {@code -} and {@code _} only
   * @return the queue; fails with {@code redis_unavailable} when Redis cannot be reached
   */
  public static Future<RedisIngestQueue> create(Vertx vertx, RedisAPI redis, String namespace) {
    if (namespace == null || !namespace.matches("[A-Za-z0-9_-]+")) {
      throw new IllegalArgumentException("queue namespace must be letters, digits, - or _: " + namespace);
    }
    List<Future<LuaScript>> loads = SCRIPTS.stream().map(name -> LuaScript.load(vertx, redis, name)).toList();
    return Future.all(loads)
        .map(all -> loads.stream()
            .map(Future::result)
            .collect(Collectors.toUnmodifiableMap(LuaScript::name, Function.identity())))
        .map(loaded -> new RedisIngestQueue(vertx, redis, namespace, loaded))
        .recover(RedisIngestQueue::unavailable);
  }

  /** The event bus address of the ready notices of the queue under {@code namespace}. */
  public static String readyAddress(String namespace) {
    return DEFAULT_NAMESPACE.equals(namespace) ? READY_ADDRESS : READY_ADDRESS + "." + namespace;
  }

  @Override
  public String readyAddress() {
    return readyAddress;
  }

  /** The six keys of this queue, for tests and operators. */
  List<String> keys() {
    return List.of(ready, delayed, leases, owners, prio, enqueued);
  }

  /** {@inheritDoc} Publishes a ready notice when the job was added. */
  @Override
  public Future<Void> enqueue(String jobId, Priority priority, long enqueuedAtMillis) {
    return enqueues.submit(new QueuedJob(jobId, priority, enqueuedAtMillis));
  }

  /**
   * One run of the enqueue script for {@code jobs} (the enqueues of one event-loop turn, a single one, or a batch of
   * the reconciler's): how many were added, each unless it was already ready, delayed or leased.
   */
  private Future<Integer> enqueueAll(List<QueuedJob> jobs) {
    List<String> args = new ArrayList<>(jobs.size() * 3);
    for (QueuedJob job : jobs) {
      args.add(job.jobId());
      args.add(Integer.toString(job.priority().band()));
      args.add(Long.toString(job.enqueuedAtMillis()));
    }
    return run("enqueue", List.of(ready, delayed, leases, prio, enqueued), args)
        .map(Response::toInteger)
        .andThen(ar -> {
          if (ar.succeeded() && ar.result() > 0) {
            notifyReady();
          }
        });
  }

  /** Script runs sent for enqueues so far (the enqueues of one event-loop turn share one). */
  long enqueueCalls() {
    return enqueues.calls();
  }

  /**
   * {@inheritDoc} One script run: the tokens are a fresh random prefix plus each job's position in the reply,
   * so every lease has its own token and fencing stays per job.
   */
  @Override
  public Future<Claim> claim(Duration leaseTime, int max) {
    if (max < 1) {
      throw new IllegalArgumentException("a claim takes at least one job: " + max);
    }
    String prefix = UUID.randomUUID().toString();
    return run("claim", List.of(ready, delayed, leases, owners, prio, enqueued),
            List.of(millis(leaseTime), prefix, Integer.toString(PROMOTE_BATCH), Integer.toString(max)))
        .map(reply -> {
          List<Lease> taken = new ArrayList<>((reply.size() - 1) / 2);
          for (int i = 1; i + 1 < reply.size(); i += 2) {
            taken.add(new Lease(reply.get(i).toString(), prefix + ":" + (taken.size() + 1),
                Priority.ofBand(reply.get(i + 1).toInteger())));
          }
          return new Claim(taken, reply.get(0).toLong());
        });
  }

  @Override
  public Future<List<Boolean>> extend(List<Lease> leases, Duration leaseTime) {
    if (leases.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    List<String> args = new ArrayList<>(1 + leases.size() * 2);
    args.add(millis(leaseTime));
    addLeases(args, leases);
    return run("extend", List.of(this.leases, owners), args).map(RedisIngestQueue::flags);
  }

  @Override
  public Future<List<Boolean>> complete(List<Lease> leases) {
    if (leases.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    List<String> args = new ArrayList<>(leases.size() * 2);
    addLeases(args, leases);
    return run("complete", List.of(this.leases, owners, prio, enqueued), args).map(RedisIngestQueue::flags);
  }

  /** {@inheritDoc} A job handed back with no delay is ready at once: a ready notice goes out. */
  @Override
  public Future<Boolean> retryLater(Lease lease, Duration delay) {
    return run("retry", List.of(leases, owners, delayed), List.of(lease.jobId(), lease.token(), millis(delay)))
        .map(RedisIngestQueue::isOne)
        .andThen(ar -> {
          if (ar.succeeded() && ar.result() && delay.isZero()) {
            notifyReady();
          }
        });
  }

  @Override
  public Future<Void> remove(String jobId) {
    return run("remove", List.of(ready, delayed, leases, owners, prio, enqueued), List.of(jobId)).mapEmpty();
  }

  /** {@inheritDoc} Checks {@value #RECONCILE_BATCH} jobs per script call, one call after the other. */
  @Override
  public Future<Integer> reconcile(List<QueuedJob> jobs) {
    Future<Integer> total = Future.succeededFuture(0);
    for (int from = 0; from < jobs.size(); from += RECONCILE_BATCH) {
      List<QueuedJob> batch = jobs.subList(from, Math.min(jobs.size(), from + RECONCILE_BATCH));
      total = total.compose(sum -> enqueueAll(batch).map(added -> sum + added));
    }
    return total;
  }

  @Override
  public Future<QueueStats> stats() {
    int bands = Priority.values().length;
    return run("stats", List.of(ready, delayed, leases), List.of(Integer.toString(bands)))
        .map(reply -> {
          long[] readyPerBand = new long[bands];
          for (int band = 0; band < bands; band++) {
            readyPerBand[band] = reply.get(band).toLong();
          }
          return new QueueStats(readyPerBand, reply.get(bands).toLong(), reply.get(bands + 1).toLong());
        });
  }

  private Future<Response> run(String script, List<String> keys, List<String> args) {
    return scripts.get(script).call(redis, keys, args).recover(RedisIngestQueue::unavailable);
  }

  private static <T> Future<T> unavailable(Throwable err) {
    return Future.failedFuture(err instanceof WharfException ? err : ServerException.unavailable("redis", err));
  }

  private void notifyReady() {
    notices.request();
  }

  /** Ready notices sent so far (coalesced: see {@link ReadyNotices}). */
  long readyNoticesSent() {
    return notices.sent();
  }

  private static void addLeases(List<String> args, List<Lease> leases) {
    for (Lease lease : leases) {
      args.add(lease.jobId());
      args.add(lease.token());
    }
  }

  private static List<Boolean> flags(Response reply) {
    List<Boolean> out = new ArrayList<>(reply.size());
    for (int i = 0; i < reply.size(); i++) {
      out.add(reply.get(i).toInteger() == 1);
    }
    return out;
  }

  private static boolean isOne(Response reply) {
    return reply != null && reply.toInteger() == 1;
  }

  private static String millis(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("duration must not be negative: " + duration);
    }
    return Long.toString(duration.toMillis());
  }
}

package dev.wharf.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.devstack.EmbeddedServers;
import dev.wharf.error.ServerException;
import dev.wharf.files.Priority;
import dev.wharf.ingest.IngestQueue.Lease;
import dev.wharf.ingest.IngestQueue.QueueStats;
import dev.wharf.ingest.IngestQueue.QueuedJob;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisOptions;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
@Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
class RedisIngestQueueTest {

  private static final Duration LEASE = Duration.ofSeconds(30);
  private static final Duration SHORT_LEASE = Duration.ofMillis(200);

  private static EmbeddedServers servers;

  private Redis client;
  private RedisAPI redis;
  private RedisIngestQueue queue;

  @BeforeAll
  static void startServers() {
    servers = EmbeddedServers.shared();
  }

  @BeforeEach
  void connect(Vertx vertx, VertxTestContext ctx) {
    client = Redis.createClient(vertx, new RedisOptions().setConnectionString(servers.redisUri()).setMaxPoolSize(4));
    redis = RedisAPI.api(client);
    RedisIngestQueue.create(vertx, redis, "test-" + UUID.randomUUID())
        .onComplete(ctx.succeeding(created -> {
          queue = created;
          ctx.completeNow();
        }));
  }

  @AfterEach
  void dropKeys(VertxTestContext ctx) {
    redis.del(queue.keys()).eventually(client::close).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void urgentJobEnqueuedLaterIsClaimedBeforeLowJob(VertxTestContext ctx) {
    queue.enqueue("low", Priority.LOW, 1_000)
        .compose(v -> queue.enqueue("urgent", Priority.URGENT, 2_000))
        .compose(v -> claimIds(2))
        .onComplete(ctx.succeeding(ids -> ctx.verify(() -> {
          assertThat(ids).containsExactly("urgent", "low");
          ctx.completeNow();
        })));
  }

  @Test
  void bandsAreClaimedInPriorityOrder(VertxTestContext ctx) {
    queue.enqueue("low", Priority.LOW, 1_000)
        .compose(v -> queue.enqueue("normal", Priority.NORMAL, 2_000))
        .compose(v -> queue.enqueue("high", Priority.HIGH, 3_000))
        .compose(v -> queue.enqueue("urgent", Priority.URGENT, 4_000))
        .compose(v -> claimAll(5))
        .onComplete(ctx.succeeding(leases -> ctx.verify(() -> {
          assertThat(leases).extracting(Lease::jobId).containsExactly("urgent", "high", "normal", "low");
          assertThat(leases).extracting(Lease::priority)
              .containsExactly(Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW);
          ctx.completeNow();
        })));
  }

  @Test
  void jobsWithinABandAreClaimedFirstInFirstOut(VertxTestContext ctx) {
    long now = System.currentTimeMillis();
    queue.enqueue("second", Priority.NORMAL, now + 1)
        .compose(v -> queue.enqueue("first", Priority.NORMAL, now))
        .compose(v -> queue.enqueue("third", Priority.NORMAL, now + 2))
        .compose(v -> claimIds(4))
        .onComplete(ctx.succeeding(ids -> ctx.verify(() -> {
          assertThat(ids).containsExactly("first", "second", "third");
          ctx.completeNow();
        })));
  }

  @Test
  void enqueuesOfOneEventLoopTurnShareOneScriptRunAndKeepTheirOrder(Vertx vertx, VertxTestContext ctx) {
    queue.enqueue("already", Priority.NORMAL, 500)
        .compose(v -> {
          long callsBefore = queue.enqueueCalls();
          io.vertx.core.Promise<List<Future<Void>>> turn = io.vertx.core.Promise.promise();
          vertx.runOnContext(x -> {
            List<Future<Void>> all = new ArrayList<>();
            all.add(queue.enqueue("low", Priority.LOW, 1_000));
            for (int i = 0; i < 5; i++) {
              all.add(queue.enqueue("normal-" + i, Priority.NORMAL, 2_000 + i));
            }
            all.add(queue.enqueue("already", Priority.URGENT, 3_000));
            all.add(queue.enqueue("urgent", Priority.URGENT, 4_000));
            turn.complete(all);
          });
          return turn.future()
              .compose(all -> Future.all(all))
              .map(v2 -> queue.enqueueCalls() - callsBefore);
        })
        .compose(calls -> claimIds(10).map(ids -> Map.entry(calls, ids)))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertThat(r.getKey()).as("script runs for the turn's eight enqueues").isEqualTo(1);
          // "already" was queued before the turn: it keeps its place and band, not the turn's URGENT.
          assertThat(r.getValue()).containsExactly("urgent", "already", "normal-0", "normal-1", "normal-2", "normal-3",
              "normal-4", "low");
          ctx.completeNow();
        })));
  }

  @Test
  void enqueueTwiceIsClaimedOnce(VertxTestContext ctx) {
    queue.enqueue("job", Priority.NORMAL, 1_000)
        .compose(v -> queue.enqueue("job", Priority.URGENT, 2_000))
        .compose(v -> claimAll(2))
        .onComplete(ctx.succeeding(leases -> ctx.verify(() -> {
          assertThat(leases).extracting(Lease::jobId).containsExactly("job");
          assertThat(leases).extracting(Lease::priority).as("band of the first enqueue")
              .containsExactly(Priority.NORMAL);
          ctx.completeNow();
        })));
  }

  @Test
  void enqueueDoesNotReaddALeasedJob(VertxTestContext ctx) {
    queue.enqueue("job", Priority.NORMAL, 1_000)
        .compose(v -> queue.claim(LEASE))
        .compose(lease -> queue.enqueue("job", Priority.NORMAL, 1_000)
            .compose(v -> queue.claim(LEASE))
            .compose(again -> queue.complete(lease.orElseThrow()).map(completed -> List.of(again, completed))))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).isEqualTo(Optional.empty());
          assertThat(results.get(1)).isEqualTo(true);
          ctx.completeNow();
        })));
  }

  @Test
  void expiredLeaseRerunsTheJobUnderANewToken(Vertx vertx, VertxTestContext ctx) {
    queue.enqueue("job", Priority.HIGH, 1_000)
        .compose(v -> queue.claim(SHORT_LEASE))
        .map(Optional::orElseThrow)
        .compose(old -> awaitClaim(vertx, LEASE)
            .compose(fresh -> Future.all(
                    queue.complete(old), queue.extend(old, LEASE), queue.retryLater(old, Duration.ZERO))
                .map(lost -> List.<Object>of(old, fresh, lost.resultAt(0), lost.resultAt(1), lost.resultAt(2)))))
        .compose(results -> queue.complete((Lease) results.get(1)).map(done -> {
          List<Object> all = new ArrayList<>(results);
          all.add(done);
          return all;
        }))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          Lease old = (Lease) results.get(0);
          Lease fresh = (Lease) results.get(1);
          assertThat(fresh.jobId()).isEqualTo("job");
          assertThat(fresh.priority()).isEqualTo(Priority.HIGH);
          assertThat(fresh.token()).isNotEqualTo(old.token());
          assertThat(results.subList(2, 5)).as("complete, extend, retryLater with the lost lease")
              .containsExactly(false, false, false);
          assertThat(results.get(5)).as("complete with the new lease").isEqualTo(true);
          ctx.completeNow();
        })));
  }

  @Test
  void completeWithTheLiveTokenRemovesTheJob(Vertx vertx, VertxTestContext ctx) {
    queue.enqueue("job", Priority.NORMAL, 1_000)
        .compose(v -> queue.claim(SHORT_LEASE))
        .map(Optional::orElseThrow)
        .compose(lease -> queue.complete(lease)
            .compose(done -> queue.complete(lease).map(again -> List.of(done, again))))
        .compose(results -> vertx.timer(400).compose(v -> queue.claim(LEASE))
            .compose(afterExpiry -> queue.stats().map(stats -> List.of(results, afterExpiry, stats))))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).as("complete, then complete again").isEqualTo(List.of(true, false));
          assertThat(results.get(1)).as("claim after the lease would have expired").isEqualTo(Optional.empty());
          assertStats((QueueStats) results.get(2), new long[] {0, 0, 0, 0}, 0, 0);
          ctx.completeNow();
        })));
  }

  @Test
  void extendKeepsTheJobLeasedPastItsOriginalExpiry(Vertx vertx, VertxTestContext ctx) {
    queue.enqueue("job", Priority.NORMAL, 1_000)
        .compose(v -> queue.claim(SHORT_LEASE))
        .map(Optional::orElseThrow)
        .compose(lease -> queue.extend(lease, LEASE)
            .compose(extended -> vertx.timer(SHORT_LEASE.toMillis() * 3).compose(v -> queue.claim(LEASE))
                .compose(other -> queue.complete(lease).map(done -> List.of(extended, other, done)))))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).as("extend").isEqualTo(true);
          assertThat(results.get(1)).as("claim past the original expiry").isEqualTo(Optional.empty());
          assertThat(results.get(2)).as("complete with the extended lease").isEqualTo(true);
          ctx.completeNow();
        })));
  }

  @Test
  void retriedJobIsNotClaimableBeforeItIsDue(Vertx vertx, VertxTestContext ctx) {
    Duration delay = Duration.ofMillis(1500);
    String delayedKey = queue.keys().get(1);
    long[] redisNow = new long[2];
    queue.enqueue("job", Priority.LOW, 1_000)
        .compose(v -> queue.claim(LEASE))
        .map(Optional::orElseThrow)
        .compose(lease -> redisMillis().compose(before -> {
          redisNow[0] = before;
          return queue.retryLater(lease, delay);
        }))
        .compose(retried -> redisMillis().compose(after -> {
          redisNow[1] = after;
          return redis.zscore(delayedKey, "job");
        }).compose(dueAt -> queue.claim(LEASE).compose(early -> queue.stats()
            .compose(stats -> awaitClaim(vertx, LEASE).map(due -> List.of(retried, early, stats, due, dueAt.toLong()))))))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).as("retryLater").isEqualTo(true);
          assertThat((long) results.get(4)).as("due time recorded in the delayed set, on Redis's clock")
              .isBetween(redisNow[0] + delay.toMillis(), redisNow[1] + delay.toMillis());
          assertThat(results.get(1)).as("claim before due").isEqualTo(Optional.empty());
          assertStats((QueueStats) results.get(2), new long[] {0, 0, 0, 0}, 1, 0);
          Lease due = (Lease) results.get(3);
          assertThat(due.jobId()).isEqualTo("job");
          assertThat(due.priority()).isEqualTo(Priority.LOW);
          ctx.completeNow();
        })));
  }

  /** Redis's own clock in milliseconds, the clock the queue's scripts schedule by. */
  private Future<Long> redisMillis() {
    return redis.time().map(t -> t.get(0).toLong() * 1000 + t.get(1).toLong() / 1000);
  }

  @Test
  void removeDropsTheJobWhereverItIs(VertxTestContext ctx) {
    queue.enqueue("ready", Priority.NORMAL, 1_000)
        .compose(v -> queue.enqueue("leased", Priority.URGENT, 1_000))
        .compose(v -> queue.enqueue("delayed", Priority.URGENT, 2_000))
        .compose(v -> claimAll(2))
        .compose(leases -> queue.retryLater(leases.get(1), Duration.ofMinutes(5))
            .compose(v -> Future.all(queue.remove("ready"), queue.remove("leased"), queue.remove("delayed")))
            .compose(v -> queue.complete(leases.get(0)))
            .compose(completed -> queue.stats().map(stats -> List.of(completed, stats))))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).as("complete of a removed job").isEqualTo(false);
          assertStats((QueueStats) results.get(1), new long[] {0, 0, 0, 0}, 0, 0);
          ctx.completeNow();
        })));
  }

  @Test
  void reconcileRestoresLostKeysInPriorityOrder(VertxTestContext ctx) {
    List<QueuedJob> jobs = List.of(
        new QueuedJob("n1", Priority.NORMAL, 1_000),
        new QueuedJob("n2", Priority.NORMAL, 2_000),
        new QueuedJob("l1", Priority.LOW, 500),
        new QueuedJob("u1", Priority.URGENT, 3_000),
        new QueuedJob("h1", Priority.HIGH, 4_000),
        new QueuedJob("u2", Priority.URGENT, 5_000));
    List<QueuedJob> shuffled = new ArrayList<>(jobs);
    Collections.shuffle(shuffled, new Random(7));
    Future.all(jobs.stream().map(j -> queue.enqueue(j.jobId(), j.priority(), j.enqueuedAtMillis())).toList())
        .compose(v -> redis.del(queue.keys()))
        .compose(v -> queue.reconcile(shuffled))
        .compose(added -> queue.reconcile(shuffled)
            .compose(again -> claimIds(jobs.size() + 1).map(ids -> List.of(added, again, ids))))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).as("added after the flush").isEqualTo(6);
          assertThat(results.get(1)).as("added when all are present").isEqualTo(0);
          assertThat(results.get(2)).isEqualTo(List.of("u1", "u2", "h1", "n1", "n2", "l1"));
          ctx.completeNow();
        })));
  }

  @Test
  void reconcileAddsNothingForReadyDelayedOrLeasedJobs(VertxTestContext ctx) {
    List<QueuedJob> jobs = List.of(
        new QueuedJob("leased", Priority.URGENT, 1_000),
        new QueuedJob("delayed", Priority.HIGH, 1_000),
        new QueuedJob("ready", Priority.LOW, 1_000));
    Future.all(jobs.stream().map(j -> queue.enqueue(j.jobId(), j.priority(), j.enqueuedAtMillis())).toList())
        .compose(v -> claimAll(2))
        .compose(leases -> queue.retryLater(leases.get(1), Duration.ofMinutes(5)))
        .compose(v -> queue.reconcile(jobs))
        .compose(added -> queue.stats().map(stats -> List.of(added, stats)))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).isEqualTo(0);
          assertStats((QueueStats) results.get(1), new long[] {0, 0, 0, 1}, 1, 1);
          ctx.completeNow();
        })));
  }

  @Test
  void reconcileHandlesMoreJobsThanOneBatch(VertxTestContext ctx) {
    int count = RedisIngestQueue.RECONCILE_BATCH * 2 + 17;
    List<QueuedJob> jobs = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      jobs.add(new QueuedJob("job-" + i, Priority.values()[i % 4], 1_000 + i));
    }
    queue.reconcile(jobs)
        .compose(added -> queue.stats().map(stats -> List.of(added, stats)))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).isEqualTo(count);
          assertStats((QueueStats) results.get(1), new long[] {255, 254, 254, 254}, 0, 0);
          ctx.completeNow();
        })));
  }

  @Test
  void operationsStillWorkAfterScriptFlush(VertxTestContext ctx) {
    redis.script(List.of("FLUSH"))
        .compose(v -> queue.enqueue("job", Priority.HIGH, 1_000))
        .compose(v -> redis.script(List.of("FLUSH")))
        .compose(v -> queue.claim(LEASE))
        .map(Optional::orElseThrow)
        .compose(lease -> redis.script(List.of("FLUSH")).compose(v -> queue.complete(lease)))
        .compose(done -> redis.script(List.of("FLUSH")).compose(v -> queue.stats()).map(stats -> List.of(done, stats)))
        .onComplete(ctx.succeeding(results -> ctx.verify(() -> {
          assertThat(results.get(0)).as("complete").isEqualTo(true);
          assertStats((QueueStats) results.get(1), new long[] {0, 0, 0, 0}, 0, 0);
          ctx.completeNow();
        })));
  }

  @Test
  void statsCountReadyPerBandDelayedAndLeased(VertxTestContext ctx) {
    long now = System.currentTimeMillis();
    Future.all(List.of(
            queue.enqueue("u1", Priority.URGENT, now),
            queue.enqueue("u2", Priority.URGENT, now + 1),
            queue.enqueue("h1", Priority.HIGH, now),
            queue.enqueue("l1", Priority.LOW, now),
            queue.enqueue("l2", Priority.LOW, now + 1),
            queue.enqueue("l3", Priority.LOW, now + 2)))
        .compose(v -> claimAll(2))
        .compose(leases -> queue.retryLater(leases.get(0), Duration.ofMinutes(5)))
        .compose(v -> queue.stats())
        .onComplete(ctx.succeeding(stats -> ctx.verify(() -> {
          assertStats(stats, new long[] {0, 1, 0, 3}, 1, 1);
          ctx.completeNow();
        })));
  }

  @Test
  void unreachableRedisFailsAsUnavailable(Vertx vertx, VertxTestContext ctx) throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Redis down = Redis.createClient(vertx, "redis://127.0.0.1:" + closedPort);
    RedisIngestQueue.create(vertx, RedisAPI.api(down), "test-down")
        .eventually(down::close)
        .onComplete(ctx.failing(err -> ctx.verify(() -> {
          assertThat(err).isInstanceOf(ServerException.class);
          assertThat(((ServerException) err).code()).isEqualTo("redis_unavailable");
          assertThat(((ServerException) err).status()).isEqualTo(503);
          ctx.completeNow();
        })));
  }

  @Test
  void oneClaimTakesSeveralJobsInOrderEachFencedByItsOwnLease(Vertx vertx, VertxTestContext ctx) {
    Future.all(queue.enqueue("low", Priority.LOW, 1_000), queue.enqueue("normal-late", Priority.NORMAL, 3_000),
            queue.enqueue("normal-early", Priority.NORMAL, 2_000), queue.enqueue("urgent", Priority.URGENT, 4_000))
        .compose(v -> queue.claim(LEASE, 3))
        .compose(claim -> {
          List<Lease> leases = claim.leases();
          // The second job is taken back and claimed again: its first lease is lost, the other two still hold.
          return queue.remove(leases.get(1).jobId())
              .compose(v -> queue.enqueue(leases.get(1).jobId(), Priority.NORMAL, 2_000))
              .compose(v -> queue.claim(LEASE, 3))
              .compose(again -> {
                Lease forged = new Lease(leases.get(0).jobId(), leases.get(2).token(), leases.get(0).priority());
                return queue.complete(List.of(forged))
                    .compose(forgedDone -> queue.extend(leases, LEASE)
                        .compose(extended -> queue.complete(leases)
                            .compose(completed -> queue.complete(again.leases())
                                .compose(last -> queue.stats().map(stats -> List.<Object>of(claim, again, forgedDone, extended,
                                    completed, last, stats))))));
              });
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          IngestQueue.Claim first = (IngestQueue.Claim) r.get(0);
          IngestQueue.Claim again = (IngestQueue.Claim) r.get(1);
          assertThat(first.leases()).extracting(Lease::jobId).as("band order, then FIFO").containsExactly("urgent", "normal-early", "normal-late");
          assertThat(first.leases()).extracting(Lease::token).as("one token per job").doesNotHaveDuplicates();
          assertThat(again.leases()).extracting(Lease::jobId).as("the re-enqueued job, then the rest").containsExactly("normal-early", "low");
          assertThat(r.get(2)).as("a lease's job with another lease's token").isEqualTo(List.of(false));
          assertThat(r.get(3)).as("extend the first claim's leases").isEqualTo(List.of(true, false, true));
          assertThat(r.get(4)).as("complete the first claim's leases").isEqualTo(List.of(true, false, true));
          assertThat(r.get(5)).as("complete the second claim's leases").isEqualTo(List.of(true, true));
          assertStats((QueueStats) r.get(6), new long[] {0, 0, 0, 0}, 0, 0);
          ctx.completeNow();
        })));
  }

  @Test
  void anEmptyClaimSaysWhenTheNextDelayedJobIsDue(Vertx vertx, VertxTestContext ctx) {
    queue.claim(LEASE, 4)
        .compose(none -> queue.enqueue("later", Priority.NORMAL, 1_000)
            .compose(v -> queue.claim(LEASE))
            .compose(lease -> queue.retryLater(lease.orElseThrow(), Duration.ofMinutes(10)))
            .compose(moved -> queue.claim(LEASE, 4))
            .map(delayed -> List.of(none, delayed)))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertThat(r.get(0).leases()).isEmpty();
          assertThat(r.get(0).nextDueMillis()).as("nothing delayed").isEqualTo(-1);
          assertThat(r.get(1).leases()).isEmpty();
          assertThat(r.get(1).nextDueMillis()).as("due in at most 10 minutes").isBetween(1L, 600_000L);
          ctx.completeNow();
        })));
  }

  @Test
  void enqueueAndReconcilePublishAReadyNotice(Vertx vertx, VertxTestContext ctx) {
    assertThat(queue.readyAddress()).startsWith(RedisIngestQueue.READY_ADDRESS + ".");
    io.vertx.junit5.Checkpoint twoNotices = ctx.checkpoint(2);
    vertx.eventBus().<Object>localConsumer(queue.readyAddress(), msg -> twoNotices.flag())
        .completion()
        .compose(v -> queue.enqueue("noticed", Priority.NORMAL, 1_000))
        .compose(v -> queue.reconcile(List.of(new QueuedJob("reconciled", Priority.NORMAL, 2_000))))
        .onComplete(ctx.succeeding(added -> ctx.verify(() -> assertThat(added).isEqualTo(1))));
  }

  private Future<List<String>> claimIds(int attempts) {
    return claimAll(attempts).map(leases -> leases.stream().map(Lease::jobId).toList());
  }

  /** Claims up to {@code attempts} times in a row, collecting the leases that were granted. */
  private Future<List<Lease>> claimAll(int attempts) {
    Future<List<Lease>> all = Future.succeededFuture(new ArrayList<>());
    for (int i = 0; i < attempts; i++) {
      all = all.compose(leases -> queue.claim(LEASE).map(found -> {
        found.ifPresent(leases::add);
        return leases;
      }));
    }
    return all;
  }

  /** Claims every 25 ms until a job is granted, failing after 5 s. */
  private Future<Lease> awaitClaim(Vertx vertx, Duration leaseTime) {
    return awaitClaim(vertx, leaseTime, System.currentTimeMillis() + 5_000);
  }

  private Future<Lease> awaitClaim(Vertx vertx, Duration leaseTime, long deadline) {
    return queue.claim(leaseTime).compose(found -> {
      if (found.isPresent()) {
        return Future.succeededFuture(found.get());
      }
      if (System.currentTimeMillis() > deadline) {
        return Future.failedFuture(new AssertionError("no job became claimable within 5 s"));
      }
      return vertx.timer(25).compose(v -> awaitClaim(vertx, leaseTime, deadline));
    });
  }

  private static void assertStats(QueueStats stats, long[] ready, long delayed, long leased) {
    assertThat(stats.ready()).as("ready per band").containsExactly(ready);
    assertThat(stats.delayed()).as("delayed").isEqualTo(delayed);
    assertThat(stats.leased()).as("leased").isEqualTo(leased);
  }
}

package dev.wharf.delivery;

import dev.wharf.delivery.DeliveryStore.AckRequest;
import dev.wharf.delivery.DeliveryStore.Settled;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.LongAdder;

/**
 * Acks that reach one event loop in the same turn go to PostgreSQL as one statement
 * ({@link DeliveryStore#ackOrFindAll}): the event loop reads every ready connection before it runs its queued
 * tasks, so the acks read in one turn are sent together when the turn's tasks run, one round trip instead of one
 * each. An ack alone in its turn is sent as it always was, and nothing waits for company: the batch leaves in the
 * turn it was gathered. Off an event loop (a worker, a test thread), each ack is its own statement.
 *
 * <p>One instance serves every event loop of a process; each loop's batch is its own (a thread-local), touched by
 * that loop only.
 */
final class AckBatches {

  /** Most acks in one statement; a larger turn is sent as several. */
  static final int MAX_BATCH = 64;

  private final SqlClient sql;
  private final ThreadLocal<Batch> batches = ThreadLocal.withInitial(Batch::new);
  private final LongAdder statements = new LongAdder();

  AckBatches(SqlClient sql) {
    this.sql = sql;
  }

  /** What {@link DeliveryStore#ackOrFind} answers for this ack, sent alone or with others of this turn. */
  Future<Optional<Settled>> ack(String tenantId, String deviceId, UUID id) {
    Context context = Vertx.currentContext();
    if (context == null || !context.isEventLoopContext()) {
      statements.increment();
      return DeliveryStore.ackOrFind(sql, tenantId, deviceId, id);
    }
    Batch batch = batches.get();
    Pending ack = new Pending(new AckRequest(tenantId, deviceId, id), Promise.promise());
    batch.pending.add(ack);
    if (!batch.scheduled) {
      batch.scheduled = true;
      context.runOnContext(v -> send(batch));
    }
    return ack.answer.future();
  }

  /** Statements sent for acks so far (a batch counts once). */
  long statements() {
    return statements.sum();
  }

  private void send(Batch batch) {
    List<Pending> all = batch.pending;
    batch.pending = new ArrayList<>();
    batch.scheduled = false;
    for (int from = 0; from < all.size(); from += MAX_BATCH) {
      send(all.subList(from, Math.min(all.size(), from + MAX_BATCH)));
    }
  }

  private void send(List<Pending> group) {
    statements.increment();
    if (group.size() == 1) {
      Pending only = group.get(0);
      DeliveryStore.ackOrFind(sql, only.request.tenantId(), only.request.deviceId(), only.request.id()).onComplete(only.answer);
      return;
    }
    List<AckRequest> requests = new ArrayList<>(group.size());
    group.forEach(p -> requests.add(p.request));
    DeliveryStore.ackOrFindAll(sql, requests).onComplete(ar -> {
      for (int i = 0; i < group.size(); i++) {
        if (ar.succeeded()) {
          group.get(i).answer.complete(ar.result().get(i));
        } else {
          group.get(i).answer.fail(ar.cause());
        }
      }
    });
  }

  private record Pending(AckRequest request, Promise<Optional<Settled>> answer) {}

  private static final class Batch {
    List<Pending> pending = new ArrayList<>();
    boolean scheduled;
  }
}

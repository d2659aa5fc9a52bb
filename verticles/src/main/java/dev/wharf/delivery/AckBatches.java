package dev.wharf.delivery;

import dev.wharf.delivery.DeliveryStore.AckRequest;
import dev.wharf.delivery.DeliveryStore.Settled;
import dev.wharf.loop.TurnBatches;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import java.util.Optional;
import java.util.UUID;

/**
 * Acks that reach one event loop in the same turn go to PostgreSQL as one statement
 * ({@link DeliveryStore#ackOrFindAll}); an ack alone in its turn is {@link DeliveryStore#ackOrFind} as it always
 * was, and nothing waits for company (see {@link TurnBatches}).
 */
final class AckBatches {

  /** Most acks in one statement; a larger turn is sent as several. */
  static final int MAX_BATCH = 64;

  private final TurnBatches<AckRequest, Optional<Settled>> batches;

  AckBatches(SqlClient sql) {
    this.batches = new TurnBatches<>(MAX_BATCH, r -> DeliveryStore.ackOrFind(sql, r.tenantId(), r.deviceId(), r.id()),
        all -> DeliveryStore.ackOrFindAll(sql, all));
  }

  /** What {@link DeliveryStore#ackOrFind} answers for this ack, sent alone or with others of this turn. */
  Future<Optional<Settled>> ack(String tenantId, String deviceId, UUID id) {
    return batches.submit(new AckRequest(tenantId, deviceId, id));
  }

  /** Statements sent for acks so far (a batch counts once). */
  long statements() {
    return batches.calls();
  }
}

package dev.wharf.delivery;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.delivery.DeliveryStore.AckRequest;
import dev.wharf.delivery.DeliveryStore.Settled;
import dev.wharf.gateway.TestStack;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two ack batches naming the same deliveries in opposite orders, sent at once on two connections: each waits for
 * the other's locks in id order instead of deadlocking (PostgreSQL would abort one with 40P01), and every delivery
 * is acked exactly once between them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AckLockOrderTest {

  @Test
  void batchesOverTheSameDeliveriesInOppositeOrdersNeitherDeadlockNorAckTwice() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = await(stack.newTenant());
    Pool pool = stack.app.services().pool();
    for (int round = 0; round < 20; round++) {
      List<AckRequest> forward = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        UUID id = UUID.randomUUID();
        await(pool.preparedQuery("INSERT INTO deliveries (id, tenant_id, device_id, sender, object_key, owns_object, filename, size, "
                + "sha256, state, expires_at) VALUES ($1, $2, $3, 'test', $4, true, 'f.txt', 1, $5, 'staged', now() + interval '1 hour')")
            .execute(Tuple.of(id, t.id(), t.deviceA(), "t/" + t.id() + "/deliveries/" + id, "0".repeat(64))));
        forward.add(new AckRequest(t.id(), t.deviceA(), id));
      }
      List<AckRequest> backward = new ArrayList<>(forward);
      Collections.reverse(backward);
      Future<List<Optional<Settled>>> one = DeliveryStore.ackOrFindAll(pool, forward);
      Future<List<Optional<Settled>>> two = DeliveryStore.ackOrFindAll(pool, backward);
      await(Future.all(one, two));
      for (int i = 0; i < forward.size(); i++) {
        Settled a = one.result().get(i).orElseThrow();
        Settled b = two.result().get(forward.size() - 1 - i).orElseThrow();
        assertThat(a.changed() ^ b.changed()).as("round " + round + ": acked by exactly one batch").isTrue();
        Settled winner = a.changed() ? a : b;
        assertThat(winner.delivery().state()).isEqualTo(DeliveryState.ACKED);
      }
    }
  }
}

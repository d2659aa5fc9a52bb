package dev.wharf.gateway;

import static dev.wharf.gateway.DeliveryTesting.senderView;
import static dev.wharf.gateway.DeliveryTesting.stageOne;
import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.auth.Principal;
import dev.wharf.delivery.Delivery;
import dev.wharf.delivery.DeliveryService;
import dev.wharf.delivery.DeliveryState;
import dev.wharf.error.ClientException;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Acks that reach an event loop in one turn share one statement, and each still gets exactly the answer it would
 * get alone: scoped to its own device and tenant, a repeat is success, an ack after a reject is 409.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AckBatchTest {

  @Test
  void acksOfOneTurnShareAStatementAndEachGetsItsOwnAnswer() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = await(stack.newTenant());
    TestStack.Tenant other = await(stack.newTenant());
    UUID first = UUID.fromString(await(stageOne(stack.client, t, t.deviceA(), "1.txt", "one")));
    UUID second = UUID.fromString(await(stageOne(stack.client, t, t.deviceA(), "2.txt", "two")));
    UUID rejected = UUID.fromString(await(stageOne(stack.client, t, t.deviceA(), "3.txt", "three")));
    UUID forB = UUID.fromString(await(stageOne(stack.client, t, t.deviceB(), "b.txt", "for device b")));
    assertThat(await(stack.client.post("/v1/inbox/" + rejected + "/reject").bearerTokenAuthentication(t.tokenA()).send()).statusCode())
        .isEqualTo(200);

    Principal a = device(t.id(), t.deviceA());
    Principal b = device(t.id(), t.deviceB());
    Principal elsewhere = device(other.id(), t.deviceA());
    DeliveryService deliveries = stack.app.services().deliveries();
    long statements = deliveries.ackStatements();
    double ackedBefore = acked(stack);
    List<Future<Delivery>> answers = stack.onOneTurn(List.of(
        () -> deliveries.ack(b, first),          // another device's delivery, named before its own device acks it
        () -> deliveries.ack(a, first),
        () -> deliveries.ack(a, first),          // the same ack twice in one turn
        () -> deliveries.ack(a, second),
        () -> deliveries.ack(a, rejected),
        () -> deliveries.ack(a, forB),           // device B's delivery, named by device A
        () -> deliveries.ack(elsewhere, second), // the same device id in another tenant
        () -> deliveries.ack(a, UUID.randomUUID())));
    Future.join(new ArrayList<>(answers)).otherwiseEmpty().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);

    assertThat(deliveries.ackStatements()).as("eight acks of one turn, one statement").isEqualTo(statements + 1);
    assertThat(acked(stack) - ackedBefore).as("two deliveries acked, each counted once").isEqualTo(2.0);
    assertNotFound(answers.get(0));
    Delivery acked = answers.get(1).result();
    assertThat(acked.state()).isEqualTo(DeliveryState.ACKED);
    assertThat(answers.get(2).result().state()).isEqualTo(DeliveryState.ACKED);
    assertThat(answers.get(2).result().ackedAt()).as("a repeat keeps the first acked_at").isEqualTo(acked.ackedAt());
    assertThat(answers.get(3).result().state()).isEqualTo(DeliveryState.ACKED);
    assertThat(answers.get(4).failed()).isTrue();
    assertThat(((ClientException) answers.get(4).cause()).code()).isEqualTo("delivery_rejected");
    assertNotFound(answers.get(5));
    assertNotFound(answers.get(6));
    assertNotFound(answers.get(7));
    assertThat(await(senderView(stack.client, t, forB.toString())).getString("state")).as("untouched by device A's ack").isEqualTo("staged");
    assertThat(await(senderView(stack.client, t, rejected.toString())).getString("state")).isEqualTo("rejected");
  }

  private static double acked(TestStack stack) {
    var counter = stack.app.services().metrics().registry().find("wharf_deliveries_total").tag("event", "acked").counter();
    return counter == null ? 0 : counter.count();
  }

  private static Principal device(String tenantId, String deviceId) {
    return new Principal(Principal.Kind.DEVICE, tenantId, deviceId, Set.of(), "token-" + deviceId);
  }

  private static void assertNotFound(Future<Delivery> answer) {
    assertThat(answer.failed()).as("404").isTrue();
    assertThat(((ClientException) answer.cause()).status()).isEqualTo(404);
  }
}

package dev.wharf.gateway;

import static dev.wharf.gateway.DeliveryTesting.poll;
import static dev.wharf.gateway.DeliveryTesting.insertWithoutNotice;
import static dev.wharf.gateway.DeliveryTesting.stageOne;
import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.delivery.DeliveryService;
import dev.wharf.gateway.DeliveryTesting.Replica;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An inbox PostgreSQL found empty is answered as empty from memory until a staging for its device is heard of,
 * here or on another replica; a delivery whose notice never came is found by the next look that reads the truth.
 * Both gateways keep empty inboxes 5 minutes, so nothing here passes by waiting for an entry to expire.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class QuietInboxTest {

  static TestStack stack;
  static Replica replica;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    replica = Replica.start(stack, Map.of("WHARF_DELIVERIES_QUIET_TTL", "5m")).toCompletionStage().toCompletableFuture()
        .get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    replica.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void anIdleInboxIsAnsweredFromMemoryUntilAStagingForItsDevice() throws Exception {
    TestStack.Tenant t = await(stack.newTenant());
    DeliveryService deliveries = stack.app.services().deliveries();
    assertThat(await(poll(stack.client, t.tokenA(), 0))).isEmpty();
    long reads = deliveries.inboxReads();
    long hits = deliveries.inboxQuietHits();
    assertThat(await(poll(stack.client, t.tokenA(), 0))).isEmpty();
    assertThat(deliveries.inboxReads()).as("the second look did not read PostgreSQL").isEqualTo(reads);
    assertThat(deliveries.inboxQuietHits()).isEqualTo(hits + 1);
    // Another device of the tenant is another inbox: not answered from device A's memory.
    assertThat(await(poll(stack.client, t.tokenB(), 0))).isEmpty();
    assertThat(deliveries.inboxReads()).isEqualTo(reads + 1);

    String id = await(stageOne(stack.client, t, t.deviceA(), "now.txt", "staged after an empty poll"));
    assertThat(ids(await(poll(stack.client, t.tokenA(), 0)))).as("the staging's 201 came after the device's inbox was forgotten")
        .containsExactly(id);
    assertThat(ids(await(poll(stack.client, t.tokenA(), 0)))).as("a pending inbox is never remembered").containsExactly(id);
    assertThat(deliveries.inboxQuietHits()).isEqualTo(hits + 1);
  }

  @Test
  void aStagingOnAnotherReplicaReachesAnInboxItRemembersAsEmpty() throws Exception {
    TestStack.Tenant t = await(stack.newTenant());
    DeliveryService there = replica.app.services().deliveries();
    assertThat(await(poll(replica.client, t.tokenA(), 0))).isEmpty();
    long hits = there.inboxQuietHits();
    assertThat(await(poll(replica.client, t.tokenA(), 0))).isEmpty();
    assertThat(there.inboxQuietHits()).as("the replica remembers the empty inbox").isEqualTo(hits + 1);

    String id = await(stageOne(stack.client, t, t.deviceA(), "across.txt", "staged on the other gateway"));
    // The relay brings the notice over Redis a moment later; until then the replica may still answer empty.
    await(stack.eventually(Duration.ofSeconds(20), () -> poll(replica.client, t.tokenA(), 0).map(items -> ids(items).contains(id))));
  }

  @Test
  void aDeliveryWhoseNoticeWasLostIsFoundByTheNextLookThatReadsPostgres() throws Exception {
    TestStack.Tenant t = await(stack.newTenant());
    DeliveryService deliveries = stack.app.services().deliveries();
    assertThat(await(poll(stack.client, t.tokenA(), 0))).isEmpty();
    UUID id = UUID.randomUUID();
    // Committed with no notice at all, as when a replica dies between its commit and its publish.
    await(insertWithoutNotice(stack, t, t.deviceA(), id));
    long hits = deliveries.inboxQuietHits();
    assertThat(await(poll(stack.client, t.tokenA(), 0))).as("late by at most deliveries.quiet-ttl: the memory knows nothing of it")
        .isEmpty();
    assertThat(deliveries.inboxQuietHits()).isEqualTo(hits + 1);
    // A held poll reads PostgreSQL at its deadline, whatever its first look found (here: the memory again).
    assertThat(ids(await(poll(stack.client, t.tokenA(), 1)))).containsExactly(id.toString());
    assertThat(deliveries.inboxQuietHits()).isEqualTo(hits + 2);
    assertThat(ids(await(poll(stack.client, t.tokenA(), 0)))).as("what PostgreSQL showed replaces the memory").containsExactly(id.toString());
    assertThat(deliveries.inboxQuietHits()).isEqualTo(hits + 2);
  }

  private static List<String> ids(JsonArray items) {
    return items.stream().map(o -> ((JsonObject) o).getString("id")).toList();
  }
}

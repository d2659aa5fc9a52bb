package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.auth.TokenStore;
import dev.wharf.delivery.DeliveryService;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A replica whose notice subscriber lost its Redis connection cannot hear other replicas' notices meanwhile, so
 * nothing its caches held or read in that gap may be trusted after it: the token cache (revocations) and the memory
 * of empty inboxes (stagings) are emptied when the subscription is lost and again when it stands, and the next
 * request reads PostgreSQL.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayGapTest {

  @Test
  void whatTheCachesHeldBeforeTheRelayLostRedisIsReadAgainAfterIt() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = await(stack.newTenant());
    TokenStore tokens = stack.app.services().tokens();
    DeliveryService deliveries = stack.app.services().deliveries();
    assertThat(poll(stack, t)).isEqualTo(200);
    long reads = tokens.reads();
    long inboxReads = deliveries.inboxReads();
    assertThat(poll(stack, t)).isEqualTo(200);
    assertThat(tokens.reads()).as("cached (the suite keeps tokens 10 minutes)").isEqualTo(reads);
    assertThat(deliveries.inboxReads()).as("the empty inbox is remembered (5 minutes in the suite)").isEqualTo(inboxReads);

    try (LogCapture log = LogCapture.attach()) {
      // What a Redis restart or a network cut does to the relay's subscriber connection.
      await(stack.app.services().redis().client(List.of("KILL", "TYPE", "pubsub")));
      // The relay announces the loss and the new subscription on the event bus, in that order; the caches log
      // each as they hear it, so once the second lines are there, both stand again.
      assertThat(log.awaitLinesWith("token cache off until the relay listens again", lines -> !lines.isEmpty(),
          Duration.ofSeconds(20))).as("the token cache stood down").isNotEmpty();
      assertThat(log.awaitLinesWith("every poll reads PostgreSQL until the relay listens again", lines -> !lines.isEmpty(),
          Duration.ofSeconds(20))).as("the inbox memory stood down").isNotEmpty();
      assertThat(log.awaitLinesWith("token cache on again", lines -> !lines.isEmpty(), Duration.ofSeconds(20)))
          .as("the token cache stands again once the relay listens").isNotEmpty();
      assertThat(log.awaitLinesWith("empty inboxes remembered: the relay listens", lines -> !lines.isEmpty(), Duration.ofSeconds(20)))
          .as("the inbox memory stands again once the relay listens").isNotEmpty();
    }
    long after = tokens.reads();
    long inboxAfter = deliveries.inboxReads();
    assertThat(poll(stack, t)).isEqualTo(200);
    assertThat(tokens.reads()).as("the token cached before the gap is read afresh after it").isEqualTo(after + 1);
    assertThat(deliveries.inboxReads()).as("the inbox remembered before the gap is read afresh after it").isEqualTo(inboxAfter + 1);
    assertThat(poll(stack, t)).isEqualTo(200);
    assertThat(tokens.reads()).as("cached again once the relay listens").isEqualTo(after + 1);
    assertThat(deliveries.inboxReads()).as("remembered again once the relay listens").isEqualTo(inboxAfter + 1);
  }

  private static int poll(TestStack stack, TestStack.Tenant t) throws Exception {
    return await(stack.client.get("/v1/inbox?wait=0").bearerTokenAuthentication(t.tokenA()).send()).statusCode();
  }
}

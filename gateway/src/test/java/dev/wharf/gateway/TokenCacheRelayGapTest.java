package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.auth.TokenStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A replica whose notice subscriber lost its Redis connection cannot hear other replicas' revocations meanwhile,
 * so nothing its token cache held or read in that gap may be trusted after it: the cache is emptied when the
 * subscription is lost and again when it stands, and the next request reads its token from PostgreSQL.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TokenCacheRelayGapTest {

  @Test
  void aTokenCachedBeforeTheRelayLostRedisIsReadAgainAfterIt() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = await(stack.newTenant());
    TokenStore tokens = stack.app.services().tokens();
    assertThat(poll(stack, t)).isEqualTo(200);
    long reads = tokens.reads();
    assertThat(poll(stack, t)).isEqualTo(200);
    assertThat(tokens.reads()).as("cached (the suite keeps tokens 10 minutes)").isEqualTo(reads);

    try (LogCapture log = LogCapture.attach()) {
      // What a Redis restart or a network cut does to the relay's subscriber connection.
      await(stack.app.services().redis().client(List.of("KILL", "TYPE", "pubsub")));
      // The relay announces the loss and the new subscription on the event bus, in that order; the cache logs
      // each as it hears it, so once the second line is there, the cache stands again.
      assertThat(log.awaitLinesWith("token cache off until the relay listens again", lines -> !lines.isEmpty(),
          Duration.ofSeconds(20))).as("the cache stood down").isNotEmpty();
      assertThat(log.awaitLinesWith("token cache on again", lines -> !lines.isEmpty(), Duration.ofSeconds(20)))
          .as("the cache stands again once the relay listens").isNotEmpty();
    }
    long after = tokens.reads();
    assertThat(poll(stack, t)).isEqualTo(200);
    assertThat(tokens.reads()).as("the token cached before the gap is read afresh after it").isEqualTo(after + 1);
    assertThat(poll(stack, t)).isEqualTo(200);
    assertThat(tokens.reads()).as("cached again once the relay listens").isEqualTo(after + 1);
  }

  private static int poll(TestStack stack, TestStack.Tenant t) throws Exception {
    return await(stack.client.get("/v1/inbox").bearerTokenAuthentication(t.tokenA()).send()).statusCode();
  }
}

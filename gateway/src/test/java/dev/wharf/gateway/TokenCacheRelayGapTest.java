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
      List<String> listening = log.awaitLinesWith("notice subscriber listening", lines -> !lines.isEmpty(), Duration.ofSeconds(20));
      assertThat(listening).as("the relay subscribed again").isNotEmpty();
      // The relay announces on the event bus; the cache has heard it once a request reads PostgreSQL again.
      await(stack.eventually(Duration.ofSeconds(20), () -> stack.client.get("/v1/inbox").bearerTokenAuthentication(t.tokenA()).send()
          .map(resp -> resp.statusCode() == 200 && tokens.reads() > reads)));
      assertThat(log.linesWith("token cache off until the relay listens again")).isNotEmpty();
    }
    long after = tokens.reads();
    assertThat(poll(stack, t)).isEqualTo(200);
    assertThat(tokens.reads()).as("cached again once the relay listens").isEqualTo(after);
  }

  private static int poll(TestStack stack, TestStack.Tenant t) throws Exception {
    return await(stack.client.get("/v1/inbox").bearerTokenAuthentication(t.tokenA()).send()).statusCode();
  }
}

package dev.wharf.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The token cache's rules that need no clock: what a revocation drops, and what it keeps out. */
class TokenCacheTest {

  private static final Principal A = new Principal(Principal.Kind.DEVICE, "t", "dev-a", Set.of(), "token-a");
  private static final Principal B = new Principal(Principal.Kind.DEVICE, "t", "dev-b", Set.of(), "token-b");

  @Test
  void revokingATokenDropsItAndNothingElse() {
    TokenCache cache = new TokenCache(Duration.ofMinutes(10), 100);
    cache.put(TokenStore.hash("wh_d_a"), A, cache.generation());
    cache.put(TokenStore.hash("wh_d_b"), B, cache.generation());

    cache.forgetToken("token-a");

    assertThat(cache.get(TokenStore.hash("wh_d_a"))).isNull();
    assertThat(cache.get(TokenStore.hash("wh_d_b"))).isEqualTo(B);
  }

  @Test
  void aLookupThatRanAcrossARevocationIsNotCached() {
    TokenCache cache = new TokenCache(Duration.ofMinutes(10), 100);
    long readUnder = cache.generation();
    // The revocation's notice arrives while the lookup is still reading PostgreSQL (which may predate the commit).
    cache.forgetToken("token-a");
    cache.put(TokenStore.hash("wh_d_a"), A, readUnder);

    assertThat(cache.get(TokenStore.hash("wh_d_a"))).isNull();
  }

  @Test
  void whileRevocationsCannotArriveNothingIsAnsweredOrKeptAndNothingReadBeforeSurvives() {
    TokenCache cache = new TokenCache(Duration.ofMinutes(10), 100);
    cache.put(TokenStore.hash("wh_d_a"), A, cache.generation());
    long readBeforeTheGap = cache.generation();

    cache.suspend();
    assertThat(cache.get(TokenStore.hash("wh_d_a"))).isNull();
    cache.put(TokenStore.hash("wh_d_b"), B, cache.generation());
    assertThat(cache.size()).isZero();

    cache.resume();
    assertThat(cache.get(TokenStore.hash("wh_d_a"))).as("emptied, not kept across the gap").isNull();
    // A lookup that started before the gap ended cannot put its answer back after it.
    cache.put(TokenStore.hash("wh_d_a"), A, readBeforeTheGap);
    assertThat(cache.get(TokenStore.hash("wh_d_a"))).isNull();
    cache.put(TokenStore.hash("wh_d_b"), B, cache.generation());
    assertThat(cache.get(TokenStore.hash("wh_d_b"))).isEqualTo(B);
  }

  @Test
  void aFullCacheStaysWithinItsSize() {
    TokenCache cache = new TokenCache(Duration.ofMinutes(10), 3);
    for (int i = 0; i < 10; i++) {
      cache.put(TokenStore.hash("wh_d_" + i), A, cache.generation());
      assertThat(cache.size()).isLessThanOrEqualTo(3);
    }
    assertThat(cache.get(TokenStore.hash("wh_d_9"))).isEqualTo(A);
  }

  @Test
  void aZeroTtlCachesNothing() {
    TokenCache cache = new TokenCache(Duration.ZERO, 100);
    cache.put(TokenStore.hash("wh_d_a"), A, cache.generation());
    assertThat(cache.get(Buffer.buffer(TokenStore.hash("wh_d_a").getBytes()))).isNull();
  }
}

package dev.wharf.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The rules of a cache kept true by notices that need no clock (the token cache and the memory of empty inboxes
 * are two of them): what a forget drops, what it keeps out, and what a gap in the notices does.
 */
class NoticeCacheTest {

  private static NoticeCache<String, String> standing(int maxEntries) {
    return new NoticeCache<>(Duration.ofMinutes(10), maxEntries, true);
  }

  @Test
  void aForgetDropsItsKeyAndNothingElse() {
    NoticeCache<String, String> cache = standing(100);
    cache.put("a", "token-a", cache.generation());
    cache.put("b", "token-b", cache.generation());

    cache.forget("a");

    assertThat(cache.get("a")).isNull();
    assertThat(cache.get("b")).isEqualTo("token-b");
  }

  @Test
  void aForgetByValueDropsEveryMatchAndNothingElse() {
    NoticeCache<String, String> cache = standing(100);
    cache.put("a", "token-a", cache.generation());
    cache.put("a2", "token-a", cache.generation());
    cache.put("b", "token-b", cache.generation());

    cache.forgetIf("token-a"::equals);

    assertThat(cache.get("a")).isNull();
    assertThat(cache.get("a2")).isNull();
    assertThat(cache.get("b")).isEqualTo("token-b");
  }

  @Test
  void aReadThatRanAcrossAForgetIsNotKept() {
    NoticeCache<String, String> cache = standing(100);
    long readUnder = cache.generation();
    // The notice arrives while the read is still in PostgreSQL (whose snapshot may predate the change).
    cache.forget("a");
    cache.put("a", "stale", readUnder);

    assertThat(cache.get("a")).isNull();
  }

  @Test
  void aCacheThatWaitsForTheRelayKeepsNothingBeforeIt() {
    NoticeCache<String, String> cache = new NoticeCache<>(Duration.ofMinutes(10), 100, false);
    cache.put("a", "empty", cache.generation());
    assertThat(cache.get("a")).isNull();
    assertThat(cache.resume()).as("it stood down until now").isTrue();
    cache.put("a", "empty", cache.generation());
    assertThat(cache.get("a")).isEqualTo("empty");
    assertThat(cache.resume()).as("a resume while standing is no stand-down").isFalse();
  }

  @Test
  void whileNoticesCannotArriveNothingIsAnsweredOrKeptAndNothingReadBeforeSurvives() {
    NoticeCache<String, String> cache = standing(100);
    cache.put("a", "token-a", cache.generation());
    long readBeforeTheGap = cache.generation();

    cache.suspend();
    assertThat(cache.get("a")).isNull();
    cache.put("b", "token-b", cache.generation());
    assertThat(cache.size()).isZero();

    assertThat(cache.resume()).isTrue();
    assertThat(cache.get("a")).as("emptied, not kept across the gap").isNull();
    // A read that started before the gap ended cannot put its answer back after it.
    cache.put("a", "token-a", readBeforeTheGap);
    assertThat(cache.get("a")).isNull();
    cache.put("b", "token-b", cache.generation());
    assertThat(cache.get("b")).isEqualTo("token-b");
  }

  @Test
  void aFullCacheStaysWithinItsSize() {
    NoticeCache<String, String> cache = standing(3);
    for (int i = 0; i < 10; i++) {
      cache.put("k" + i, "v", cache.generation());
      assertThat(cache.size()).isLessThanOrEqualTo(3);
    }
    assertThat(cache.get("k9")).as("the newest is kept").isEqualTo("v");
  }

  @Test
  void aZeroTtlKeepsNothing() {
    NoticeCache<String, String> cache = new NoticeCache<>(Duration.ZERO, 100, true);
    cache.put("a", "v", cache.generation());
    assertThat(cache.enabled()).isFalse();
    assertThat(cache.get("a")).isNull();
  }
}

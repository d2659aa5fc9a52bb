package dev.wharf.delivery;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Devices whose inbox PostgreSQL found empty in the last {@code ttl}, so that an idle device polling again does
 * not cost a round trip. Shared by the event loops of one process; it holds no delivery, only "empty until".
 *
 * <p>A delivery can only appear in an inbox by a staging, and every staging publishes an inbox notice after its
 * commit: this process forgets the device before it publishes ({@link #forget}), and other replicas forget it
 * when the notice relay brings it. A read that started before a forget cannot put its (now stale) "empty" back:
 * {@link #generation} changes with every forget, and {@link #remember} refuses an answer read under an older one.
 * Should a notice be lost (its replica died between commit and publish, or Redis refused the publish), an entry
 * lives at most {@code ttl}: the delivery is late by that much, never lost. While notices from other replicas
 * cannot arrive at all (before the relay first subscribes, and whenever it lost its subscription), the cache stands
 * down: it is emptied and neither answers nor keeps anything until {@link #resume}.
 *
 * <p>When full, expired entries are dropped, and if that frees nothing the whole cache is cleared.
 */
final class QuietInboxes {

  private final ConcurrentHashMap<String, Long> quietUntil = new ConcurrentHashMap<>();
  private final AtomicLong generation = new AtomicLong();
  /** Until the relay first says it listens, nothing is remembered. */
  private volatile boolean suspended = true;
  private final long ttlNanos;
  private final int maxEntries;

  QuietInboxes(Duration ttl, int maxEntries) {
    this.ttlNanos = ttl.toNanos();
    this.maxEntries = maxEntries;
  }

  boolean enabled() {
    return ttlNanos > 0 && maxEntries > 0;
  }

  /** Whether the device's inbox was read empty less than {@code ttl} ago and nothing was staged for it since. */
  boolean isQuiet(String tenantId, String deviceId) {
    if (suspended || !enabled()) {
      return false;
    }
    String key = key(tenantId, deviceId);
    Long until = quietUntil.get(key);
    if (until == null) {
      return false;
    }
    if (System.nanoTime() - until >= 0) {
      quietUntil.remove(key, until);
      return false;
    }
    return true;
  }

  /** Read before the inbox query; hand it back to {@link #remember}. */
  long generation() {
    return generation.get();
  }

  /** Keeps "empty" for the device, unless something was staged (anywhere this process heard of) since {@code readUnder}. */
  void remember(String tenantId, String deviceId, long readUnder) {
    if (!enabled() || suspended) {
      return;
    }
    if (quietUntil.size() >= maxEntries) {
      long now = System.nanoTime();
      quietUntil.values().removeIf(until -> now - until >= 0);
      if (quietUntil.size() >= maxEntries) {
        quietUntil.clear();
      }
    }
    String key = key(tenantId, deviceId);
    quietUntil.put(key, System.nanoTime() + ttlNanos);
    if (generation.get() != readUnder) {
      // A staging was announced while this read ran: its "empty" may predate the delivery.
      quietUntil.remove(key);
    }
  }

  /** Something may be pending for the device now. */
  void forget(String tenantId, String deviceId) {
    generation.incrementAndGet();
    quietUntil.remove(key(tenantId, deviceId));
  }

  /** Notices from other replicas may be missed from now on: forget everything and keep nothing until {@link #resume}. */
  void suspend() {
    suspended = true;
    forgetAll();
  }

  /**
   * Notices are heard again: start afresh.
   *
   * @return whether the cache had stood down
   */
  boolean resume() {
    forgetAll();
    boolean was = suspended;
    suspended = false;
    return was;
  }

  int size() {
    return quietUntil.size();
  }

  private void forgetAll() {
    generation.incrementAndGet();
    quietUntil.clear();
  }

  private static String key(String tenantId, String deviceId) {
    return tenantId + '\u0000' + deviceId;
  }
}

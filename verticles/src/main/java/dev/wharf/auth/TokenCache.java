package dev.wharf.auth;

import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The principals of tokens used in the last {@code ttl}, keyed by the token's SHA-256 (never the secret), so a
 * busy device does not cost a PostgreSQL round trip per request. Shared by the event loops of one process.
 *
 * <p>Only successful lookups are kept. A revocation drops the token's entry ({@link #forgetToken}) here at once
 * and, through a notice, on every other replica; should a notice be lost, an entry lives at most {@code ttl}.
 * A lookup that started before a revocation cannot put its (now stale) answer back: {@link #generation} changes
 * with every forget, and {@link #put} refuses an answer read under an older one. When full, expired entries are
 * dropped, and if that frees nothing the whole cache is cleared (a burst of new tokens costs lookups, not memory).
 *
 * <p>While revocation notices cannot arrive (the relay lost its subscription), the cache stands down
 * ({@link #suspend}): it is emptied and neither answers nor keeps anything until {@link #resume}, which empties it
 * again, so nothing read before or during the gap outlives it.
 */
final class TokenCache {

  private record Entry(Principal principal, long expiresAtNanos) {}

  private final ConcurrentHashMap<Buffer, Entry> byHash = new ConcurrentHashMap<>();
  private final AtomicLong generation = new AtomicLong();
  private volatile boolean suspended;
  private final long ttlNanos;
  private final int maxEntries;

  TokenCache(Duration ttl, int maxEntries) {
    this.ttlNanos = ttl.toNanos();
    this.maxEntries = maxEntries;
  }

  boolean enabled() {
    return ttlNanos > 0 && maxEntries > 0;
  }

  /** The principal cached for this token hash, or null when absent or expired. */
  Principal get(Buffer hash) {
    if (suspended) {
      return null;
    }
    Entry e = byHash.get(hash);
    if (e == null) {
      return null;
    }
    if (System.nanoTime() - e.expiresAtNanos() >= 0) {
      byHash.remove(hash, e);
      return null;
    }
    return e.principal();
  }

  /** Read before a lookup; hand it back to {@link #put}. */
  long generation() {
    return generation.get();
  }

  /** Keeps a principal read from PostgreSQL, unless a revocation happened since {@code readUnder}. */
  void put(Buffer hash, Principal principal, long readUnder) {
    if (!enabled() || suspended) {
      return;
    }
    if (byHash.size() >= maxEntries) {
      long now = System.nanoTime();
      byHash.values().removeIf(e -> now - e.expiresAtNanos() >= 0);
      if (byHash.size() >= maxEntries) {
        byHash.clear();
      }
    }
    byHash.put(hash, new Entry(principal, System.nanoTime() + ttlNanos));
    if (generation.get() != readUnder) {
      // A forget ran while this answer was read: it may be stale, so it must not outlive the forget.
      byHash.remove(hash);
    }
  }

  /** Drops every entry of the token (by its id). */
  void forgetToken(String tokenId) {
    generation.incrementAndGet();
    byHash.values().removeIf(e -> tokenId.equals(e.principal().tokenId()));
  }

  /** Revocations may be missed from now on: forget everything and keep nothing until {@link #resume}. */
  void suspend() {
    suspended = true;
    forgetAll();
  }

  /**
   * Revocations are heard again: start afresh (whatever a missed notice revoked is re-read).
   *
   * @return whether the cache had stood down
   */
  boolean resume() {
    forgetAll();
    boolean was = suspended;
    suspended = false;
    return was;
  }

  private void forgetAll() {
    generation.incrementAndGet();
    byHash.clear();
  }

  int size() {
    return byHash.size();
  }
}

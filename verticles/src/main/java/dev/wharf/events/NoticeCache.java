package dev.wharf.events;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;

/**
 * Answers read from PostgreSQL and kept for at most {@code ttl}, trusted because every change that would make one
 * wrong is announced by a notice (here, and on other replicas through the {@link NoticeRelay}) which makes the
 * cache forget it. Shared by the event loops of one process.
 *
 * <p>A read that started before a forget cannot put its (now stale) answer back: {@link #generation} changes with
 * every forget, and {@link #put} refuses an answer read under an older one. Should a notice be lost, an entry lives
 * at most {@code ttl}. While notices from other replicas cannot arrive (the relay lost its subscription, see
 * {@link #followRelay}), the cache stands down: it is emptied and neither answers nor keeps anything until
 * {@link #resume}, which empties it again, so nothing read before or during the gap outlives it. When full, expired
 * entries are dropped, and if that frees nothing the whole cache is cleared (a burst of new keys costs reads, not
 * memory).
 *
 * @param <K> what an answer is looked up by
 * @param <V> the answer
 */
public final class NoticeCache<K, V> {

  private record Entry<V>(V value, long expiresAtNanos) {}

  private final ConcurrentHashMap<K, Entry<V>> entries = new ConcurrentHashMap<>();
  private final AtomicLong generation = new AtomicLong();
  private volatile boolean suspended;
  private final long ttlNanos;
  private final int maxEntries;

  /**
   * @param standing whether the cache may answer before the relay first says it listens ({@code false}: it stands
   *     down until then)
   */
  public NoticeCache(Duration ttl, int maxEntries, boolean standing) {
    this.ttlNanos = ttl.toNanos();
    this.maxEntries = maxEntries;
    this.suspended = !standing;
  }

  public boolean enabled() {
    return ttlNanos > 0 && maxEntries > 0;
  }

  /** The answer kept for {@code key}, or null when absent, expired, or the cache stands down. */
  public V get(K key) {
    if (suspended) {
      return null;
    }
    Entry<V> e = entries.get(key);
    if (e == null) {
      return null;
    }
    if (System.nanoTime() - e.expiresAtNanos() >= 0) {
      entries.remove(key, e);
      return null;
    }
    return e.value();
  }

  /** Read before the read from PostgreSQL; hand it back to {@link #put}. */
  public long generation() {
    return generation.get();
  }

  /** Keeps an answer read from PostgreSQL, unless something was forgotten since {@code readUnder}. */
  public void put(K key, V value, long readUnder) {
    if (!enabled() || suspended) {
      return;
    }
    if (entries.size() >= maxEntries) {
      long now = System.nanoTime();
      entries.values().removeIf(e -> now - e.expiresAtNanos() >= 0);
      if (entries.size() >= maxEntries) {
        entries.clear();
      }
    }
    entries.put(key, new Entry<>(value, System.nanoTime() + ttlNanos));
    if (generation.get() != readUnder) {
      // A forget ran while this answer was read: it may be stale, so it must not outlive the forget.
      entries.remove(key);
    }
  }

  /** Drops the answer for {@code key}: what it said may have changed. */
  public void forget(K key) {
    generation.incrementAndGet();
    entries.remove(key);
  }

  /** Drops every answer {@code which} matches. */
  public void forgetIf(Predicate<V> which) {
    generation.incrementAndGet();
    entries.values().removeIf(e -> which.test(e.value()));
  }

  /** Notices may be missed from now on: forget everything and keep nothing until {@link #resume}. */
  public void suspend() {
    suspended = true;
    forgetAll();
  }

  /**
   * Notices are heard again: start afresh (whatever a missed notice changed is read again).
   *
   * @return whether the cache had stood down
   */
  public boolean resume() {
    forgetAll();
    boolean was = suspended;
    suspended = false;
    return was;
  }

  public int size() {
    return entries.size();
  }

  /**
   * Stands the cache down whenever the relay says it cannot hear other replicas ({@link NoticeRelay#STATE_ADDRESS}),
   * logging {@code standsDown} at WARN, and up again when it listens, logging {@code standsAgain} at INFO if it had
   * stood down. Answers once the consumer is registered; register before deploying the relay.
   */
  public Future<Void> followRelay(Vertx vertx, Logger log, String standsDown, String standsAgain) {
    return vertx.eventBus().<JsonObject>localConsumer(NoticeRelay.STATE_ADDRESS, msg -> {
      if (msg.body() != null && msg.body().getBoolean("listening", false)) {
        if (resume()) {
          log.info(standsAgain);
        }
      } else {
        log.warn(standsDown);
        suspend();
      }
    }).completion();
  }

  private void forgetAll() {
    generation.incrementAndGet();
    entries.clear();
  }
}

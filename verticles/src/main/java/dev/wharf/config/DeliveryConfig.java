package dev.wharf.config;

import dev.wharf.error.ClientException;
import java.time.Duration;

/**
 * Poll-mode delivery settings.
 *
 * @param ttl hard time to live of a delivery not yet acked or rejected, unless the sender asks otherwise
 * @param minTtl shortest TTL a sender may ask for
 * @param maxTtl longest TTL a sender may ask for
 * @param retention how long an acked, rejected or expired delivery stays visible to its sender before it
 *     is swept
 * @param maxFiles files one staging request may carry
 * @param maxFileBytes largest file one staging request may stream
 * @param maxWait longest long-poll a device may hold; a longer {@code wait} is cut to this
 * @param inboxLimit most deliveries one inbox answer replays; the rest come by cursor
 * @param maxPolls long-polls one gateway process holds at once; more are shed with 503
 * @param sweepInterval how often the sweeper leader runs
 * @param quietTtl how long an inbox PostgreSQL found empty is answered as empty without asking again, unless a
 *     staging for the device is heard of ({@code 0s}: every poll reads PostgreSQL); it bounds how late a delivery
 *     whose notice was lost can be
 */
public record DeliveryConfig(
    Duration ttl,
    Duration minTtl,
    Duration maxTtl,
    Duration retention,
    int maxFiles,
    long maxFileBytes,
    Duration maxWait,
    int inboxLimit,
    int maxPolls,
    Duration sweepInterval,
    Duration quietTtl) {

  /** Longest reject reason kept, in characters. */
  public static final int MAX_REASON_CHARS = 1000;

  public DeliveryConfig {
    if (minTtl.isNegative() || minTtl.compareTo(maxTtl) > 0) {
      throw new IllegalArgumentException("deliveries.min-ttl must not be negative nor above deliveries.max-ttl");
    }
    if (ttl.compareTo(minTtl) < 0 || ttl.compareTo(maxTtl) > 0) {
      throw new IllegalArgumentException("deliveries.ttl must lie between deliveries.min-ttl and deliveries.max-ttl");
    }
    if (retention.isNegative()) {
      throw new IllegalArgumentException("deliveries.retention must not be negative");
    }
    if (maxFiles < 1) {
      throw new IllegalArgumentException("deliveries.max-files must be at least 1");
    }
    if (maxFileBytes < 1) {
      throw new IllegalArgumentException("deliveries.max-file-bytes must be positive");
    }
    if (maxWait.isNegative() || maxWait.toSeconds() > 300) {
      throw new IllegalArgumentException("deliveries.max-wait must lie between 0 and 300 s");
    }
    if (inboxLimit < 1 || inboxLimit > 1000) {
      throw new IllegalArgumentException("deliveries.inbox-limit must lie between 1 and 1000");
    }
    if (maxPolls < 1) {
      throw new IllegalArgumentException("deliveries.max-polls must be at least 1");
    }
    if (sweepInterval.toMillis() < 100) {
      throw new IllegalArgumentException("deliveries.sweep-interval must be at least 100 ms");
    }
    if (quietTtl.isNegative() || quietTtl.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new IllegalArgumentException("deliveries.quiet-ttl must lie between 0s and 5m (it bounds how late a delivery whose notice "
          + "was lost can reach a poll)");
    }
  }

  /** The TTL for a request that asked for {@code seconds} (null: the default); 400 {@code invalid_ttl} out of bounds. */
  public Duration ttlFor(Long seconds) {
    if (seconds == null) {
      return ttl;
    }
    Duration asked = Duration.ofSeconds(seconds);
    if (asked.compareTo(minTtl) < 0 || asked.compareTo(maxTtl) > 0) {
      throw ClientException.badRequest("invalid_ttl", "ttl_seconds must lie between " + minTtl.toSeconds() + " and " + maxTtl.toSeconds());
    }
    return asked;
  }
}

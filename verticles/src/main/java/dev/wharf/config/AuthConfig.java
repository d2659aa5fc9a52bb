package dev.wharf.config;

import java.time.Duration;

/**
 * Bearer-token authentication.
 *
 * @param cacheTtl how long a token that authenticated is trusted without asking PostgreSQL again ({@code 0s}: never);
 *     a revocation reaches every replica through the notice relay at once, and this bounds it when a notice is lost
 * @param cacheSize how many tokens one process keeps at most
 */
public record AuthConfig(Duration cacheTtl, int cacheSize) {

  public AuthConfig {
    if (cacheTtl.isNegative()) {
      throw new IllegalArgumentException("auth.cache-ttl must not be negative");
    }
    if (cacheTtl.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException("auth.cache-ttl must be at most 10m (it bounds how long a revoked token may work on a replica that missed the notice)");
    }
    if (cacheSize < 0) {
      throw new IllegalArgumentException("auth.cache-size must not be negative");
    }
  }
}

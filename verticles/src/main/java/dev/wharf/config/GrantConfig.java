package dev.wharf.config;

import java.time.Duration;

/**
 * Upload grants.
 *
 * @param ttl how long a grant's URL may be used; a grant never used frees its device's slot then
 * @param maxOpenUploads grants a device may hold open (unused and unexpired, or uploading) at once
 * @param tokenKey HMAC key the URL tokens are derived from; every replica must have the same one
 * @param retention how long used and expired grants are kept, so a repeated request still finds its grant
 */
public record GrantConfig(Duration ttl, int maxOpenUploads, byte[] tokenKey, Duration retention) {

  public GrantConfig {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("mqtt.grant-ttl must be positive");
    }
    if (maxOpenUploads < 1) {
      throw new IllegalArgumentException("mqtt.max-open-uploads must be at least 1");
    }
    if (tokenKey == null || tokenKey.length < 16) {
      throw new IllegalArgumentException("mqtt.grant-secret must be at least 16 bytes");
    }
    tokenKey = tokenKey.clone();
  }

  @Override
  public byte[] tokenKey() {
    return tokenKey.clone();
  }
}

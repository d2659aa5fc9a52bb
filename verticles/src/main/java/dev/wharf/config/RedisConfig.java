package dev.wharf.config;

/** Redis connection settings; {@code namespace} is the hash tag of every key (one Cluster slot). */
public record RedisConfig(String uri, int poolSize, String namespace) {

  public RedisConfig {
    if (uri == null || uri.isBlank()) {
      throw new IllegalArgumentException("redis.uri must be set");
    }
    if (namespace == null || namespace.isBlank() || namespace.contains("{") || namespace.contains("}")) {
      throw new IllegalArgumentException("redis.namespace must be a non-empty name without braces");
    }
  }
}

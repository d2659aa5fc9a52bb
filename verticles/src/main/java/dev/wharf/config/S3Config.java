package dev.wharf.config;

import java.net.URI;

/**
 * Object storage settings.
 *
 * @param endpoint S3 endpoint; null for AWS's regional default
 * @param pathStyle path-style addressing (MinIO, s3proxy and friends need it)
 * @param partSize multipart part size in bytes (5 MiB at least); also the single-PUT threshold
 * @param partsInFlight parts uploaded concurrently per upload; memory per upload is about
 *     {@code partSize * (partsInFlight + 1)}
 * @param callTimeout the longest one S3 call may take, retries included (streamed object reads excepted:
 *     a download lasts as long as its client reads)
 * @param attemptTimeout the longest one attempt of a call may take; also how long a streamed object read
 *     may go without a byte while its reader wants more
 * @param maxConnections connections to storage kept for object data (PUT, part uploads, GET) per gateway
 */
public record S3Config(
    URI endpoint,
    String region,
    String bucket,
    String accessKey,
    String secretKey,
    boolean pathStyle,
    int partSize,
    int partsInFlight,
    java.time.Duration callTimeout,
    java.time.Duration attemptTimeout,
    int maxConnections) {

  public static final int MIN_PART_SIZE = 5 * 1024 * 1024;

  /** Connections to storage for object data when {@code s3.max-connections} is not set. */
  public static final int DEFAULT_MAX_CONNECTIONS = 64;

  /** With the default connection pool. */
  public S3Config(URI endpoint, String region, String bucket, String accessKey, String secretKey, boolean pathStyle, int partSize,
      int partsInFlight, java.time.Duration callTimeout, java.time.Duration attemptTimeout) {
    this(endpoint, region, bucket, accessKey, secretKey, pathStyle, partSize, partsInFlight, callTimeout, attemptTimeout,
        DEFAULT_MAX_CONNECTIONS);
  }

  /** With the default timeouts: 90 s a call, 30 s an attempt. */
  public S3Config(URI endpoint, String region, String bucket, String accessKey, String secretKey, boolean pathStyle, int partSize,
      int partsInFlight) {
    this(endpoint, region, bucket, accessKey, secretKey, pathStyle, partSize, partsInFlight, java.time.Duration.ofSeconds(90),
        java.time.Duration.ofSeconds(30), DEFAULT_MAX_CONNECTIONS);
  }

  public S3Config {
    if (callTimeout.toMillis() < 100 || attemptTimeout.toMillis() < 100 || attemptTimeout.compareTo(callTimeout) > 0) {
      throw new IllegalArgumentException("s3.attempt-timeout and s3.call-timeout must be at least 100ms, the attempt no longer than the call");
    }
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("s3.bucket must be set");
    }
    if (partSize < MIN_PART_SIZE) {
      throw new IllegalArgumentException("s3.part-size must be at least " + MIN_PART_SIZE);
    }
    if (maxConnections < 1) {
      throw new IllegalArgumentException("s3.max-connections must be at least 1");
    }
    if (partsInFlight < 1) {
      throw new IllegalArgumentException("s3.parts-in-flight must be at least 1");
    }
  }
}

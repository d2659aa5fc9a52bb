package dev.wharf.config;

import java.net.URI;

/**
 * Object storage settings.
 *
 * @param endpoint S3 endpoint; null for AWS's regional default
 * @param pathStyle path-style addressing (MinIO, s3proxy and friends need it)
 * @param partSize multipart part size in bytes (5 MiB at least); a body that ends within one part is
 *     buffered and sent as one PUT
 * @param partsInFlight parts uploaded concurrently per upload; memory per upload is about
 *     {@code partSize * (partsInFlight + 1)}
 * @param callTimeout the longest one S3 call may take, retries included (streamed object reads excepted:
 *     a download lasts as long as its client reads)
 * @param attemptTimeout the longest one attempt of a call may take; also how long a streamed object read
 *     may go without a byte while its reader wants more
 * @param maxConnections connections to storage kept for object data (PUT, part uploads, GET) per gateway;
 *     streamed PUTs have a pool of this size of their own
 * @param streamedPutMax a body that declares its length, larger than a part and at most this, is streamed
 *     to storage as one PUT (one connection held for the whole body, no part buffers); 0 turns this off,
 *     so every body larger than a part goes up as a multipart upload. At most {@link #MAX_SINGLE_PUT}.
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
    int maxConnections,
    long streamedPutMax) {

  public static final int MIN_PART_SIZE = 5 * 1024 * 1024;

  /** Connections to storage for object data when {@code s3.max-connections} is not set. */
  public static final int DEFAULT_MAX_CONNECTIONS = 64;

  /** S3's largest single PUT, 5 GiB; also the default {@code s3.streamed-put-max}. */
  public static final long MAX_SINGLE_PUT = 5L << 30;

  /** With the default streamed-PUT limit. */
  public S3Config(URI endpoint, String region, String bucket, String accessKey, String secretKey, boolean pathStyle, int partSize,
      int partsInFlight, java.time.Duration callTimeout, java.time.Duration attemptTimeout, int maxConnections) {
    this(endpoint, region, bucket, accessKey, secretKey, pathStyle, partSize, partsInFlight, callTimeout, attemptTimeout,
        maxConnections, MAX_SINGLE_PUT);
  }

  /** With the default connection pool. */
  public S3Config(URI endpoint, String region, String bucket, String accessKey, String secretKey, boolean pathStyle, int partSize,
      int partsInFlight, java.time.Duration callTimeout, java.time.Duration attemptTimeout) {
    this(endpoint, region, bucket, accessKey, secretKey, pathStyle, partSize, partsInFlight, callTimeout, attemptTimeout,
        DEFAULT_MAX_CONNECTIONS, MAX_SINGLE_PUT);
  }

  /** With the default timeouts: 90 s a call, 30 s an attempt. */
  public S3Config(URI endpoint, String region, String bucket, String accessKey, String secretKey, boolean pathStyle, int partSize,
      int partsInFlight) {
    this(endpoint, region, bucket, accessKey, secretKey, pathStyle, partSize, partsInFlight, java.time.Duration.ofSeconds(90),
        java.time.Duration.ofSeconds(30), DEFAULT_MAX_CONNECTIONS, MAX_SINGLE_PUT);
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
    if (streamedPutMax < 0 || streamedPutMax > MAX_SINGLE_PUT) {
      throw new IllegalArgumentException("s3.streamed-put-max must be between 0 (off) and 5GiB, S3's largest single PUT");
    }
    if (partsInFlight < 1) {
      throw new IllegalArgumentException("s3.parts-in-flight must be at least 1");
    }
  }
}

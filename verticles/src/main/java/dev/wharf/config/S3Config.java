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
 */
public record S3Config(
    URI endpoint,
    String region,
    String bucket,
    String accessKey,
    String secretKey,
    boolean pathStyle,
    int partSize,
    int partsInFlight) {

  public static final int MIN_PART_SIZE = 5 * 1024 * 1024;

  public S3Config {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("s3.bucket must be set");
    }
    if (partSize < MIN_PART_SIZE) {
      throw new IllegalArgumentException("s3.part-size must be at least " + MIN_PART_SIZE);
    }
    if (partsInFlight < 1) {
      throw new IllegalArgumentException("s3.parts-in-flight must be at least 1");
    }
  }
}

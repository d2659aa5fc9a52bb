package dev.wharf.gateway.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.wharf.config.DeliveryConfig;
import dev.wharf.config.AuthConfig;
import dev.wharf.config.GrantConfig;
import dev.wharf.config.IngestConfig;
import dev.wharf.config.PostgresConfig;
import dev.wharf.config.RedisConfig;
import dev.wharf.config.S3Config;
import dev.wharf.config.SessionConfig;
import dev.wharf.config.UploadConfig;
import dev.wharf.mqtt.MqttConfig;
import java.io.IOException;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Everything Wharf is configured with, loaded once at start from a YAML file and the environment (the
 * environment wins), validated before anything starts. The README lists every key.
 */
public record WharfConfig(
    HttpConfig http,
    String adminToken,
    PostgresConfig postgres,
    RedisConfig redis,
    S3Config s3,
    UploadConfig uploads,
    SessionConfig sessions,
    IngestConfig ingest,
    DeliveryConfig deliveries,
    GrantConfig grants,
    MqttConfig mqtt,
    AuthConfig auth) {

  /**
   * HTTP listener settings; {@code publicUrl} is how devices reach this gateway (for URLs it hands out).
   * {@code headerTimeout} bounds how long a new connection may take to send a complete request head (a client
   * dripping bytes is closed); {@code idleTimeout} closes a silent connection and bounds the wait for the next
   * head on a kept-alive one; the two sizes bound a request head (431 / 414 beyond).
   */
  /** {@code corsOrigins}: the web origins whose pages may call the API from a browser ({@code *}: any; empty: none). */
  public record HttpConfig(String host, int port, int instances, String publicUrl, Duration headerTimeout,
      Duration idleTimeout, int maxHeaderSize, int maxInitialLineLength, java.util.List<String> corsOrigins) {}

  /** Loads from {@code file} (may be null) and {@code env}. */
  @SuppressWarnings("unchecked")
  public static WharfConfig load(Path file, Map<String, String> env) {
    Map<String, Object> yaml = Map.of();
    if (file != null) {
      try {
        Object parsed = new ObjectMapper(new YAMLFactory()).readValue(Files.readString(file), Map.class);
        yaml = parsed == null ? Map.of() : (Map<String, Object>) parsed;
      } catch (IOException e) {
        throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
      }
    }
    return from(new Settings(yaml, env));
  }

  /**
   * Every {@code WHARF_*} environment variable a setting is read from (plus the few the launcher reads:
   * {@code WHARF_CONFIG}, {@code WHARF_LOG_LEVEL}, {@code WHARF_LOG_FORMAT}), so deployment files can be
   * checked against it.
   */
  public static java.util.Set<String> environmentNames() {
    Settings s = new Settings(Map.of(), Map.of("WHARF_ADMIN_TOKEN", "0123456789abcdef0123"));
    from(s);
    java.util.Set<String> names = new java.util.TreeSet<>();
    s.keysRead().forEach(key -> names.add(Settings.envName(key)));
    names.addAll(java.util.List.of("WHARF_CONFIG", "WHARF_LOG_LEVEL", "WHARF_LOG_FORMAT"));
    return names;
  }

  static WharfConfig from(Settings s) {
    try {
      int port = s.integer("http.port", 8080);
      HttpConfig http = new HttpConfig(
          s.string("http.host", "0.0.0.0"),
          port,
          s.integer("http.instances", Math.max(1, Runtime.getRuntime().availableProcessors())),
          s.string("http.public-url", "http://localhost:" + port),
          s.duration("http.header-timeout", Duration.ofSeconds(10)),
          s.duration("http.idle-timeout", Duration.ofSeconds(120)),
          Math.toIntExact(s.bytes("http.max-header-size", 16L << 10)),
          Math.toIntExact(s.bytes("http.max-initial-line-length", 8L << 10)),
          corsOrigins(s.list("http.cors-origins")));
      if (http.headerTimeout().toMillis() < 1 || http.idleTimeout().toSeconds() < 1) {
        throw new ConfigException(http.headerTimeout().toMillis() < 1 ? "http.header-timeout" : "http.idle-timeout",
            "must be positive (header-timeout ≥ 1ms, idle-timeout ≥ 1s)");
      }
      if (http.maxHeaderSize() < 1024 || http.maxInitialLineLength() < 256) {
        throw new ConfigException(http.maxHeaderSize() < 1024 ? "http.max-header-size" : "http.max-initial-line-length",
            "is too small to carry a request (max-header-size ≥ 1KiB, max-initial-line-length ≥ 256B)");
      }
      String admin = s.required("admin.token");
      if (admin.length() < 16) {
        throw new ConfigException("admin.token", "must be at least 16 characters");
      }
      PostgresConfig postgres = new PostgresConfig(
          s.string("postgres.host", "localhost"),
          s.integer("postgres.port", 5432),
          s.string("postgres.database", "wharf"),
          s.string("postgres.user", "wharf"),
          s.string("postgres.password", ""),
          s.integer("postgres.pool-size", 16));
      RedisConfig redis = new RedisConfig(
          s.string("redis.uri", "redis://localhost:6379"),
          s.integer("redis.pool-size", 16),
          s.string("redis.namespace", "ingest"));
      String endpoint = s.string("s3.endpoint", null);
      // Both keys or neither: without them the SDK's default chain is used (environment, web identity
      // token (IRSA), container and instance roles).
      String accessKey = blankToNull(s.string("s3.access-key", null));
      String secretKey = blankToNull(s.string("s3.secret-key", null));
      if ((accessKey == null) != (secretKey == null)) {
        String missing = accessKey == null ? "s3.access-key" : "s3.secret-key";
        throw new ConfigException(missing, "must be set together with "
            + (accessKey == null ? "s3.secret-key" : "s3.access-key")
            + " (or leave both unset to use the default AWS credentials chain)");
      }
      S3Config s3 = new S3Config(
          endpoint == null ? null : URI.create(endpoint),
          s.string("s3.region", "us-east-1"),
          s.string("s3.bucket", "wharf"),
          accessKey,
          secretKey,
          s.bool("s3.path-style", endpoint != null),
          Math.toIntExact(s.bytes("s3.part-size", 8L << 20)),
          s.integer("s3.parts-in-flight", 2),
          s.duration("s3.call-timeout", Duration.ofSeconds(90)),
          s.duration("s3.attempt-timeout", Duration.ofSeconds(30)),
          s.integer("s3.max-connections", S3Config.DEFAULT_MAX_CONNECTIONS),
          s.bytes("s3.streamed-put-max", S3Config.MAX_SINGLE_PUT));
      UploadConfig uploads = new UploadConfig(
          s.bytes("uploads.max-file-bytes", 16L << 30),
          s.integer("uploads.max-concurrent", 32),
          s.integer("uploads.max-filename-bytes", 255));
      SessionConfig sessions = new SessionConfig(
          s.duration("uploads.session-ttl", Duration.ofHours(24)),
          s.duration("uploads.session-lease", Duration.ofSeconds(20)),
          s.duration("uploads.presign-ttl", Duration.ofHours(1)),
          s.integer("uploads.presign-batch", 100),
          s.duration("uploads.audit-retention", Duration.ofDays(90)),
          s.duration("uploads.sweep-interval", Duration.ofSeconds(60)),
          s.duration("uploads.pause-max", Duration.ofDays(7)));
      IngestConfig ingest = new IngestConfig(
          s.integer("ingest.workers", 1),
          s.integer("ingest.concurrency", 16),
          s.duration("ingest.lease", Duration.ofSeconds(30)),
          s.integer("ingest.max-attempts", 5),
          s.duration("ingest.backoff-base", Duration.ofSeconds(1)),
          s.duration("ingest.backoff-max", Duration.ofMinutes(5)),
          s.duration("ingest.poll-interval", Duration.ofSeconds(5)),
          s.duration("ingest.reconcile-interval", Duration.ofSeconds(60)),
          s.duration("ingest.stale-upload-after", Duration.ofHours(1)),
          s.duration("ingest.stall-timeout", Duration.ofMinutes(5)),
          s.duration("ingest.retention", Duration.ofDays(30)),
          s.integer("ingest.claim-batch", IngestConfig.DEFAULT_CLAIM_BATCH));
      DeliveryConfig deliveries = new DeliveryConfig(
          s.duration("deliveries.ttl", Duration.ofHours(24)),
          s.duration("deliveries.min-ttl", Duration.ofSeconds(60)),
          s.duration("deliveries.max-ttl", Duration.ofDays(7)),
          s.duration("deliveries.retention", Duration.ofHours(1)),
          s.integer("deliveries.max-files", 20),
          s.bytes("deliveries.max-file-bytes", uploads.maxFileBytes()),
          s.duration("deliveries.max-wait", Duration.ofSeconds(60)),
          s.integer("deliveries.inbox-limit", 100),
          s.integer("deliveries.max-polls", 20_000),
          s.duration("deliveries.sweep-interval", Duration.ofSeconds(30)),
          s.duration("deliveries.quiet-ttl", Duration.ofSeconds(5)));
      String grantSecret = s.string("mqtt.grant-secret", null);
      GrantConfig grants = new GrantConfig(
          s.duration("mqtt.grant-ttl", Duration.ofMinutes(15)),
          s.integer("mqtt.max-open-uploads", 4),
          grantSecret == null ? derivedKey("wharf upload grants", admin) : grantSecret.getBytes(StandardCharsets.UTF_8),
          s.duration("mqtt.grant-retention", Duration.ofHours(24)));
      AuthConfig auth = new AuthConfig(
          s.duration("auth.cache-ttl", Duration.ofSeconds(5)),
          s.integer("auth.cache-size", 10_000));
      return new WharfConfig(http, admin, postgres, redis, s3, uploads, sessions, ingest, deliveries, grants, MqttSettings.from(s), auth);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new ConfigException("invalid configuration: " + e.getMessage(), e);
    }
  }

  /** {@code *} alone, or origins as a browser sends them: {@code scheme://host[:port]}, no path, no trailing slash. */
  private static java.util.List<String> corsOrigins(java.util.List<String> origins) {
    if (origins.contains("*") && origins.size() > 1) {
      throw new ConfigException("http.cors-origins", "is either * alone or a list of origins, not both");
    }
    for (String origin : origins) {
      if (!origin.equals("*") && !origin.matches("(?i)https?://[a-z0-9.\\-]+(:[0-9]{1,5})?|(?i)https?://\\[[0-9a-f:.]+\\](:[0-9]{1,5})?")) {
        throw new ConfigException("http.cors-origins", "'" + origin + "' is not an origin (scheme://host[:port], e.g. https://console.example.com)");
      }
    }
    return origins;
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }

  /**
   * A key for {@code purpose} derived from the admin token, which every replica shares; used when no key
   * of its own is configured.
   */
  static byte[] derivedKey(String purpose, String secret) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(purpose.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
      return sha.digest(secret.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

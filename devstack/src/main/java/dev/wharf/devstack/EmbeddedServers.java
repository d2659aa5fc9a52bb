package dev.wharf.devstack;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.RedisServer;

/**
 * A real PostgreSQL, a real Redis server and an in-process S3 server (s3proxy on a local folder), started
 * on free loopback ports with their data under one folder. Used by {@code wharf dev} and by the tests.
 *
 * <p>Starting is blocking (processes are forked and waited on); callers run it once, off any event loop.
 * The servers do not outlive the JVM, and a start cleans up after one that was killed ({@link OrphanGuard}).
 */
public final class EmbeddedServers implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedServers.class);

  /** Credentials of the embedded S3 server. They guard a loopback-only port. */
  public static final String S3_ACCESS_KEY = "wharf-dev";
  public static final String S3_SECRET_KEY = "wharf-dev-secret";
  public static final String S3_BUCKET = "wharf";

  private final Path dataDir;
  private EmbeddedPostgres postgres;
  private int postgresPortKept;
  private RedisServer redis;
  private int redisPort;
  private S3Proxy s3;
  private BlobStoreContext blobContext;
  private int s3Port;
  private Process watchdog;

  private static EmbeddedServers shared;

  private EmbeddedServers(Path dataDir) {
    this.dataDir = dataDir;
  }

  /** Starts all three servers with their data under {@code dataDir} (created if missing, kept on stop). */
  public static EmbeddedServers start(Path dataDir) throws Exception {
    EmbeddedServers servers = new EmbeddedServers(dataDir.toAbsolutePath());
    Files.createDirectories(servers.dataDir);
    OrphanGuard.claim(servers.dataDir);
    try {
      servers.startPostgres();
      servers.startRedis();
      servers.watchdog = OrphanGuard.watch(servers.dataDir);
      servers.startS3();
      return servers;
    } catch (Exception e) {
      servers.close();
      throw e;
    }
  }

  /**
   * One set of servers per JVM, started on first use in a temporary folder and stopped when the JVM exits.
   * Tests share it and isolate themselves by their own tenants, keys and topics.
   */
  public static synchronized EmbeddedServers shared() {
    if (shared == null) {
      try {
        Path dir = Files.createTempDirectory("wharf-test-servers");
        shared = start(dir);
        EmbeddedServers started = shared;
        Runtime.getRuntime().addShutdownHook(new Thread(started::close, "wharf-embedded-servers-stop"));
      } catch (Exception e) {
        throw new IllegalStateException("embedded servers did not start", e);
      }
    }
    return shared;
  }

  private void startPostgres() throws IOException {
    Path pgData = dataDir.resolve("postgres");
    Files.createDirectories(pgData);
    postgres = postgresOn(freePort());
    log.info("embedded postgres started [port={}, data={}]", postgres.getPort(), pgData);
  }

  private EmbeddedPostgres postgresOn(int port) throws IOException {
    return EmbeddedPostgres.builder()
        .setDataDirectory(dataDir.resolve("postgres"))
        .setCleanDataDirectory(false)
        .setPort(port)
        .setPGStartupWait(Duration.ofSeconds(60))
        .setServerConfig("max_connections", "200")
        .start();
  }

  private void startRedis() throws IOException {
    redisPort = freePort();
    startRedisOnItsPort();
    log.info("embedded redis started [port={}, data={}]", redisPort, dataDir.resolve("redis"));
  }

  private void startRedisOnItsPort() throws IOException {
    Path redisData = dataDir.resolve("redis");
    Files.createDirectories(redisData);
    redis = RedisServer.newRedisServer()
        .bind("127.0.0.1")
        .port(redisPort)
        .setting("dir " + redisData)
        .setting("appendonly yes")
        .setting("save 60 1")
        .setting("pidfile " + OrphanGuard.redisPidFile(dataDir))
        .build();
    redis.start();
  }

  private void startS3() throws Exception {
    Path blobs = dataDir.resolve("s3");
    Files.createDirectories(blobs);
    Properties props = new Properties();
    props.setProperty("jclouds.filesystem.basedir", blobs.toString());
    blobContext = ContextBuilder.newBuilder("filesystem")
        .credentials("identity", "credential")
        .overrides(props)
        .build(BlobStoreContext.class);
    blobContext.getBlobStore().createContainerInLocation(null, S3_BUCKET);
    s3Port = freePort();
    startS3Proxy();
    log.info("embedded s3 started [port={}, data={}]", s3Port, blobs);
  }

  /**
   * The {@code WHARF_*} settings that point a Wharf process at these servers (Postgres, Redis, S3 and
   * its credentials, path-style addressing).
   */
  public java.util.Map<String, String> wharfEnvironment() {
    java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
    env.put("WHARF_POSTGRES_HOST", postgresHost());
    env.put("WHARF_POSTGRES_PORT", Integer.toString(postgresPort()));
    env.put("WHARF_POSTGRES_DATABASE", postgresDatabase());
    env.put("WHARF_POSTGRES_USER", postgresUser());
    env.put("WHARF_REDIS_URI", redisUri());
    env.put("WHARF_S3_ENDPOINT", s3Endpoint());
    env.put("WHARF_S3_BUCKET", S3_BUCKET);
    env.put("WHARF_S3_ACCESS_KEY", S3_ACCESS_KEY);
    env.put("WHARF_S3_SECRET_KEY", S3_SECRET_KEY);
    env.put("WHARF_S3_PATH_STYLE", "true");
    return env;
  }

  public String postgresHost() {
    return "127.0.0.1";
  }

  public int postgresPort() {
    return postgres == null ? postgresPortKept : postgres.getPort();
  }

  public String postgresUser() {
    return "postgres";
  }

  public String postgresDatabase() {
    return "postgres";
  }

  public int redisPort() {
    return redisPort;
  }

  public String redisUri() {
    return "redis://127.0.0.1:" + redisPort;
  }

  public String s3Endpoint() {
    return "http://127.0.0.1:" + s3Port;
  }

  public int s3Port() {
    return s3Port;
  }

  /** Stops PostgreSQL, leaving its data in place. */
  public void stopPostgres() throws IOException {
    postgresPortKept = postgres.getPort();
    postgres.close();
    postgres = null;
  }

  /** Starts PostgreSQL again on the port and data folder it had. */
  public void startPostgresAgain() throws IOException {
    postgres = postgresOn(postgresPortKept);
  }

  /** Stops Redis, leaving its data (the append-only file) in place. */
  public void stopRedis() throws IOException {
    redis.stop();
  }

  /** Starts Redis again on the port and data folder it had; it reloads what its append-only file holds. */
  public void startRedisAgain() throws IOException {
    startRedisOnItsPort();
  }

  /** Stops the S3 server, leaving its data in place. */
  public void stopS3() throws Exception {
    s3.stop();
  }

  /** Starts the S3 server again on the port it had. */
  public void startS3Again() throws Exception {
    startS3Proxy();
  }

  private void startS3Proxy() throws Exception {
    s3 = S3Proxy.builder()
        .blobStore(blobContext.getBlobStore())
        .endpoint(URI.create("http://127.0.0.1:" + s3Port))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, S3_ACCESS_KEY, S3_SECRET_KEY)
        .build();
    s3.start();
    Instant deadline = Instant.now().plusSeconds(30);
    while (!"STARTED".equals(s3.getState())) {
      if (Instant.now().isAfter(deadline)) {
        throw new IOException("s3proxy did not start within 30 s (state " + s3.getState() + ")");
      }
      Thread.onSpinWait();
    }
  }

  @Override
  public void close() {
    OrphanGuard.release(watchdog);
    try {
      if (s3 != null) {
        s3.stop();
      }
    } catch (Exception e) {
      log.warn("embedded s3 did not stop cleanly", e);
    }
    if (blobContext != null) {
      blobContext.close();
    }
    try {
      if (redis != null) {
        redis.stop();
      }
    } catch (IOException e) {
      log.warn("embedded redis did not stop cleanly", e);
    }
    try {
      if (postgres != null) {
        postgres.close();
      }
    } catch (IOException e) {
      log.warn("embedded postgres did not stop cleanly", e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }
}

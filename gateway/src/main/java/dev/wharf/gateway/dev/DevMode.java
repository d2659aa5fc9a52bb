package dev.wharf.gateway.dev;

import dev.wharf.auth.TokenStore.IssuedToken;
import dev.wharf.devstack.EmbeddedServers;
import dev.wharf.error.ClientException;
import dev.wharf.gateway.Services;
import dev.wharf.gateway.WharfApp;
import dev.wharf.gateway.config.WharfConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code wharf dev}: real PostgreSQL, Redis and an S3 server embedded, data kept in the dev folder across
 * restarts, a tenant with two devices and a sender bootstrapped once, and {@code dev.env} written with
 * everything a curl walk-through needs.
 */
public final class DevMode {

  private static final Logger log = LoggerFactory.getLogger(DevMode.class);
  public static final String TENANT = "dev";
  public static final String DEVICE = "robot-1";
  public static final String DEVICE2 = "robot-2";

  private DevMode() {}

  /** A running dev stack. */
  public record Running(EmbeddedServers servers, WharfApp app, Map<String, String> env) {}

  /**
   * Starts the embedded servers (on a worker thread: they fork processes and wait for them) and then
   * Wharf on them. {@code env} is the process environment; any {@code WHARF_*} key in it still applies.
   */
  public static Future<Running> start(Vertx vertx, Path devDir, Map<String, String> env) {
    Path envFile = devDir.resolve("dev.env");
    record Prepared(EmbeddedServers servers, Map<String, String> previous) {}
    return vertx.executeBlocking(() -> {
      Files.createDirectories(devDir);
      Map<String, String> previous = readEnvFile(envFile);
      return new Prepared(EmbeddedServers.start(devDir), previous);
    }, false).compose(prepared -> {
      EmbeddedServers servers = prepared.servers();
      WharfConfig config;
      try {
        config = WharfConfig.load(null, withEmbedded(env, servers, prepared.previous()));
      } catch (RuntimeException e) {
        return closeAndFail(vertx, servers, e);
      }
      return WharfApp.start(vertx, config)
          .compose(app -> bootstrap(app.services(), config, prepared.previous())
              .compose(devEnv -> vertx.executeBlocking(() -> {
                writeEnvFile(envFile, devEnv);
                return new Running(servers, app, devEnv);
              }, false)))
          .recover(err -> closeAndFail(vertx, servers, err));
    });
  }

  private static Map<String, String> withEmbedded(Map<String, String> env, EmbeddedServers servers, Map<String, String> previous) {
    Map<String, String> effective = new HashMap<>(env);
    effective.putIfAbsent("WHARF_ADMIN_TOKEN", previous.getOrDefault("WHARF_ADMIN_TOKEN", "wh_admin_" + randomHex(16)));
    servers.wharfEnvironment().forEach(effective::putIfAbsent);
    effective.putIfAbsent("WHARF_HTTP_HOST", "127.0.0.1");
    effective.putIfAbsent("WHARF_MQTT_MODE", "endpoint");
    effective.putIfAbsent("WHARF_MQTT_HOST", "127.0.0.1");
    return effective;
  }

  private static <T> Future<T> closeAndFail(Vertx vertx, EmbeddedServers servers, Throwable err) {
    return vertx.executeBlocking(() -> {
      servers.close();
      return null;
    }, false).transform(v -> Future.failedFuture(err));
  }

  /** Creates the dev tenant, devices and tokens once; later runs keep the tokens recorded in dev.env. */
  static Future<Map<String, String>> bootstrap(Services services, WharfConfig config, Map<String, String> previous) {
    Map<String, String> out = new LinkedHashMap<>();
    out.put("WHARF_URL", config.http().publicUrl());
    if (config.mqtt().mode() == dev.wharf.mqtt.MqttConfig.Mode.ENDPOINT) {
      out.put("WHARF_MQTT_PORT", Integer.toString(config.mqtt().port()));
    }
    out.put("WHARF_ADMIN_TOKEN", config.adminToken());
    out.put("WHARF_TENANT", TENANT);
    out.put("WHARF_DEVICE_ID", DEVICE);
    out.put("WHARF_DEVICE2_ID", DEVICE2);
    return ignoreConflict(services.tenants().createTenant(TENANT, "Development tenant"))
        .compose(v -> ignoreConflict(services.tenants().createDevice(TENANT, DEVICE, "first dev device")))
        .compose(v -> ignoreConflict(services.tenants().createDevice(TENANT, DEVICE2, "second dev device")))
        .compose(v -> token(services, previous, "WHARF_DEVICE_TOKEN", () -> services.tokens().issueDeviceToken(TENANT, DEVICE, "dev")))
        .compose(t -> {
          out.put("WHARF_DEVICE_TOKEN", t);
          return token(services, previous, "WHARF_DEVICE2_TOKEN", () -> services.tokens().issueDeviceToken(TENANT, DEVICE2, "dev"));
        })
        .compose(t -> {
          out.put("WHARF_DEVICE2_TOKEN", t);
          return token(services, previous, "WHARF_SENDER_TOKEN",
              () -> services.tokens().issueSenderToken(TENANT, Set.of("deliver", "read"), "dev sender"));
        })
        .map(t -> {
          out.put("WHARF_SENDER_TOKEN", t);
          return out;
        });
  }

  private static Future<String> token(Services services, Map<String, String> previous, String key,
      java.util.function.Supplier<Future<IssuedToken>> issue) {
    String known = previous.get(key);
    if (known == null) {
      return issue.get().map(IssuedToken::secret);
    }
    return services.tokens().authenticate(known).map(p -> known).recover(err -> issue.get().map(IssuedToken::secret));
  }

  private static Future<Void> ignoreConflict(Future<?> creation) {
    return creation.<Void>mapEmpty().recover(err -> err instanceof ClientException c && c.status() == 409
        ? Future.succeededFuture() : Future.failedFuture(err));
  }

  static Map<String, String> readEnvFile(Path file) throws IOException {
    Map<String, String> values = new HashMap<>();
    if (Files.exists(file)) {
      Properties props = new Properties();
      try (var reader = Files.newBufferedReader(file)) {
        props.load(reader);
      }
      props.forEach((k, v) -> values.put(k.toString(), v.toString()));
    }
    return values;
  }

  static void writeEnvFile(Path file, Map<String, String> values) throws IOException {
    StringBuilder text = new StringBuilder("# Written by `wharf dev`. Source it: set -a; . ./.wharf-dev/dev.env; set +a\n");
    values.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    log.info("dev environment written [file={}]", file);
  }

  private static String randomHex(int bytes) {
    byte[] b = new byte[bytes];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}

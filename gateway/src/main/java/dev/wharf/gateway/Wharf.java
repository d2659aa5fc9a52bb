package dev.wharf.gateway;

import dev.wharf.db.Database;
import dev.wharf.gateway.config.ConfigException;
import dev.wharf.gateway.config.WharfConfig;
import dev.wharf.gateway.dev.DevMode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code wharf} command line: {@code dev} (everything embedded), {@code serve [--config wharf.yaml]}
 * (external services), {@code migrate [--config wharf.yaml]} (apply database migrations and exit).
 */
public final class Wharf {

  private static final Logger log = LoggerFactory.getLogger(Wharf.class);

  private Wharf() {}

  public static void main(String[] args) {
    String command = args.length == 0 ? "help" : args[0];
    Path configFile = configFile(args);
    Map<String, String> env = System.getenv();
    // Netty's epoll transport where it is packaged (Linux x86-64): fewer system calls and wake-ups per request than
    // the JDK's selector. WHARF_NATIVE_TRANSPORT=false keeps the JDK's.
    boolean nativeTransport = !"false".equalsIgnoreCase(env.getOrDefault("WHARF_NATIVE_TRANSPORT", "true").trim());
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(nativeTransport));
    // One hook for every way out (SIGTERM, System.exit, the end of main): the graceful stop once Wharf is up, then
    // the log queue written out, so the last lines (a failed start's cause above all) are not lost with the JVM.
    java.util.concurrent.atomic.AtomicReference<Runnable> stop = new java.util.concurrent.atomic.AtomicReference<>(() -> { });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stop.get().run();
      flushLogs();
    }, "wharf-shutdown"));
    Future<? extends Runnable> started;
    try {
      started = switch (command) {
        case "dev" -> startDev(vertx, env);
        case "serve" -> WharfApp.start(vertx, WharfConfig.load(configFile, env)).map(app -> (Runnable) () -> awaitStop(app.stop()));
        case "migrate" -> Database.migrate(vertx, WharfConfig.load(configFile, env).postgres()).map(n -> {
          System.out.println("migrations applied: " + n);
          vertx.close();
          return (Runnable) () -> { };
        });
        default -> {
          usage();
          vertx.close();
          yield Future.succeededFuture(() -> { });
        }
      };
    } catch (ConfigException e) {
      System.err.println("wharf: " + e.getMessage());
      vertx.close();
      System.exit(2);
      return;
    }
    started.onSuccess(stop::set)
        .onFailure(err -> {
          log.error("wharf failed to start", err);
          System.err.println("wharf: failed to start: " + err.getMessage());
          vertx.close().onComplete(ar -> System.exit(1));
        });
  }

  /** True when the embedded dev servers are on the class path: in wharf.jar, not in wharf-server.jar. */
  private static boolean hasDevServers() {
    try {
      Class.forName("dev.wharf.devstack.EmbeddedServers", false, Wharf.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  private static Future<Runnable> startDev(Vertx vertx, Map<String, String> env) {
    if (!hasDevServers()) {
      throw new ConfigException("`dev` is not in this jar: wharf-server.jar is built without the embedded "
          + "PostgreSQL, Redis and S3 servers. Run `./wharf dev` (wharf.jar) for those, or `serve` here.", (Throwable) null);
    }
    Path devDir = Path.of(env.getOrDefault("WHARF_DEV_DIR", ".wharf-dev")).toAbsolutePath();
    return DevMode.start(vertx, devDir, env).map(running -> {
      Map<String, String> e = running.env();
      System.out.println();
      System.out.println("Wharf dev is up at " + e.get("WHARF_URL") + "  (data in " + devDir + ")");
      System.out.println("Environment written to " + devDir.resolve("dev.env") + "; load it with:");
      System.out.println("  set -a; . " + devDir.resolve("dev.env") + "; set +a");
      System.out.println("Upload a file as " + e.get("WHARF_DEVICE_ID") + ":");
      System.out.println("  curl -sS -X POST " + e.get("WHARF_URL") + "/v1/files -H \"Authorization: Bearer "
          + e.get("WHARF_DEVICE_TOKEN") + "\" -H 'X-Wharf-Filename: hello.json' --data-binary '{\"hello\":\"wharf\"}'");
      if (e.containsKey("WHARF_MQTT_PORT")) {
        System.out.println("Ask for an upload over MQTT (the README's MQTT section has the whole flow):");
        System.out.println("  mosquitto_sub -p " + e.get("WHARF_MQTT_PORT") + " -u " + e.get("WHARF_DEVICE_ID") + " -P \"$WHARF_DEVICE_TOKEN\" -t 'wharf/d/"
            + e.get("WHARF_DEVICE_ID") + "/#' -v &");
        System.out.println("  mosquitto_pub -p " + e.get("WHARF_MQTT_PORT") + " -q 1 -u " + e.get("WHARF_DEVICE_ID") + " -P \"$WHARF_DEVICE_TOKEN\" -t 'wharf/d/"
            + e.get("WHARF_DEVICE_ID") + "/upload/request' -m '{\"req\":\"r1\",\"filename\":\"hello.json\",\"size\":17}'");
      }
      System.out.println();
      return () -> {
        awaitStop(running.app().stop());
        running.servers().close();
      };
    });
  }

  /** Stops logging, which writes out what its queue holds (for at most the appender's {@code maxFlushTime}). */
  private static void flushLogs() {
    if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext context) {
      context.stop();
    }
  }

  /** Waits on a shutdown-hook thread (never an event loop) for a graceful stop, at most 30 s. */
  private static void awaitStop(Future<Void> stopping) {
    CountDownLatch done = new CountDownLatch(1);
    stopping.onComplete(ar -> done.countDown());
    try {
      if (!done.await(30, TimeUnit.SECONDS)) {
        log.warn("graceful stop did not finish within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Path configFile(String[] args) {
    for (int i = 1; i < args.length - 1; i++) {
      if ("--config".equals(args[i])) {
        return Path.of(args[i + 1]);
      }
    }
    String fromEnv = System.getenv("WHARF_CONFIG");
    return fromEnv == null ? null : Path.of(fromEnv);
  }

  private static void usage() {
    System.out.println("""
        usage: wharf <command>
          dev                       run everything embedded (PostgreSQL, Redis, S3) with data in ./.wharf-dev
          serve [--config FILE]     run against external services (YAML config; every key also from WHARF_* env)
          migrate [--config FILE]   apply the database migrations and exit
        """);
  }
}

package dev.wharf.devstack;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the embedded servers from outliving the JVM that started them, and cleans up after one that died
 * anyway ({@code kill -9}, the OOM killer). PostgreSQL is started by {@code pg_ctl}, which detaches it,
 * and Redis is a child that nobody stops when its parent dies, so both would stay behind, holding the
 * data folder.
 *
 * <ul>
 *   <li>{@link #claim}: before the servers start, the data folder's {@code wharf.pid} names the JVM that
 *       last used it. If that JVM still runs, the start stops with a message naming it. If it is gone,
 *       a PostgreSQL ({@code postgres/postmaster.pid}) or Redis ({@code redis/redis.pid}) still running
 *       from that folder is its orphan: it is stopped, with one log line saying so. Then this JVM's pid is
 *       recorded.
 *   <li>{@link #watch}: after the servers start, a small {@code sh} child waits on a pipe from this JVM.
 *       Whenever this JVM ends, however it ends, the kernel closes the pipe and the watchdog sends SIGINT
 *       (PostgreSQL's fast shutdown; Redis shuts down) to the pids in the two pid files.
 * </ul>
 */
final class OrphanGuard {

  private static final Logger log = LoggerFactory.getLogger(OrphanGuard.class);
  static final String OWNER_FILE = "wharf.pid";
  private static final String WATCHDOG = "read _ignored; "
      + "for f in \"$1\" \"$2\"; do [ -f \"$f\" ] && kill -INT \"$(head -n 1 \"$f\")\" 2>/dev/null; done; exit 0";

  private OrphanGuard() {}

  static Path postgresPidFile(Path dataDir) {
    return dataDir.resolve("postgres").resolve("postmaster.pid");
  }

  static Path redisPidFile(Path dataDir) {
    return dataDir.resolve("redis").resolve("redis.pid");
  }

  /**
   * Takes the data folder for this JVM: refuses a folder a live Wharf uses, stops the servers a dead one
   * left running, and records this JVM as the owner. Blocking.
   */
  static void claim(Path dataDir) throws IOException {
    Path ownerFile = dataDir.resolve(OWNER_FILE);
    Optional<ProcessHandle> owner = recordedOwner(ownerFile);
    ProcessHandle self = ProcessHandle.current();
    if (owner.isPresent() && owner.get().pid() != self.pid()) {
      throw new IOException("the data folder " + dataDir + " is in use by a running Wharf (pid " + owner.get().pid()
          + "); stop it first, or use another folder");
    }
    stopOrphan(postgresPidFile(dataDir), "postgres", dataDir);
    stopOrphan(redisPidFile(dataDir), "redis", dataDir);
    String record = self.pid() + " " + self.info().startInstant().map(Instant::toEpochMilli).orElse(0L) + "\n";
    Files.writeString(ownerFile, record, StandardCharsets.UTF_8);
  }

  /**
   * Starts the watchdog for the servers of {@code dataDir}; null where there is no {@code /bin/sh}. Keep
   * the returned process (and so its stdin pipe) referenced for as long as the servers run.
   */
  static Process watch(Path dataDir) {
    if (!Files.isExecutable(Path.of("/bin/sh"))) {
      log.info("no /bin/sh: embedded servers are not watched and may outlive a killed JVM");
      return null;
    }
    try {
      Process watchdog = new ProcessBuilder(List.of("/bin/sh", "-c", WATCHDOG, "wharf-watchdog",
          postgresPidFile(dataDir).toString(), redisPidFile(dataDir).toString()))
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      log.debug("embedded servers watchdog started [pid={}, data={}]", watchdog.pid(), dataDir);
      return watchdog;
    } catch (IOException e) {
      log.warn("embedded servers watchdog did not start; the servers may outlive a killed JVM [cause={}]", e.toString());
      return null;
    }
  }

  /** Stops the watchdog without letting it act: for a clean stop, before the servers are stopped. */
  static void release(Process watchdog) {
    if (watchdog != null) {
      watchdog.destroy();
    }
  }

  /** The JVM recorded in {@code ownerFile} if it still runs (same pid and same start time). */
  private static Optional<ProcessHandle> recordedOwner(Path ownerFile) throws IOException {
    if (!Files.exists(ownerFile)) {
      return Optional.empty();
    }
    String[] parts = Files.readString(ownerFile, StandardCharsets.UTF_8).trim().split("\\s+");
    try {
      long pid = Long.parseLong(parts[0]);
      long started = parts.length > 1 ? Long.parseLong(parts[1]) : 0;
      return ProcessHandle.of(pid)
          .filter(ProcessHandle::isAlive)
          .filter(p -> started == 0 || p.info().startInstant().map(Instant::toEpochMilli).orElse(started) == started);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Stops the process named on the first line of {@code pidFile} if it runs and is {@code server}. */
  private static void stopOrphan(Path pidFile, String server, Path dataDir) throws IOException {
    if (!Files.exists(pidFile)) {
      return;
    }
    List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
    long pid;
    try {
      pid = lines.isEmpty() ? -1 : Long.parseLong(lines.get(0).trim());
    } catch (NumberFormatException e) {
      return;
    }
    Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .filter(p -> p.info().command().map(c -> c.contains(server)).orElse(false));
    if (process.isEmpty()) {
      return;
    }
    log.warn("stopping an embedded {} left running by a Wharf that died [pid={}, data={}]", server, pid, dataDir);
    ProcessHandle orphan = process.get();
    orphan.destroy();
    try {
      orphan.onExit().get(30, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      orphan.destroyForcibly();
      awaitExit(orphan);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while stopping an orphaned " + server, e);
    } catch (ExecutionException e) {
      throw new IOException("could not wait for an orphaned " + server + " to stop", e);
    }
  }

  private static void awaitExit(ProcessHandle process) throws IOException {
    try {
      process.onExit().get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("process " + process.pid() + " did not stop", e);
    }
  }
}

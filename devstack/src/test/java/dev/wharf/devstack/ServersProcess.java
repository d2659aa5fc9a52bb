package dev.wharf.devstack;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A separate JVM that starts the embedded servers on a data folder and keeps them until it is stopped,
 * as {@code wharf dev} does, so a test can kill it with SIGKILL. {@link #main} is the child's side.
 */
final class ServersProcess implements AutoCloseable {

  static final String UP = "embedded servers up";

  final Process process;
  final Path dataDir;
  final List<String> output = new CopyOnWriteArrayList<>();
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

  /** The child: starts the servers, says so, and waits until the JVM is told to end. */
  public static void main(String[] args) throws Exception {
    EmbeddedServers servers = EmbeddedServers.start(Path.of(args[0]));
    Runtime.getRuntime().addShutdownHook(new Thread(servers::close, "servers-stop"));
    System.out.println(UP);
    System.out.flush();
    new CountDownLatch(1).await();
  }

  private ServersProcess(Process process, Path dataDir) {
    this.process = process;
    this.dataDir = dataDir;
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          output.add(line);
          lines.add(line);
        }
      } catch (IOException e) {
        // the child is gone
      }
    }, "servers-process-output");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts the child on {@code dataDir} and waits (at most 3 min) until its servers are up. */
  static ServersProcess start(Path dataDir) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process process = new ProcessBuilder(java, "-Xmx192m", "-cp", System.getProperty("java.class.path"),
        ServersProcess.class.getName(), dataDir.toString())
        .redirectErrorStream(true)
        .start();
    ServersProcess child = new ServersProcess(process, dataDir);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (true) {
      String line = child.lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (line == null) {
        child.kill();
        throw new AssertionError("the servers did not come up; output:\n" + String.join("\n", child.output));
      }
      if (line.equals(UP)) {
        return child;
      }
    }
  }

  long postgresPid() throws IOException {
    return Long.parseLong(Files.readAllLines(OrphanGuard.postgresPidFile(dataDir)).get(0).trim());
  }

  long redisPid() throws IOException {
    return Long.parseLong(Files.readString(OrphanGuard.redisPidFile(dataDir)).trim());
  }

  /** SIGKILL for the watchdog this JVM started, so that nothing cleans up after the JVM. */
  void killWatchdog() throws Exception {
    ProcessHandle watchdog = process.children()
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains("wharf-watchdog")).orElse(false))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no watchdog among the children of " + process.pid()));
    watchdog.destroyForcibly();
    watchdog.onExit().get(30, TimeUnit.SECONDS);
  }

  /** SIGKILL, as the OOM killer or {@code kill -9} would. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM: the JVM's shutdown hook stops the servers. */
  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        kill();
      }
    }
  }
}

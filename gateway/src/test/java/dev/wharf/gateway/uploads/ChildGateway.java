package dev.wharf.gateway.uploads;

import dev.wharf.gateway.TestStack;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A second Wharf in its own JVM ({@code wharf serve}) on the test stack's PostgreSQL, Redis and S3, so a
 * test can kill it for real ({@code kill -9}) and let the stack's own gateway take over.
 */
public final class ChildGateway implements AutoCloseable {

  final Process process;
  public final int port;
  final Path log;

  private ChildGateway(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  static ChildGateway start(TestStack stack) throws Exception {
    return start(stack, Map.of());
  }

  /** As {@link #start(TestStack)}, with settings of its own ({@code WHARF_*} variables) on top. */
  public static ChildGateway start(TestStack stack, Map<String, String> extra) throws Exception {
    return start(stack, extra, false);
  }

  /**
   * As {@link #start(TestStack, Map)}, but logging as {@code wharf.jar} does (its {@code logback.xml}, not the tests')
   * to standard output and error left as a pipe nobody reads ({@link #output()}), as under a stalled log shipper.
   */
  public static ChildGateway startWithUnreadOutput(TestStack stack, Map<String, String> extra) throws Exception {
    return start(stack, extra, true);
  }

  private static ChildGateway start(TestStack stack, Map<String, String> extra, boolean unreadPipe) throws Exception {
    int port = TestStack.freePort();
    Path log = Files.createTempFile("wharf-child-", ".log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new java.util.ArrayList<>(List.of(java, "-Xmx256m", "--add-opens", "java.base/java.security=ALL-UNNAMED",
        "--add-opens", "java.base/sun.security.provider=ALL-UNNAMED", "-cp", System.getProperty("java.class.path")));
    if (unreadPipe) {
      command.add("-Dlogback.configurationFile=" + ChildGateway.class.getClassLoader().getResource("logback.xml"));
    }
    command.addAll(List.of("dev.wharf.gateway.Wharf", "serve"));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    if (!unreadPipe) {
      builder.redirectOutput(log.toFile());
    }
    Map<String, String> env = builder.environment();
    Map<String, String> settings = new java.util.HashMap<>(Map.of("WHARF_HTTP_INSTANCES", "1"));
    settings.putAll(extra);
    env.putAll(TestStack.env(stack.servers, port, settings));
    ChildGateway child = new ChildGateway(builder.start(), port, log);
    child.awaitReady();
    return child;
  }

  private void awaitReady() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError("the child gateway exited: " + Files.readString(log));
      }
      try {
        HttpResponse<String> ready = TusTesting.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (ready.statusCode() == 200) {
          return;
        }
      } catch (java.io.IOException notYet) {
        // not listening yet
      }
      process.waitFor(200, TimeUnit.MILLISECONDS);
    }
    throw new AssertionError("the child gateway did not become ready: " + Files.readString(log));
  }

  /** The child's standard output and error, when they are a pipe ({@link #startWithUnreadOutput}). */
  public java.io.InputStream output() {
    return process.getInputStream();
  }

  /** SIGKILL: no shutdown hook, no graceful stop, no last write. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** The child's log once it holds {@code text}, or as it is after {@code timeout}. */
  public String awaitLog(String text, java.time.Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    String text0 = Files.readString(log);
    while (!text0.contains(text) && System.nanoTime() < deadline && process.isAlive()) {
      process.waitFor(100, TimeUnit.MILLISECONDS);
      text0 = Files.readString(log);
    }
    return text0;
  }

  /** The child's log so far, for a failure message. */
  public String logText() throws java.io.IOException {
    return Files.readString(log);
  }

  @Override
  public void close() throws Exception {
    if (process.isAlive()) {
      kill();
    }
    Files.deleteIfExists(log);
  }

}

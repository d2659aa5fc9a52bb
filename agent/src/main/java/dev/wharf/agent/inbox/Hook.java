package dev.wharf.agent.inbox;

import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.time.Duration;

/**
 * The {@code --exec} command: split on white space (no shell; wrap shell syntax in a script), run with the
 * stored file's path as its last argument, the delivery's metadata in {@code WHARF_DELIVERY_*} variables,
 * the inbox folder as working directory and no standard input. Its output passes through; the tail of its
 * standard error is kept for the reject reason.
 */
final class Hook {

  static final int REASON_LIMIT = 1000;
  private static final int TAIL = 4096;

  private final List<String> command;
  private final Path dir;
  private final Map<String, String> env;
  private final PrintStream out;
  private final PrintStream err;
  private final Duration timeout;

  /** What the command did: its exit code and the tail of its stderr; {@code timedOut} when it was killed for taking too long. */
  record Result(int exitCode, String stderrTail, boolean timedOut) {}

  Hook(String commandLine, Path dir, Map<String, String> env, PrintStream out, PrintStream err, Duration timeout) {
    this.timeout = timeout;
    this.command = Arrays.asList(commandLine.trim().split("\\s+"));
    this.dir = dir;
    this.env = env;
    this.out = out;
    this.err = err;
    requireExecutable();
  }

  /** Checked once at start, so a typo stops the loop before it takes any delivery. */
  private void requireExecutable() {
    String program = command.get(0);
    if (program.contains("/")) {
      Path p = Path.of(program);
      if (!p.isAbsolute()) {
        p = dir.resolve(p).normalize();
      }
      if (!Files.isRegularFile(p) || !Files.isExecutable(p)) {
        throw notExecutable(program);
      }
      return;
    }
    String path = env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
    for (String folder : path.split(File.pathSeparator)) {
      Path p = Path.of(folder.isEmpty() ? "." : folder, program);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return;
      }
    }
    throw notExecutable(program);
  }

  private static AgentException notExecutable(String program) {
    return new AgentException(Exit.EXEC_FAILED, "--exec command not found or not executable: " + program);
  }

  Result run(Path file, Delivery d) {
    List<String> argv = new ArrayList<>(command);
    argv.add(file.toString());
    ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Map<String, String> child = pb.environment();
    child.clear();
    child.putAll(env);
    child.remove("WHARF_DEVICE_TOKEN");
    child.put("WHARF_DELIVERY_ID", d.id());
    child.put("WHARF_DELIVERY_FILENAME", d.filename());
    child.put("WHARF_DELIVERY_PATH", file.toString());
    child.put("WHARF_DELIVERY_SIZE", Long.toString(d.size()));
    child.put("WHARF_DELIVERY_SHA256", d.sha256());
    putIf(child, "WHARF_DELIVERY_CONTENT_TYPE", d.contentType());
    putIf(child, "WHARF_DELIVERY_CREATED_AT", d.createdAt());
    putIf(child, "WHARF_DELIVERY_EXPIRES_AT", d.expiresAt());
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new AgentException(Exit.EXEC_FAILED, "cannot run --exec command " + command.get(0) + ": " + e.getMessage(), e);
    }
    Tail tail = new Tail();
    Thread stdout = pump(process.getInputStream(), out, null);
    Thread stderr = pump(process.getErrorStream(), err, tail);
    try {
      if (timeout != null && !process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor();
        stdout.join(1000);
        stderr.join(1000);
        return new Result(process.exitValue(), tail.text(), true);
      }
      int code = process.waitFor();
      // Bounded: something the command left running in the background may hold its output open.
      stdout.join(5000);
      stderr.join(5000);
      return new Result(code, tail.text(), false);
    } catch (InterruptedException e) {
      process.destroy();
      Thread.currentThread().interrupt();
      throw new java.util.concurrent.CancellationException("interrupted");
    }
  }

  private static void putIf(Map<String, String> env, String key, String value) {
    if (value != null) {
      env.put(key, value);
    }
  }

  private static Thread pump(InputStream in, PrintStream to, Tail tail) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[8192];
      try (in) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          to.write(buffer, 0, n);
          to.flush();
          if (tail != null) {
            tail.add(buffer, n);
          }
        }
      } catch (IOException e) {
        // the child went away; what it wrote so far is kept
      }
    }, "wharf-agent-exec-output");
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** The last {@value #TAIL} bytes written to stderr. */
  private static final class Tail {
    private final byte[] ring = new byte[TAIL];
    private long written;

    synchronized void add(byte[] bytes, int n) {
      for (int i = 0; i < n; i++) {
        ring[(int) (written++ % TAIL)] = bytes[i];
      }
    }

    synchronized String text() {
      int len = (int) Math.min(written, TAIL);
      byte[] copy = new byte[len];
      long start = written - len;
      for (int i = 0; i < len; i++) {
        copy[i] = ring[(int) ((start + i) % TAIL)];
      }
      return new String(copy, StandardCharsets.UTF_8).replace("\uFFFD", "").strip();
    }
  }
}

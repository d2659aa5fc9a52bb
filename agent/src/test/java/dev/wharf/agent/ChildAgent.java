package dev.wharf.agent;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import picocli.CommandLine;

/**
 * The agent as a separate JVM, on exactly the class path the shipped jar holds (the agent's classes, picocli,
 * Jackson), so a test can kill it the way a power cut or the OOM killer would.
 */
final class ChildAgent {

  private ChildAgent() {}

  static Process start(Map<String, String> env, List<String> jvmOptions, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(String.join(File.pathSeparator, location(WharfAgent.class), location(CommandLine.class), location(ObjectMapper.class),
        location(JsonParser.class), location(JsonAutoDetect.class), location(org.eclipse.paho.client.mqttv3.MqttClient.class)));
    command.add(WharfAgent.class.getName());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Reads the child's output until a line matches (answered), or the output ends (null). */
  static String readUntil(Process child, Predicate<String> wanted, StringBuilder transcript) throws Exception {
    BufferedReader reader = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = reader.readLine()) != null) {
      transcript.append(line).append('\n');
      if (wanted.test(line)) {
        return line;
      }
    }
    return null;
  }

  /**
   * Starts {@code upload FILE} in a child JVM (1 MiB chunks, 4 MiB/s), kills it once it reported at least
   * {@code minCommitted} bytes committed, and answers the committed offset it last reported.
   */
  static long killMidUpload(Map<String, String> env, Path file, Path state, long minCommitted) throws Exception {
    Process child = start(env, List.of("-Xmx64m"), "upload", file.toString(), "--state-dir", state.toString(),
        "--progress", "lines", "--chunk-size", "1MiB", "--rate-limit", "4MiB");
    java.util.regex.Pattern committed = java.util.regex.Pattern.compile(
        java.util.regex.Pattern.quote(file.getFileName().toString()) + ": (\\d+) of (\\d+) bytes.*");
    StringBuilder transcript = new StringBuilder();
    try {
      String line = readUntil(child, l -> {
        java.util.regex.Matcher m = committed.matcher(l);
        return m.matches() && Long.parseLong(m.group(1)) >= minCommitted;
      }, transcript);
      if (line == null) {
        throw new AssertionError("the agent ended before committing " + minCommitted + " bytes:\n" + transcript);
      }
      java.util.regex.Matcher m = committed.matcher(line);
      m.matches();
      return Long.parseLong(m.group(1));
    } finally {
      kill(child);
    }
  }

  static void kill(Process child) throws InterruptedException {
    child.destroyForcibly();
    child.waitFor();
  }

  private static String location(Class<?> type) throws Exception {
    return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
  }
}

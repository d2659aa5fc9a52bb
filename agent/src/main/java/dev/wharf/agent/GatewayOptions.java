package dev.wharf.agent;

import dev.wharf.agent.http.Gateway;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options every command that talks to the gateway shares: where, who, and how patiently. */
public final class GatewayOptions {

  @Option(names = "--url", paramLabel = "URL", description = "Base URL of the gateway (default: $WHARF_URL).")
  String url;

  @Option(names = "--token", paramLabel = "TOKEN",
      description = "Device token (default: $WHARF_DEVICE_TOKEN; prefer the variable: flags show up in ps).")
  String token;

  @Option(names = "--retry-for", paramLabel = "DURATION",
      description = "How long to keep retrying network errors and 503s before giving up (exit 5), e.g. 30s, 10m, forever. "
          + "Default: forever for the inbox loop, 10m for inbox --once and upload, 30s otherwise.")
  String retryFor;

  @Option(names = "--max-backoff", paramLabel = "DURATION", defaultValue = "30s",
      description = "Longest wait between two retries (default: ${DEFAULT-VALUE}); waits grow from 0.5 s with jitter.")
  String maxBackoff;

  /** The settings for a command whose default patience is {@code defaultRetryFor} (null: forever). */
  public Gateway open(WharfAgent root, Duration defaultRetryFor) {
    Map<String, String> env = root.env();
    java.io.PrintStream err = root.err();
    Duration retry;
    Duration backoff;
    try {
      retry = retryFor == null ? defaultRetryFor : Units.duration(retryFor);
      backoff = Units.duration(maxBackoff);
    } catch (IllegalArgumentException e) {
      throw new AgentException(Exit.USAGE, e.getMessage());
    }
    String u = url != null ? url : env.get("WHARF_URL");
    String t = token != null ? token : env.get("WHARF_DEVICE_TOKEN");
    return Gateway.open(new Gateway.Settings(u, t, retry, backoff == null ? Duration.ofSeconds(30) : backoff), err);
  }
}

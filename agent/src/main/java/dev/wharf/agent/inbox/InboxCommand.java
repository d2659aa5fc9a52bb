package dev.wharf.agent.inbox;

import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import dev.wharf.agent.Units;
import dev.wharf.agent.WharfAgent;
import dev.wharf.agent.http.Gateway;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code wharf-agent inbox --dir DIR [--exec CMD] [--once]}. */
@Command(name = "inbox", mixinStandardHelpOptions = true,
    description = {"Long-poll this device's inbox and bring each delivery into DIR: fetched to a temporary name, SHA-256 checked, "
        + "fsynced, renamed. Without --exec the delivery is acked once the file is safely in DIR; with --exec CMD runs with the "
        + "file's path as its last argument and WHARF_DELIVERY_{ID,FILENAME,PATH,SIZE,SHA256,CONTENT_TYPE,CREATED_AT,EXPIRES_AT} "
        + "in its environment (WHARF_DEVICE_TOKEN removed): exit 0 acks, anything else rejects with the tail of its stderr.",
        "At-least-once: a delivery not acked before a crash is handled again (a file already in DIR with the right SHA-256 "
        + "is not fetched again). Broken fetches resume with Range; network errors and 503s are retried with backoff."})
public class InboxCommand implements Callable<Integer> {

  @ParentCommand
  WharfAgent root;

  @Mixin
  dev.wharf.agent.GatewayOptions gateway;

  @Option(names = "--dir", required = true, paramLabel = "DIR", description = "Folder the files go to (created if missing).")
  Path dir;

  @Option(names = "--exec", paramLabel = "CMD",
      description = "Command run for each file (split on spaces, no shell: use a script for more); the file's path is appended.")
  String exec;

  @Option(names = "--exec-timeout", paramLabel = "DURATION",
      description = "Kill CMD (and what it started) after this long and reject the delivery, e.g. 10m (default: no limit).")
  String execTimeout;

  @Option(names = "--stall-timeout", paramLabel = "DURATION", defaultValue = "60s",
      description = "Drop a download that received nothing for this long and resume it on a new connection (default: ${DEFAULT-VALUE}).")
  String stallTimeout;

  @Option(names = "--once", description = "Drain what is in the inbox and exit (for cron and tests).")
  boolean once;

  @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "25", description = "Long-poll wait (default: ${DEFAULT-VALUE}).")
  int waitSeconds;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "20", description = "Deliveries per poll (default: ${DEFAULT-VALUE}).")
  int limit;

  @Option(names = "--keep-free", paramLabel = "SIZE", defaultValue = "0",
      description = "Refuse a delivery (exit 6, not acked) that would leave less than this free in DIR, e.g. 500MiB.")
  String keepFree;

  @Override
  public Integer call() {
    long reserve;
    Duration hookTimeout;
    Duration stall;
    try {
      stall = Units.duration(stallTimeout);
      reserve = Units.bytes(keepFree);
      hookTimeout = execTimeout == null ? null : Units.duration(execTimeout);
    } catch (IllegalArgumentException e) {
      throw new AgentException(Exit.USAGE, e.getMessage());
    }
    Path folder = prepare(dir.toAbsolutePath().normalize());
    Hook hook = exec == null ? null : new Hook(exec, folder, root.env(), root.out(), root.err(), hookTimeout);
    Gateway g = gateway.open(root, once ? Duration.ofMinutes(10) : null);
    Fetcher fetcher = new Fetcher(g, folder, reserve, stall == null ? Duration.ofSeconds(60) : stall, root.err());
    InboxLoop loop = new InboxLoop(g, fetcher, hook, waitSeconds, limit, root.out(), root.err());
    if (once) {
      int handled = loop.drain();
      root.err().println("inbox drained: " + handled + (handled == 1 ? " delivery" : " deliveries"));
    } else {
      serve(loop, g);
    }
    return Exit.OK.code;
  }

  /** Handles the inbox until interrupted: here by long-polling; the {@code mqtt} command waits for notices instead. */
  void serve(InboxLoop loop, Gateway gateway) {
    loop.forever();
  }

  private static Path prepare(Path folder) {
    try {
      Files.createDirectories(folder);
    } catch (IOException e) {
      throw new AgentException(Exit.LOCAL_STORAGE, "cannot create " + folder + ": " + e.getMessage());
    }
    if (!Files.isDirectory(folder) || !Files.isWritable(folder)) {
      throw new AgentException(Exit.LOCAL_STORAGE, folder + " is not a writable folder");
    }
    return folder;
  }
}

package dev.wharf.agent.upload;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import dev.wharf.agent.GatewayOptions;
import dev.wharf.agent.Units;
import dev.wharf.agent.WharfAgent;
import dev.wharf.agent.http.Backoff;
import dev.wharf.agent.http.Gateway;
import dev.wharf.agent.http.Refusal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code wharf-agent upload FILE… [--priority P] [--chunk-size 8MiB] [--rate-limit 4MB] [--wait]}. */
@Command(name = "upload", mixinStandardHelpOptions = true,
    description = {"Upload files over tus (/v1/tus), resumably: run the same command again after a kill, a reboot or a dropped "
        + "link and it resumes where the gateway stands (\"resuming at N of M bytes\"). The whole-file SHA-256 is computed "
        + "first and checked by the gateway; every chunk carries its own checksum. A file whose size or mtime changed since "
        + "the last attempt starts over; a file already uploaded is not sent again (--force sends it anyway).",
        "Prints the file id of each upload."})
public final class UploadCommand implements Callable<Integer> {

  @ParentCommand
  WharfAgent root;

  @Mixin
  GatewayOptions gateway;

  @Parameters(arity = "1..*", paramLabel = "FILE", description = "Files to upload, one after the other.")
  List<Path> files;

  @Option(names = "--priority", paramLabel = "P", defaultValue = "normal",
      description = "Ingest priority: urgent, high, normal, low (default: ${DEFAULT-VALUE}).")
  String priority;

  @Option(names = "--chunk-size", paramLabel = "SIZE", defaultValue = "8MiB",
      description = "Bytes per PATCH (default: ${DEFAULT-VALUE}); a resume repeats at most one chunk.")
  String chunkSize;

  @Option(names = "--rate-limit", paramLabel = "RATE", description = "Bytes per second at most, e.g. 4MB (1000²) or 512KiB (1024·).")
  String rateLimit;

  @Option(names = "--wait", description = "Wait until the gateway has verified each file; exit 10 if one failed, printing why.")
  boolean waitForIngest;

  @Option(names = "--force", description = "Upload again a file the state says was already uploaded.")
  boolean force;

  @Option(names = "--state-dir", paramLabel = "DIR",
      description = "Where the upload state lives (default: $WHARF_AGENT_STATE_DIR, else ~/.wharf-agent).")
  Path stateDir;

  @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
      description = "bar, lines or auto (a bar on a terminal, plain lines otherwise; default).")
  String progressMode;

  @Override
  public Integer call() {
    String band = priority.toLowerCase(Locale.ROOT);
    if (!List.of("urgent", "high", "normal", "low").contains(band)) {
      throw new AgentException(Exit.USAGE, "--priority must be urgent, high, normal or low, not " + priority);
    }
    long chunk;
    long rate;
    try {
      chunk = Units.bytes(chunkSize);
      rate = rateLimit == null ? 0 : Units.bytes(rateLimit);
    } catch (IllegalArgumentException e) {
      throw new AgentException(Exit.USAGE, e.getMessage());
    }
    if (chunk < 1) {
      throw new AgentException(Exit.USAGE, "--chunk-size must be at least one byte");
    }
    boolean bar = switch (progressMode) {
      case "bar" -> true;
      case "lines" -> false;
      default -> System.console() != null;
    };
    Gateway g = gateway.open(root, Duration.ofMinutes(10));
    UploadManifest manifest = new UploadManifest(state());
    TusUpload tus = new TusUpload(g, manifest, new TusUpload.Options(band, chunk, new RateLimit(rate), bar, force), root.out(), root.err());
    Exit worst = Exit.OK;
    for (Path file : files) {
      try {
        String id = tus.upload(file);
        root.out().println(id);
        if (waitForIngest) {
          awaitIngest(g, file, id);
        }
      } catch (AgentException e) {
        if (e.exit() == Exit.UNAUTHORIZED || e.exit() == Exit.BAD_URL || e.exit() == Exit.UNREACHABLE || files.size() == 1) {
          throw e;
        }
        root.err().println("wharf-agent: " + e.getMessage());
        if (worst == Exit.OK) {
          worst = e.exit();
        }
      }
    }
    return worst.code;
  }

  private Path state() {
    if (stateDir != null) {
      return stateDir;
    }
    String fromEnv = root.env().get("WHARF_AGENT_STATE_DIR");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return Path.of(fromEnv);
    }
    return Path.of(System.getProperty("user.home"), ".wharf-agent");
  }

  /** Polls the file until ingest ends: processed is fine, failed ends with {@link Exit#INGEST_FAILED}. */
  private void awaitIngest(Gateway g, Path file, String id) {
    Backoff pace = new Backoff(Duration.ofMillis(250), Duration.ofSeconds(5));
    String last = null;
    while (true) {
      JsonNode status;
      try {
        status = g.json("status of " + id, () -> g.request("/v1/files/" + id, Duration.ofSeconds(30)).GET().build());
      } catch (Refusal r) {
        throw new AgentException(Exit.REFUSED, "status of " + id + " refused: " + r.getMessage());
      }
      String s = status.path("status").asText();
      if (!s.equals(last)) {
        root.out().println(file.getFileName() + ": " + s);
        last = s;
      }
      if (s.equals("processed")) {
        return;
      }
      if (s.equals("failed") || s.equals("deleted")) {
        throw new AgentException(Exit.INGEST_FAILED, file.getFileName() + " (" + id + ") failed verification: "
            + status.path("status_detail").asText("no detail"));
      }
      Backoff.pause(pace.next(-1));
    }
  }
}

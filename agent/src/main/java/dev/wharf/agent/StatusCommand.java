package dev.wharf.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wharf.agent.http.Gateway;
import dev.wharf.agent.http.Refusal;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code wharf-agent status FILE_ID}: one file as the gateway sees it. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show one of this device's files: status (uploading, uploaded, processing, processed, failed), detail, size, SHA-256.")
public final class StatusCommand implements Callable<Integer> {

  @ParentCommand
  WharfAgent root;

  @Mixin
  GatewayOptions gateway;

  @Parameters(paramLabel = "FILE_ID", description = "The file id an upload printed.")
  String fileId;

  @Option(names = "--json", description = "Print the gateway's JSON as it is.")
  boolean json;

  @Override
  public Integer call() {
    Gateway g = gateway.open(root, Duration.ofSeconds(30));
    JsonNode file = get(g, fileId);
    if (json) {
      root.out().println(file.toString());
    } else {
      root.out().println(FilesCommand.line(file));
      if (file.hasNonNull("status_detail")) {
        root.out().println("  detail: " + file.get("status_detail").asText());
      }
    }
    return Exit.OK.code;
  }

  /** {@code GET /v1/files/{id}}; a 404 is {@link Exit#REFUSED} with "no such file". */
  static JsonNode get(Gateway g, String fileId) {
    if (!fileId.matches("[0-9a-fA-F-]{36}")) {
      throw new AgentException(Exit.USAGE, "not a file id: " + fileId);
    }
    try {
      return g.json("status", () -> g.request("/v1/files/" + fileId, Duration.ofSeconds(30)).GET().build());
    } catch (Refusal r) {
      if (r.status() == 404) {
        throw new AgentException(Exit.REFUSED, "no such file for this device: " + fileId);
      }
      throw new AgentException(Exit.REFUSED, "status of " + fileId + " refused: " + r.getMessage());
    }
  }
}

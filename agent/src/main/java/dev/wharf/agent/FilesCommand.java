package dev.wharf.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wharf.agent.http.Gateway;
import dev.wharf.agent.http.Refusal;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code wharf-agent files [--status S]}: this device's files, newest pages followed by cursor. */
@Command(name = "files", mixinStandardHelpOptions = true,
    description = "List this device's files (all pages), one line each: id, status, size, name.")
public final class FilesCommand implements Callable<Integer> {

  @ParentCommand
  WharfAgent root;

  @Mixin
  GatewayOptions gateway;

  @Option(names = "--status", paramLabel = "S", description = "Only files in this status: uploading, uploaded, processing, processed, failed.")
  String status;

  @Option(names = "--json", description = "Print each file's JSON on its own line.")
  boolean json;

  @Override
  public Integer call() {
    Gateway g = gateway.open(root, Duration.ofSeconds(30));
    String cursor = null;
    int count = 0;
    do {
      StringBuilder path = new StringBuilder("/v1/files?limit=200");
      if (status != null) {
        path.append("&status=").append(URLEncoder.encode(status, StandardCharsets.UTF_8));
      }
      if (cursor != null) {
        path.append("&cursor=").append(URLEncoder.encode(cursor, StandardCharsets.UTF_8));
      }
      JsonNode page;
      try {
        page = g.json("files", () -> g.request(path.toString(), Duration.ofSeconds(30)).GET().build());
      } catch (Refusal r) {
        throw new AgentException(Exit.REFUSED, "listing refused: " + r.getMessage());
      }
      for (JsonNode file : page.path("items")) {
        root.out().println(json ? file.toString() : line(file));
        count++;
      }
      cursor = page.hasNonNull("next_cursor") ? page.get("next_cursor").asText() : null;
    } while (cursor != null);
    if (!json) {
      root.err().println(count + (count == 1 ? " file" : " files"));
    }
    return Exit.OK.code;
  }

  /** {@code <id>  <status>  <size>  <filename>}. */
  static String line(JsonNode file) {
    return file.path("id").asText() + "  " + String.format("%-10s", file.path("status").asText()) + "  "
        + String.format("%10s", Units.human(file.path("size").asLong())) + "  " + file.path("filename").asText();
  }
}

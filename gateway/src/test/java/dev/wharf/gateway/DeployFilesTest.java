package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.wharf.gateway.config.WharfConfig;
import dev.wharf.grants.GrantService.GrantRequest;
import dev.wharf.files.Priority;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The deployment files say only true things: docker-compose.yml, the Kubernetes manifests, the
 * Prometheus and Grafana files parse; every {@code WHARF_*} variable they set is a real setting; every
 * metric the dashboard and the alert rules query is one {@code /metrics} exports (scraped after an
 * upload, ingest, delivery and grant went through, so the counters exist).
 */
class DeployFilesTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Pattern WHARF_VAR = Pattern.compile("\\bWHARF_[A-Z0-9_]+\\b");
  /** Metric names in PromQL: a name directly followed by a selector, a range, or the end of a term. */
  private static final Pattern METRIC = Pattern.compile("\\b((?:wharf|jvm|process|system)_[a-z0-9_]+|up)\\b(?=\\s*[{\\[)\\s]|$)");

  static Set<String> scraped;

  @BeforeAll
  static void exerciseAndScrape() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = stack.newTenant().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    JsonObject file = stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .putHeader("X-Wharf-Filename", "m.json").sendBuffer(Buffer.buffer("{\"m\":1}"))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).bodyAsJsonObject();
    String workers = stack.startWorkers(1).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    try {
      stack.eventually(Duration.ofSeconds(30), () -> stack.client.get("/v1/files/" + file.getString("id"))
              .bearerTokenAuthentication(t.tokenA()).send().map(r -> "processed".equals(r.bodyAsJsonObject().getString("status"))))
          .toCompletionStage().toCompletableFuture().get(40, TimeUnit.SECONDS);
    } finally {
      stack.vertx.undeploy(workers).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    JsonObject staged = stack.client.post("/v1/devices/" + t.deviceB() + "/deliveries").bearerTokenAuthentication(t.senderToken())
        .sendJsonObject(new JsonObject().put("file_ids", new io.vertx.core.json.JsonArray().add(file.getString("id"))))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).bodyAsJsonObject();
    String delivery = staged.getJsonArray("items").getJsonObject(0).getString("id");
    stack.client.get("/v1/inbox/" + delivery + "/content").bearerTokenAuthentication(t.tokenB()).send()
        .compose(v -> stack.client.post("/v1/inbox/" + delivery + "/ack").bearerTokenAuthentication(t.tokenB()).send())
        .compose(v -> stack.app.services().tokens().authenticate(t.tokenA()))
        .compose(device -> stack.app.services().grants().issue(device,
            new GrantRequest("r-" + UUID.randomUUID(), "g.json", 2, null, "application/json", Priority.NORMAL)))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    String text = stack.client.get("/metrics").send().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).bodyAsString();
    scraped = new TreeSet<>();
    for (String line : text.split("\n")) {
      if (!line.isBlank() && !line.startsWith("#")) {
        scraped.add(line.split("[{ ]", 2)[0]);
      }
    }
  }

  @Test
  void composeManifestsAndMonitoringFilesParse() throws IOException {
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    for (Path file : deployFiles()) {
      String name = file.getFileName().toString();
      if (name.endsWith(".json")) {
        assertThat(new ObjectMapper().readTree(file.toFile())).as(file.toString()).isNotNull();
      } else if (name.endsWith(".yml") || name.endsWith(".yaml")) {
        assertThat(yaml.readTree(file.toFile())).as(file.toString()).isNotNull();
      }
    }
    // SnakeYAML rather than Jackson here: the compose file shares the replicas' settings with merge keys (<<).
    JsonNode compose = new ObjectMapper().valueToTree(new org.yaml.snakeyaml.Yaml().load(Files.readString(ROOT.resolve("docker-compose.yml"))));
    assertThat(compose.path("services").fieldNames()).toIterable()
        .contains("postgres", "redis", "minio", "minio-init", "mosquitto", "wharf-1", "wharf-2", "lb", "prometheus", "grafana");
    compose.path("services").fields().forEachRemaining(service -> {
      if (!service.getKey().equals("minio-init")) {
        assertThat(service.getValue().has("healthcheck")).as(service.getKey() + " has a healthcheck").isTrue();
      }
      service.getValue().path("depends_on").fields().forEachRemaining(dep -> assertThat(dep.getValue().path("condition").asText())
          .as(service.getKey() + " waits for " + dep.getKey()).isIn("service_healthy", "service_completed_successfully"));
    });
  }

  @Test
  void everyWharfVariableTheDeploymentFilesSetIsARealSetting() throws IOException {
    Set<String> known = new TreeSet<>(WharfConfig.environmentNames());
    known.add("WHARF_JAVA_OPTS"); // read by the image's wharf launcher script, not by the configuration
    List<String> unknown = new ArrayList<>();
    for (Path file : deployFiles()) {
      Matcher m = WHARF_VAR.matcher(Files.readString(file));
      while (m.find()) {
        if (!known.contains(m.group())) {
          unknown.add(ROOT.relativize(file) + ": " + m.group());
        }
      }
    }
    assertThat(unknown).as("WHARF_* names that are no setting").isEmpty();
  }

  @Test
  void everyMetricTheDashboardAndAlertsQueryIsExported() throws IOException {
    List<String> exprs = new ArrayList<>();
    new ObjectMapper().readTree(ROOT.resolve("deploy/grafana/dashboards/wharf.json").toFile()).path("panels")
        .forEach(panel -> panel.path("targets").forEach(target -> exprs.add(target.path("expr").asText())));
    new ObjectMapper(new YAMLFactory()).readTree(ROOT.resolve("deploy/prometheus/alerts.yml").toFile()).path("groups")
        .forEach(group -> group.path("rules").forEach(rule -> exprs.add(rule.path("expr").asText())));
    assertThat(exprs).hasSizeGreaterThan(20);
    Set<String> missing = new TreeSet<>();
    for (String expr : exprs) {
      Matcher m = METRIC.matcher(expr);
      while (m.find()) {
        String name = m.group(1);
        if (!name.equals("up") && !scraped.contains(name)) {
          missing.add(name);
        }
      }
    }
    assertThat(missing).as("metrics queried but not exported; exported: " + scraped).isEmpty();
  }

  private static List<Path> deployFiles() throws IOException {
    List<Path> files = new ArrayList<>(List.of(ROOT.resolve("docker-compose.yml")));
    for (String dir : List.of("deploy/docker", "deploy/compose", "deploy/k8s", "deploy/prometheus", "deploy/grafana")) {
      try (Stream<Path> walk = Files.walk(ROOT.resolve(dir))) {
        walk.filter(Files::isRegularFile).forEach(files::add);
      }
    }
    return files;
  }
}

package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.wharf.gateway.config.WharfConfig;
import dev.wharf.gateway.http.ApiVerticle;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code openapi.yaml} is held to the router: every method and path the router serves has its operation
 * in the spec, and every operation in the spec is served. Walking the vertx-web router (rather than
 * building it from the spec with vertx-openapi) keeps the handlers as they are (streamed bodies, long
 * polls, ranges) and still makes a route without a spec entry, or a stale entry, fail the build.
 */
class OpenApiSpecTest {

  private static final Set<String> OPERATIONS = Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
  private static final Pattern PARAM = Pattern.compile("\\{([^}/]+)}|:([A-Za-z0-9_]+)");

  static WharfApp app;
  static Router router;
  static JsonNode spec;

  @BeforeAll
  static void start() throws Exception {
    TestStack stack = TestStack.get();
    // A process of its own with the broker auth secret set, so the /v1/mqtt/* routes are mounted too.
    WharfConfig config = WharfConfig.load(null, TestStack.env(stack.servers, TestStack.freePort(),
        Map.of("WHARF_MQTT_AUTH_SECRET", "openapi-check-secret", "WHARF_HTTP_INSTANCES", "1")));
    app = WharfApp.start(stack.vertx, config).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    ApiVerticle api = new ApiVerticle(app.services());
    stack.vertx.deployVerticle(api).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    router = api.router();
    try (InputStream in = OpenApiSpecTest.class.getClassLoader().getResourceAsStream("openapi.yaml")) {
      spec = new ObjectMapper(new YAMLFactory()).readTree(in);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (app != null) {
      app.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void everyRouteIsInTheSpecAndEverySpecOperationIsRouted() {
    Set<String> served = served();
    Set<String> specified = specified();
    Set<String> missingFromSpec = new TreeSet<>(served);
    missingFromSpec.removeAll(specified);
    Set<String> notServed = new TreeSet<>(specified);
    notServed.removeAll(served);

    StringBuilder report = new StringBuilder();
    if (!missingFromSpec.isEmpty()) {
      report.append("routes the router serves without an operation in gateway/src/main/resources/openapi.yaml:\n");
      missingFromSpec.forEach(r -> report.append("  ").append(r).append('\n'));
    }
    if (!notServed.isEmpty()) {
      report.append("operations in openapi.yaml that no route serves:\n");
      notServed.forEach(r -> report.append("  ").append(r).append('\n'));
    }
    assertThat(served).as("the router exposes routes").isNotEmpty();
    if (!report.isEmpty()) {
      fail(report.toString());
    }
  }

  @Test
  void everyOperationHasAnswersAndDeclaresItsPathParameters() {
    List<String> problems = new ArrayList<>();
    spec.path("paths").fields().forEachRemaining(path -> {
      Set<String> inPath = new TreeSet<>();
      Matcher m = PARAM.matcher(path.getKey());
      while (m.find()) {
        inPath.add(m.group(1));
      }
      Set<String> shared = pathParameters(path.getValue().path("parameters"));
      path.getValue().fields().forEachRemaining(op -> {
        if (!OPERATIONS.contains(op.getKey())) {
          return;
        }
        String name = op.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey();
        if (!op.getValue().path("responses").fields().hasNext()) {
          problems.add(name + ": no responses");
        }
        if (op.getValue().path("summary").asText("").isBlank()) {
          problems.add(name + ": no summary");
        }
        Set<String> declared = new TreeSet<>(shared);
        declared.addAll(pathParameters(op.getValue().path("parameters")));
        if (!declared.equals(inPath)) {
          problems.add(name + ": path parameters declared " + declared + ", in the path " + inPath);
        }
      });
    });
    if (!problems.isEmpty()) {
      fail("openapi.yaml operations incomplete:\n  " + String.join("\n  ", problems));
    }
  }

  /**
   * {@code METHOD /path/{}} for every route with a plain path and methods, sub-routers included (their paths
   * under the prefix they are mounted at); middleware (no method, or /*) is skipped.
   */
  private static Set<String> served() {
    Set<String> out = new TreeSet<>();
    collect(router, "", out);
    return out;
  }

  private static void collect(io.vertx.ext.web.Router routes, String prefix, Set<String> out) {
    for (Route route : routes.getRoutes()) {
      String path = route.getPath();
      if (route.getSubRouter() != null) {
        collect(route.getSubRouter(), prefix + (path.endsWith("/") ? path.substring(0, path.length() - 1) : path), out);
        continue;
      }
      Set<HttpMethod> methods = route.methods();
      if (path == null || !route.isExactPath() || methods == null || methods.isEmpty()) {
        continue;
      }
      String full = prefix + path;
      if (full.length() > 1 && full.endsWith("/")) {
        full = full.substring(0, full.length() - 1);
      }
      for (HttpMethod method : methods) {
        out.add(method.name() + " " + normalise(full));
      }
    }
  }

  private static Set<String> specified() {
    Set<String> out = new TreeSet<>();
    Iterator<Map.Entry<String, JsonNode>> paths = spec.path("paths").fields();
    while (paths.hasNext()) {
      Map.Entry<String, JsonNode> path = paths.next();
      path.getValue().fieldNames().forEachRemaining(op -> {
        if (OPERATIONS.contains(op)) {
          out.add(op.toUpperCase(Locale.ROOT) + " " + normalise(path.getKey()));
        }
      });
    }
    return out;
  }

  /** {@code :id} (vertx-web) and {@code {id}} (OpenAPI) both become {@code {id}}. */
  private static String normalise(String path) {
    return PARAM.matcher(path).replaceAll(m -> "{" + (m.group(1) != null ? m.group(1) : m.group(2)) + "}");
  }

  private static Set<String> pathParameters(JsonNode parameters) {
    Set<String> out = new TreeSet<>();
    for (JsonNode p : parameters) {
      if ("path".equals(p.path("in").asText())) {
        out.add(p.path("name").asText());
      }
    }
    return out;
  }
}

package dev.wharf.agent.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import dev.wharf.agent.Units;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The gateway as the agent sees it: a base URL and a device token, one JDK {@link HttpClient}, and one retry
 * rule. Network errors and 502/503/504 are retried with {@link Backoff} until {@code retryFor} has passed
 * since the first failure (then {@link Exit#UNREACHABLE}); 401/403 end the command with
 * {@link Exit#UNAUTHORIZED}; an answer that shows the URL is not a Wharf gateway ends it with
 * {@link Exit#BAD_URL}. Every other answer goes back to the caller as it is.
 */
public final class Gateway {

  public static final ObjectMapper JSON = new ObjectMapper();
  private static final String USER_AGENT = "wharf-agent/0.1";

  /** Where and who: the base URL, the device token, how long to keep retrying (null: forever), the longest backoff. */
  public record Settings(String url, String token, Duration retryFor, Duration maxBackoff) {}

  private final String base;
  private final String token;
  private final Duration retryFor;
  private final Duration maxBackoff;
  private final HttpClient http;
  private final PrintStream err;

  private Gateway(String base, String token, Duration retryFor, Duration maxBackoff, PrintStream err) {
    this.base = base;
    this.token = token;
    this.retryFor = retryFor;
    this.maxBackoff = maxBackoff;
    this.err = err;
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  /** Checks the URL and the token's presence (not its validity: the first call does that). */
  public static Gateway open(Settings settings, PrintStream err) {
    String url = settings.url();
    if (url == null || url.isBlank()) {
      throw new AgentException(Exit.BAD_URL, "no gateway URL: set WHARF_URL or pass --url");
    }
    try {
      URI uri = new URI(url.trim());
      if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
        throw new URISyntaxException(url, "not an http(s) URL with a host");
      }
    } catch (URISyntaxException e) {
      throw new AgentException(Exit.BAD_URL, "WHARF_URL is not an http(s) URL: " + url);
    }
    if (settings.token() == null || settings.token().isBlank()) {
      throw new AgentException(Exit.UNAUTHORIZED, "no device token: set WHARF_DEVICE_TOKEN or pass --token");
    }
    String trimmed = url.trim().replaceAll("/+$", "");
    return new Gateway(trimmed, settings.token().trim(), settings.retryFor(), settings.maxBackoff(), err);
  }

  public String baseUrl() {
    return base;
  }

  /** The device token (the MQTT endpoint takes it as the password). */
  public String token() {
    return token;
  }

  public Duration maxBackoff() {
    return maxBackoff;
  }

  /** A URI under the base URL; {@code path} starts with {@code /} (a Location header's path, say). */
  public URI uri(String path) {
    if (path.startsWith("http://") || path.startsWith("https://")) {
      return URI.create(path);
    }
    return URI.create(base + path);
  }

  /** A request builder for {@code path} with the token, the agent's name and a timeout. */
  public HttpRequest.Builder request(String path, Duration timeout) {
    return HttpRequest.newBuilder(uri(path))
        .timeout(timeout)
        .header("Authorization", "Bearer " + token)
        .header("User-Agent", USER_AGENT);
  }

  public Backoff newBackoff() {
    return new Backoff(Duration.ofMillis(Math.min(500, maxBackoff.toMillis())), maxBackoff);
  }

  /**
   * Sends {@code request} (built anew for every attempt), retrying as the class says. An answer that is
   * returned to the caller has a status other than 401, 403, 502, 503 and 504.
   */
  public <T> HttpResponse<T> send(String what, Supplier<HttpRequest> request, BodyHandler<T> handler) {
    Backoff backoff = newBackoff();
    long firstFailure = 0;
    while (true) {
      String trouble;
      long retryAfter = -1;
      try {
        HttpResponse<T> response = http.send(request.get(), handler);
        int status = response.statusCode();
        if (status == 502 || status == 503 || status == 504) {
          retryAfter = response.headers().firstValue("Retry-After").map(Gateway::seconds).orElse(-1L);
          String body = bodyText(response.body());
          trouble = status + problemSummary(body);
        } else if (status == 401 || status == 403) {
          Refusal refusal = refusal(status, response.headers().firstValue("Content-Type"), bodyText(response.body()));
          throw new AgentException(Exit.UNAUTHORIZED, "the gateway refused the device token (" + status + ")"
              + (refusal.detail() == null ? "" : ": " + refusal.detail()));
        } else if (status == 404 && notWharf(response)) {
          throw new AgentException(Exit.BAD_URL, "WHARF_URL=" + base + " does not answer like a Wharf gateway (404 on "
              + response.request().method() + " " + response.request().uri().getPath() + ")");
        } else {
          return response;
        }
      } catch (IOException e) {
        trouble = describe(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.util.concurrent.CancellationException("interrupted");
      } catch (IllegalArgumentException e) {
        throw new AgentException(Exit.BAD_URL, "WHARF_URL gives a bad request URL: " + e.getMessage());
      }
      long now = System.nanoTime();
      if (firstFailure == 0) {
        firstFailure = now;
      }
      if (retryFor != null && now - firstFailure >= retryFor.toNanos()) {
        throw new AgentException(Exit.UNREACHABLE, "gateway " + base + " unreachable for " + Units.durationText(retryFor)
            + " (" + what + ": " + trouble + ")");
      }
      Duration wait = backoff.next(retryAfter);
      err.println("wharf-agent: " + what + ": " + trouble + "; retrying in " + Units.durationText(wait));
      Backoff.pause(wait);
    }
  }

  /** Sends and answers the JSON body of a 2xx (null when empty); a 4xx becomes a {@link Refusal}. */
  public JsonNode json(String what, Supplier<HttpRequest> request) {
    HttpResponse<byte[]> response = send(what, request, HttpResponse.BodyHandlers.ofByteArray());
    String text = new String(response.body(), java.nio.charset.StandardCharsets.UTF_8);
    if (response.statusCode() / 100 != 2) {
      throw refusal(response.statusCode(), response.headers().firstValue("Content-Type"), text);
    }
    if (text.isBlank()) {
      return null;
    }
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new AgentException(Exit.BAD_URL, "WHARF_URL=" + base + " answered " + what + " with something that is not JSON");
    }
  }

  /** The problem+json {@code code} and {@code detail} of an error answer, when it has them. */
  public static Refusal refusal(int status, Optional<String> contentType, String body) {
    String code = null;
    String detail = null;
    if (contentType.map(t -> t.contains("json")).orElse(false) && body != null && !body.isBlank()) {
      try {
        JsonNode node = JSON.readTree(body);
        code = node.path("code").isTextual() ? node.get("code").asText() : null;
        detail = node.path("detail").isTextual() ? node.get("detail").asText() : null;
      } catch (IOException e) {
        // not JSON after all: no code
      }
    }
    if (code == null && detail == null && body != null && !body.isBlank()) {
      detail = body.length() > 200 ? body.substring(0, 200) + "…" : body.strip();
    }
    return new Refusal(status, code, detail);
  }

  /** Reads what an error answer carried, whatever the body handler was (bounded: an error body is small). */
  public static String bodyText(Object body) {
    if (body instanceof byte[] bytes) {
      return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }
    if (body instanceof String s) {
      return s;
    }
    if (body instanceof InputStream in) {
      try (in) {
        return new String(in.readNBytes(64 * 1024), java.nio.charset.StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    }
    return "";
  }

  private static boolean notWharf(HttpResponse<?> response) {
    boolean problem = response.headers().firstValue("Content-Type").map(t -> t.contains("problem+json")).orElse(false);
    if (!problem) {
      bodyText(response.body());
      return true;
    }
    return false;
  }

  private static String problemSummary(String body) {
    Refusal r = refusal(0, Optional.of("json"), body);
    return r.code() == null ? "" : " " + r.code();
  }

  private static long seconds(String retryAfter) {
    try {
      return Math.max(0, Long.parseLong(retryAfter.trim()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String describe(IOException e) {
    String name = e.getClass().getSimpleName();
    if (e instanceof java.net.ConnectException) {
      return "connection refused";
    }
    if (e instanceof java.net.http.HttpTimeoutException) {
      return "timed out";
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof java.nio.channels.UnresolvedAddressException || root instanceof java.net.UnknownHostException) {
      return "unknown host";
    }
    return e.getMessage() == null ? name : name + ": " + e.getMessage();
  }
}

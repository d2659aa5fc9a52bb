package dev.wharf.agent.inbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import dev.wharf.agent.Units;
import dev.wharf.agent.http.Backoff;
import dev.wharf.agent.http.Gateway;
import dev.wharf.agent.http.Refusal;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

/**
 * The inbox loop: long-poll, then for each delivery fetch it safely into the folder, run the hook (if any),
 * and ack on success or reject with the hook's stderr tail. At-least-once: nothing is acked before it is on
 * disk (and, with a hook, before the hook said yes); a crash before the ack means the delivery is handled
 * again, without fetching bytes that are already there.
 */
final class InboxLoop {

  private final Gateway gateway;
  private final Fetcher fetcher;
  private final Hook hook;
  private final int waitSeconds;
  private final int limit;
  private final PrintStream out;
  private final PrintStream err;
  /** Deliveries this run has finished with (acked, rejected or gone): never handled twice by one run. */
  private final Set<String> finished = new HashSet<>();

  InboxLoop(Gateway gateway, Fetcher fetcher, Hook hook, int waitSeconds, int limit, PrintStream out, PrintStream err) {
    this.gateway = gateway;
    this.fetcher = fetcher;
    this.hook = hook;
    this.waitSeconds = waitSeconds;
    this.limit = limit;
    this.out = out;
    this.err = err;
  }

  /** Drains what is pending (pages followed by cursor), again until a pass finds nothing new; answers how many were handled. */
  int drain() {
    int handled = 0;
    while (true) {
      int pass = pass(0);
      if (pass <= 0) {
        return handled;
      }
      handled += pass;
    }
  }

  /** Runs until interrupted: each pass starts with a long-poll. */
  void forever() {
    Backoff idle = gateway.newBackoff();
    while (true) {
      int handled = pass(waitSeconds);
      if (handled < 0) {
        // Only deliveries this run already finished came back: do not spin on them.
        Backoff.pause(idle.next(-1));
      } else {
        idle.reset();
      }
    }
  }

  /**
   * One walk over the inbox, first page waiting up to {@code wait} seconds. Answers the number of deliveries
   * handled, or -1 when the inbox held only deliveries this run had already finished.
   */
  private int pass(int wait) {
    String cursor = null;
    int handled = 0;
    boolean sawStale = false;
    Set<String> listed = new HashSet<>();
    do {
      JsonNode page = poll(cursor == null ? wait : 0, cursor);
      for (JsonNode item : page.path("items")) {
        Delivery d = Delivery.of(item);
        listed.add(d.id());
        if (finished.contains(d.id())) {
          sawStale = true;
          continue;
        }
        handle(d);
        finished.add(d.id());
        handled++;
      }
      cursor = page.hasNonNull("next_cursor") ? page.get("next_cursor").asText() : null;
    } while (cursor != null);
    fetcher.dropPartsExcept(listed);
    return handled == 0 && sawStale ? -1 : handled;
  }

  private JsonNode poll(int wait, String cursor) {
    String path = "/v1/inbox?wait=" + wait + "&limit=" + limit
        + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8));
    try {
      return gateway.json("inbox poll", () -> gateway.request(path, Duration.ofSeconds(wait + 30L)).GET().build());
    } catch (Refusal r) {
      if (r.status() == 404) {
        throw new AgentException(Exit.BAD_URL, "WHARF_URL=" + gateway.baseUrl() + " has no inbox (404 on /v1/inbox)");
      }
      throw new AgentException(Exit.REFUSED, "inbox poll refused: " + r.getMessage());
    }
  }

  private void handle(Delivery d) {
    Fetcher.Outcome outcome = fetcher.fetch(d);
    if (outcome instanceof Fetcher.Gone) {
      out.println("gone " + d.id() + " " + d.filename() + " (expired or already finished)");
      return;
    }
    if (outcome instanceof Fetcher.Corrupt corrupt) {
      reject(d, corrupt.reason());
      return;
    }
    Fetcher.Stored stored = (Fetcher.Stored) outcome;
    out.println((stored.fetched() ? "fetched " : "present ") + d.id() + " " + d.filename() + " (" + Units.human(d.size()) + ") -> "
        + stored.path());
    if (hook == null) {
      ack(d);
      return;
    }
    Hook.Result result = hook.run(stored.path(), d);
    if (result.exitCode() == 0) {
      ack(d);
    } else {
      String reason = (result.timedOut() ? "timed out, killed" : "exit " + result.exitCode())
          + (result.stderrTail().isEmpty() ? "" : ": " + result.stderrTail());
      reject(d, reason);
    }
  }

  private void ack(Delivery d) {
    String path = "/v1/inbox/" + d.id() + "/ack";
    try {
      gateway.json("ack " + d.id(), () -> gateway.request(path, Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.noBody()).build());
      out.println("acked " + d.id() + " " + d.filename());
    } catch (Refusal r) {
      err.println("wharf-agent: ack of " + d.id() + " refused: " + r.getMessage());
    }
  }

  private void reject(Delivery d, String reason) {
    String cut = reason.length() > Hook.REASON_LIMIT ? "…" + reason.substring(reason.length() - Hook.REASON_LIMIT + 1) : reason;
    String body = JsonNodeFactory.instance.objectNode().put("reason", cut).toString();
    String path = "/v1/inbox/" + d.id() + "/reject";
    try {
      gateway.json("reject " + d.id(), () -> gateway.request(path, Duration.ofSeconds(30)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body)).build());
      out.println("rejected " + d.id() + " " + d.filename() + ": " + firstLine(cut));
    } catch (Refusal r) {
      err.println("wharf-agent: reject of " + d.id() + " refused: " + r.getMessage());
    }
  }

  private static String firstLine(String text) {
    int nl = text.indexOf('\n');
    return nl < 0 ? text : text.substring(0, nl) + " …";
  }
}

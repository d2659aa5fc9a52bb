package dev.wharf.mqtt;

import dev.wharf.auth.Ids;
import dev.wharf.ingest.IngestWorker;
import io.vertx.core.json.JsonObject;
import java.util.Optional;

/**
 * What Wharf tells devices, taken from the local event bus after commit: file status at the end of
 * ingest, and delivery notices. Each becomes a message for one device of one tenant.
 */
public final class Notices {

  /** File status changes, published by the ingest workers. */
  public static final String FILE_STATUS_ADDRESS = IngestWorker.FILE_STATUS_ADDRESS;
  /** Delivery notices, published by the inbox after a delivery is staged. */
  public static final String INBOX_NOTICE_ADDRESS = "wharf.inbox.notice";
  /**
   * Header a cross-replica relay sets on an event it re-publishes locally. Broker mode skips such events:
   * the replica where the event happened publishes it to the broker, once.
   */
  public static final String RELAYED_HEADER = dev.wharf.events.NoticeRelay.RELAYED_HEADER;

  private Notices() {}

  /** A message for one device. */
  public record Notice(String tenant, String device, TopicKind kind, JsonObject payload) {}

  /** {@code {tenant, device, file_id, status, detail}} → {@code files/status {file_id, status, detail?}}. */
  public static Optional<Notice> fileStatus(JsonObject event) {
    if (!addressed(event) || !(event.getValue("file_id") instanceof String) || !(event.getValue("status") instanceof String)) {
      return Optional.empty();
    }
    JsonObject payload = new JsonObject().put("file_id", event.getString("file_id")).put("status", event.getString("status"));
    if (event.getValue("detail") instanceof String detail) {
      payload.put("detail", detail);
    }
    return Optional.of(new Notice(event.getString("tenant"), event.getString("device"), TopicKind.FILES_STATUS, payload));
  }

  /** {@code {tenant, device, id, filename, size, sha256, expires_at}} → {@code inbox {id, filename, size, sha256, expires_at}}. */
  public static Optional<Notice> inbox(JsonObject event) {
    if (!addressed(event) || !(event.getValue("id") instanceof String)) {
      return Optional.empty();
    }
    JsonObject payload = new JsonObject();
    for (String field : new String[] {"id", "filename", "size", "sha256", "expires_at"}) {
      if (event.containsKey(field)) {
        payload.put(field, event.getValue(field));
      }
    }
    return Optional.of(new Notice(event.getString("tenant"), event.getString("device"), TopicKind.INBOX, payload));
  }

  /**
   * Event bus address of replies (grants, error replies) in this process: every endpoint instance passes
   * them to that device's sessions that subscribed to the reply topic, so a device may ask on one
   * connection and listen on another.
   */
  public static final String REPLY_ADDRESS = "wharf.mqtt.reply";

  /** The event form of a reply to {@code notice.device()}. */
  public static JsonObject replyEvent(Notice notice) {
    return new JsonObject().put("tenant", notice.tenant()).put("device", notice.device())
        .put("kind", notice.kind().name()).put("payload", notice.payload());
  }

  /** {@code {tenant, device, kind, payload}} → the reply it carries. */
  public static Optional<Notice> reply(JsonObject event) {
    if (!addressed(event) || !(event.getValue("kind") instanceof String kind) || !(event.getValue("payload") instanceof JsonObject payload)) {
      return Optional.empty();
    }
    try {
      return Optional.of(new Notice(event.getString("tenant"), event.getString("device"), TopicKind.valueOf(kind), payload));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static boolean addressed(JsonObject event) {
    return event != null && event.getValue("tenant") instanceof String t && Ids.isValidName(t)
        && event.getValue("device") instanceof String d && Ids.isValidName(d);
  }
}

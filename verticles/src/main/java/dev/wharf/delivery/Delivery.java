package dev.wharf.delivery;

import com.fasterxml.jackson.core.JsonGenerator;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.OffsetDateTime;
import java.util.UUID;
import java.util.function.BiConsumer;

/**
 * A file staged for one device. {@code fileId} is set when it points at an existing processed file (whose
 * object it shares and never owns); otherwise the object was written for this delivery and dies with it.
 */
public record Delivery(
    UUID id,
    String tenantId,
    String deviceId,
    String sender,
    UUID fileId,
    String objectKey,
    String filename,
    String contentType,
    long size,
    String sha256,
    DeliveryState state,
    String rejectReason,
    OffsetDateTime createdAt,
    OffsetDateTime fetchedAt,
    OffsetDateTime ackedAt,
    OffsetDateTime rejectedAt,
    OffsetDateTime expiredAt,
    OffsetDateTime expiresAt) {

  /**
   * The 201 answer to a staging request: {@code {"items": [sender views], "next_cursor": null}}, built here so
   * the answer recorded for an {@code Idempotency-Key} in the staging's transaction is the one the route sends.
   */
  public static JsonObject stagedAnswer(java.util.List<Delivery> staged) {
    io.vertx.core.json.JsonArray items = new io.vertx.core.json.JsonArray();
    staged.forEach(d -> items.add(d.toSenderJson()));
    return new JsonObject().put("items", items).put("next_cursor", null);
  }

  /** What the sender sees: where the delivery stands, with every timestamp. The object key stays internal. */
  public JsonObject toSenderJson() {
    JsonObject json = common()
        .put("device", deviceId)
        .put("source", fileId == null ? "upload" : "file")
        .put("acked_at", text(ackedAt))
        .put("rejected_at", text(rejectedAt))
        .put("expired_at", text(expiredAt));
    if (fileId != null) {
      json.put("file_id", fileId.toString());
    }
    if (rejectReason != null) {
      json.put("reject_reason", rejectReason);
    }
    return json;
  }

  /** What the device sees in its inbox, with the path to fetch the bytes from. */
  public JsonObject toInboxJson() {
    JsonObject json = new JsonObject();
    inboxFields(json::put);
    return json;
  }

  /**
   * {@link #toInboxJson()} written straight to {@code out} as one JSON object, without building the object first:
   * the answer to every ack, where building and then walking the map was a few per cent of the request's CPU.
   */
  public void writeInboxJson(JsonGenerator out) throws IOException {
    out.writeStartObject();
    try {
      inboxFields((name, value) -> {
        try {
          out.writeFieldName(name);
          if (value == null) {
            out.writeNull();
          } else if (value instanceof Long number) {
            out.writeNumber(number);
          } else {
            out.writeString((String) value);
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    out.writeEndObject();
  }

  /** The inbox view's fields in order, each a String, a Long or null. */
  private void inboxFields(BiConsumer<String, Object> field) {
    commonFields(field);
    field.accept("content_url", "/v1/inbox/" + id + "/content");
    if (ackedAt != null) {
      field.accept("acked_at", text(ackedAt));
    }
    if (rejectedAt != null) {
      field.accept("rejected_at", text(rejectedAt));
      field.accept("reject_reason", rejectReason);
    }
  }

  /** The notice relayed to every replica (and the MQTT bridge) once the staging committed. */
  public JsonObject toNotice() {
    return new JsonObject()
        .put("tenant", tenantId)
        .put("device", deviceId)
        .put("id", id.toString())
        .put("filename", filename)
        .put("size", size)
        .put("sha256", sha256)
        .put("expires_at", text(expiresAt));
  }

  private JsonObject common() {
    JsonObject json = new JsonObject();
    commonFields(json::put);
    return json;
  }

  /** The fields both views share, in order. */
  private void commonFields(BiConsumer<String, Object> field) {
    field.accept("id", id.toString());
    field.accept("filename", filename);
    field.accept("content_type", contentType);
    field.accept("size", size);
    field.accept("sha256", sha256);
    field.accept("state", state.wireName());
    field.accept("created_at", text(createdAt));
    field.accept("fetched_at", text(fetchedAt));
    field.accept("expires_at", text(expiresAt));
  }

  private static String text(OffsetDateTime at) {
    return at == null ? null : at.toString();
  }
}

package dev.wharf.mqtt;

import dev.wharf.auth.Principal;
import dev.wharf.error.ClientException;
import dev.wharf.error.Outages;
import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import dev.wharf.grants.GrantService;
import dev.wharf.grants.GrantService.GrantRequest;
import dev.wharf.grants.GrantService.IssuedGrant;
import dev.wharf.files.Priority;
import dev.wharf.uploads.UploadSession.Protocol;
import dev.wharf.uploads.UploadSessions;
import dev.wharf.uploads.UploadSessions.NewSession;
import io.vertx.core.json.JsonArray;
import java.util.ArrayList;
import java.util.List;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a device's message means, apart from how it arrived (endpoint or broker): an upload request is
 * answered with a grant, an inbox ack is passed to the inbox. Any failure becomes an error reply with a
 * stable code; the returned future never fails. When it completes with a reply that says
 * {@link Reply#acknowledge()} (or with none), whatever the message asked for is durable, or was refused
 * for good, so the caller may acknowledge it. A dependency outage ({@link Outages}) is the exception: the
 * error reply says {@code …_unavailable} and {@code acknowledge} is false, so the caller withholds the
 * acknowledgement and the message is delivered again.
 */
public final class DeviceMessages {

  private static final Logger log = LoggerFactory.getLogger(DeviceMessages.class);

  private final GrantService grants;
  private final UploadSessions sessions;
  private final InboxAcks inbox;
  private final String grantUrlBase;
  private final int maxPayloadBytes;
  private final MqttMetrics metrics;

  /**
   * @param grantUrlBase public URL of the gateway's HTTP API, to which {@code /v1/grants/{token}} is added
   */
  public DeviceMessages(GrantService grants, UploadSessions sessions, InboxAcks inbox, String grantUrlBase, int maxPayloadBytes,
      MqttMetrics metrics) {
    this.grants = grants;
    this.sessions = sessions;
    this.inbox = inbox;
    this.grantUrlBase = grantUrlBase.endsWith("/") ? grantUrlBase.substring(0, grantUrlBase.length() - 1) : grantUrlBase;
    this.maxPayloadBytes = maxPayloadBytes;
    this.metrics = metrics;
  }

  /**
   * An answer for the device: a payload for one of its topics, and whether the message it answers may be
   * acknowledged (false after an outage: it must be delivered again).
   */
  public record Reply(TopicKind kind, JsonObject payload, boolean acknowledge) {

    public Reply(TopicKind kind, JsonObject payload) {
      this(kind, payload, true);
    }
  }

  /**
   * Handles one message {@code device} published on its own {@code topic}. Answers the reply to send, or
   * null when there is none.
   */
  public Future<Reply> handle(Principal device, String topic, TopicKind kind, Buffer payload) {
    String label = kind == null ? "unknown" : kind.metricName();
    metrics.received(label);
    Future<Reply> result;
    try {
      if (payload.length() > maxPayloadBytes) {
        throw MqttErrors.payloadTooLarge(maxPayloadBytes);
      }
      if (kind == null || !kind.inbound()) {
        throw ClientException.badRequest("unknown_topic", "devices do not publish on " + topic);
      }
      result = switch (kind) {
        case UPLOAD_REQUEST -> uploadRequest(device, payload);
        case INBOX_ACK -> inboxAck(device, payload);
        case UPLOAD_COMPLETE -> uploadComplete(device, payload);
        default -> Future.failedFuture(ClientException.badRequest("unknown_topic", "devices do not publish on " + topic));
      };
    } catch (RuntimeException e) {
      result = Future.failedFuture(e);
    }
    return result.recover(err -> Future.succeededFuture(errorReply(device.tenantId(), device.deviceId(), topic, kind, payload, err)));
  }

  /**
   * The error reply for a message from {@code deviceId} that failed before it could be handled (broker
   * mode: the device's tenant could not be looked up); an outage says not to acknowledge it.
   */
  public Reply failed(String deviceId, String topic, TopicKind kind, Buffer payload, Throwable err) {
    return errorReply(null, deviceId, topic, kind, payload, err);
  }

  private Future<Reply> uploadRequest(Principal device, Buffer payload) {
    JsonObject json = parse(payload);
    String mode = optionalString(json, "mode");
    if ("resumable".equals(mode) || "direct".equals(mode)) {
      return sessionRequest(device, json, "resumable".equals(mode) ? Protocol.TUS : Protocol.DIRECT);
    }
    if (mode != null && !"put".equals(mode)) {
      throw MqttErrors.badRequest("'mode' must be put, resumable or direct");
    }
    GrantRequest request = new GrantRequest(
        requiredString(json, "req"),
        requiredString(json, "filename"),
        size(json),
        optionalString(json, "sha256"),
        optionalString(json, "content_type"),
        Priority.parse(optionalString(json, "priority")));
    return grants.issue(device, request).map(this::grantReply);
  }

  private Reply grantReply(IssuedGrant issued) {
    return new Reply(TopicKind.UPLOAD_GRANT, new JsonObject()
        .put("req", issued.grant().req())
        .put("file_id", issued.grant().id().toString())
        .put("method", "PUT")
        .put("url", grantUrlBase + "/v1/grants/" + issued.token())
        .put("expires_at", issued.grant().expiresAt().toInstant().toString()));
  }

  /**
   * {@code "mode":"resumable"}: a tus upload URL on this gateway; {@code "mode":"direct"}: a session with
   * presigned part URLs (the first batch; more over HTTP). Both count against the device's open uploads, and
   * a repeated {@code req} gets the same session.
   */
  private Future<Reply> sessionRequest(Principal device, JsonObject json, Protocol protocol) {
    String req = requiredString(json, "req");
    NewSession request = new NewSession(requiredString(json, "filename"), optionalString(json, "content_type"), size(json),
        optionalString(json, "sha256"), Priority.parse(optionalString(json, "priority")), req, req);
    return sessions.create(device, protocol, request).compose(session -> {
      JsonObject reply = new JsonObject()
          .put("req", req)
          .put("file_id", session.fileId().toString())
          .put("expires_at", session.expiresAt().toInstant().toString());
      if (protocol == Protocol.TUS) {
        return Future.succeededFuture(new Reply(TopicKind.UPLOAD_GRANT, reply.put("method", "tus")
            .put("url", grantUrlBase + "/v1/tus/" + session.fileId())));
      }
      int count = Math.min(UploadSessions.lastPart(session), sessions.config().presignBatch());
      List<Integer> numbers = new ArrayList<>();
      for (int n = 1; n <= count; n++) {
        numbers.add(n);
      }
      return sessions.presign(device, session.fileId(), numbers).map(urls -> {
        JsonArray parts = new JsonArray();
        urls.forEach(u -> parts.add(new JsonObject().put("number", u.number()).put("url", u.url()).put("expires_at", u.expiresAt().toString())));
        return new Reply(TopicKind.UPLOAD_GRANT, reply.put("method", "direct").put("part_size", session.partSize())
            .put("parts_total", UploadSessions.lastPart(session)).put("parts", parts)
            .put("more_parts", grantUrlBase + "/v1/uploads/" + session.fileId() + "/parts"));
      });
    });
  }

  /** {@code upload/complete}: the parts of a direct session are in storage; the answer goes to files/status. */
  private Future<Reply> uploadComplete(Principal device, Buffer payload) {
    JsonObject json = parse(payload);
    String raw = requiredString(json, "file_id");
    UUID id;
    try {
      id = UUID.fromString(raw);
    } catch (IllegalArgumentException e) {
      throw ClientException.notFound("upload");
    }
    Object req = json.getValue("req");
    return sessions.completeDirect(device, id, req instanceof String s ? s : null).map(file -> {
      JsonObject status = new JsonObject().put("file_id", file.id().toString()).put("status", file.status().wireName());
      if (req instanceof String s) {
        status.put("req", s);
      }
      return new Reply(TopicKind.FILES_STATUS, status);
    });
  }

  private Future<Reply> inboxAck(Principal device, Buffer payload) {
    JsonObject json = parse(payload);
    String raw = requiredString(json, "id");
    UUID id;
    try {
      id = UUID.fromString(raw);
    } catch (IllegalArgumentException e) {
      throw ClientException.notFound("delivery");
    }
    return inbox.ack(device, id).map(v -> {
      log.info("delivery acked over mqtt [tenant={}, device={}, delivery={}]", device.tenantId(), device.deviceId(), id);
      return (Reply) null;
    });
  }

  private Reply errorReply(String tenantId, String deviceId, String topic, TopicKind kind, Buffer payload, Throwable err) {
    WharfException e = MqttErrors.classify(err);
    metrics.error(e.code());
    boolean redeliver = Outages.isRetryable(e);
    String logged = Topics.loggable(topic);
    if (redeliver) {
      log.warn("mqtt message not handled, left for redelivery [tenant={}, device={}, topic={}, code={}, cause={}]",
          tenantId, deviceId, logged, e.code(), e.getCause() == null ? e.getMessage() : e.getCause().toString());
    } else if (e instanceof ServerException && e.getCause() != null) {
      log.error("mqtt message failed [tenant={}, device={}, topic={}]", tenantId, deviceId, logged, e.getCause());
    } else {
      log.info("mqtt message refused [tenant={}, device={}, topic={}, code={}, message={}]",
          tenantId, deviceId, logged, e.code(), e.getMessage());
    }
    JsonObject body = new JsonObject();
    TopicKind replyKind = kind == null ? TopicKind.ERRORS : kind.replyTopic();
    Object id = peek(payload, replyKind == TopicKind.UPLOAD_GRANT ? "req" : kind == TopicKind.UPLOAD_COMPLETE ? "file_id" : "id");
    if (replyKind == TopicKind.UPLOAD_GRANT) {
      body.put("req", id);
    } else {
      body.put("topic", topic);
      if (id != null) {
        body.put("id", id);
      }
    }
    return new Reply(replyKind, body.put("error", MqttErrors.toJson(e)), !redeliver);
  }

  /** The string field {@code field} of a payload, if it parses and is small enough; for error replies. */
  private Object peek(Buffer payload, String field) {
    if (payload.length() > maxPayloadBytes) {
      return null;
    }
    try {
      Object value = new JsonObject(payload).getValue(field);
      return value instanceof String s && s.length() <= 128 ? s : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static JsonObject parse(Buffer payload) {
    try {
      return new JsonObject(payload);
    } catch (DecodeException | ClassCastException e) {
      throw ClientException.badRequest("malformed_json", "the payload is not a JSON object");
    }
  }

  private static String requiredString(JsonObject json, String field) {
    Object value = json.getValue(field);
    if (!(value instanceof String s) || s.isEmpty()) {
      throw MqttErrors.badRequest("'" + field + "' is required and must be a non-empty string");
    }
    return s;
  }

  private static String optionalString(JsonObject json, String field) {
    Object value = json.getValue(field);
    if (value != null && !(value instanceof String)) {
      throw MqttErrors.badRequest("'" + field + "' must be a string");
    }
    return (String) value;
  }

  private static long size(JsonObject json) {
    Object value = json.getValue("size");
    if (value instanceof Integer || value instanceof Long) {
      return ((Number) value).longValue();
    }
    if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) < 9e15) {
      return n.longValue();
    }
    throw MqttErrors.badRequest("'size' is required and must be a whole number of bytes");
  }
}

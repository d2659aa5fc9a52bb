package dev.wharf.gateway.http;

import dev.wharf.auth.Ids;
import dev.wharf.auth.Principal;
import dev.wharf.blob.PartInfo;
import dev.wharf.blob.StoredPart;
import dev.wharf.error.ClientException;
import dev.wharf.error.WharfException;
import dev.wharf.files.FileRecord;
import dev.wharf.files.Priority;
import dev.wharf.uploads.UploadSession;
import dev.wharf.uploads.UploadSession.Protocol;
import dev.wharf.uploads.UploadSessions;
import dev.wharf.uploads.UploadSessions.NewSession;
import dev.wharf.uploads.UploadSessions.PresignedPart;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * {@code /v1/uploads}: resumable uploads straight to storage. The device gets presigned part URLs (no
 * storage credential ever reaches it), PUTs the parts itself, and asks the gateway to complete; the
 * gateway never sees the bytes and ingest verifies them. {@code GET} lists the parts storage holds, so a
 * device that lost its state resumes from there. Also {@code GET /v1/files/{id}/events}: the audit trail
 * of an upload.
 */
final class UploadRoutes {

  private final UploadSessions sessions;
  private final UploadSlots slots;

  UploadRoutes(UploadSessions sessions, UploadSlots slots) {
    this.sessions = sessions;
    this.slots = slots;
  }

  /** {@code router} serves {@code /v1/uploads}, {@code files} serves {@code /v1/files} (the file's event history). */
  void mount(Router router, Router files) {
    router.post("/").handler(this::create);
    router.get("/:id").handler(ctx -> Replies.json(ctx, 200, () -> {
      Principal device = Authn.principal(ctx).requireDevice();
      UUID id = Ids.uuid("upload", ctx.pathParam("id"));
      return sessions.get(device, id, Protocol.DIRECT)
          .compose(session -> sessions.storedParts(device, id).map(parts -> describe(session, parts)));
    }));
    router.post("/:id/parts").handler(ctx -> Replies.json(ctx, 200, () -> {
      Principal device = Authn.principal(ctx).requireDevice();
      UUID id = Ids.uuid("upload", ctx.pathParam("id"));
      List<Integer> numbers = partNumbers(Replies.body(ctx));
      return sessions.presign(device, id, numbers).map(urls -> new JsonObject().put("parts", urlsJson(urls)));
    }));
    router.put("/:id/parts/:n").handler(this::putPart);
    router.post("/:id/pause").handler(ctx -> Replies.json(ctx, 200, () -> {
      Principal device = Authn.principal(ctx).requireDevice();
      UUID id = Ids.uuid("upload", ctx.pathParam("id"));
      return sessions.pause(device, id, RequestIds.of(ctx)).map(session -> describe(session, null));
    }));
    router.post("/:id/resume").handler(ctx -> Replies.json(ctx, 200, () -> {
      Principal device = Authn.principal(ctx).requireDevice();
      UUID id = Ids.uuid("upload", ctx.pathParam("id"));
      // What storage holds, and fresh URLs for the parts it does not (up to one batch): all a device needs to go on.
      return sessions.resume(device, id, RequestIds.of(ctx)).compose(session -> sessions.storedParts(device, id)
          .compose(stored -> missingUrls(device, session, stored).map(urls -> describe(session, stored).put("parts", urlsJson(urls)))));
    }));
    router.post("/:id/complete").handler(ctx -> Replies.json(ctx, 200, () -> {
      Principal device = Authn.principal(ctx).requireDevice();
      UUID id = Ids.uuid("upload", ctx.pathParam("id"));
      return sessions.completeDirect(device, id, RequestIds.of(ctx)).map(FileRecord::toJson);
    }));
    router.delete("/:id").handler(ctx -> Replies.json(ctx, 204, () -> {
      Principal device = Authn.principal(ctx).requireDevice();
      UUID id = Ids.uuid("upload", ctx.pathParam("id"));
      return sessions.terminate(device, id, Protocol.DIRECT, RequestIds.of(ctx)).map(v -> null);
    }));
    files.get("/:id/events").handler(ctx -> Replies.json(ctx, 200, () -> {
      Principal caller = Authn.requireReader(ctx);
      UUID id = Ids.uuid("file", ctx.pathParam("id"));
      return sessions.events(caller, id).map(events -> new JsonObject().put("items", new JsonArray(events)));
    }));
  }

  private void create(RoutingContext ctx) {
    Replies.json(ctx, 201, () -> {
      Principal device = Authn.principal(ctx).requireDevice();
      JsonObject body = Replies.body(ctx);
      NewSession command = new NewSession(string(body, "filename", true), string(body, "content_type", false), size(body),
          string(body, "sha256", false), Priority.parse(string(body, "priority", false)), null, RequestIds.of(ctx));
      return sessions.create(device, Protocol.DIRECT, command).compose(session -> firstUrls(device, session)
          .map(urls -> {
            ctx.response().putHeader("Location", "/v1/uploads/" + session.fileId());
            return describe(session, null).put("parts", urlsJson(urls));
          }));
    });
  }

  /**
   * {@code PUT /v1/uploads/{id}/parts/{n}}: part {@code n} through the gateway, streamed to storage; the body's
   * {@code Content-Length} must be the part's size (411 {@code length_required} without one).
   */
  private void putPart(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Principal device;
    UUID id;
    int number;
    long length;
    try {
      device = Authn.principal(ctx).requireDevice();
      id = Ids.uuid("upload", ctx.pathParam("id"));
      number = partNumber(ctx.pathParam("n"));
      Long declared = Bodies.declaredLength(request);
      if (declared == null) {
        throw new ClientException(411, "length_required", "send the part with a Content-Length (its exact size)");
      }
      length = declared;
    } catch (WharfException e) {
      ctx.fail(e);
      return;
    }
    slots.run(() -> sessions.putPart(device, id, number, length, request, RequestIds.of(ctx))).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      StoredPart stored = ar.result();
      JsonObject body = new JsonObject().put("number", stored.part().number()).put("size", stored.part().size())
          .put("etag", stored.part().etag()).put("sha256", stored.sha256());
      ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json").end(Replies.encode(body));
    });
  }

  private static int partNumber(String raw) {
    try {
      int n = Integer.parseInt(raw);
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ClientException.badRequest("invalid_part", "a part number is a whole number from 1");
  }

  /** URLs for the parts storage does not hold yet, as many as one batch allows (none when it holds them all). */
  private Future<List<PresignedPart>> missingUrls(Principal device, UploadSession session, List<PartInfo> stored) {
    java.util.Set<Integer> have = new java.util.HashSet<>();
    stored.forEach(p -> have.add(p.number()));
    List<Integer> numbers = new ArrayList<>();
    for (int n = 1; n <= UploadSessions.lastPart(session) && numbers.size() < sessions.config().presignBatch(); n++) {
      if (!have.contains(n)) {
        numbers.add(n);
      }
    }
    return numbers.isEmpty() ? Future.succeededFuture(List.of()) : sessions.presign(device, session.fileId(), numbers);
  }

  /** URLs for the first parts, as many as one batch allows. */
  private Future<List<PresignedPart>> firstUrls(Principal device, UploadSession session) {
    int count = Math.min(UploadSessions.lastPart(session), sessions.config().presignBatch());
    List<Integer> numbers = new ArrayList<>();
    for (int n = 1; n <= count; n++) {
      numbers.add(n);
    }
    return sessions.presign(device, session.fileId(), numbers);
  }

  private static JsonObject describe(UploadSession s, List<PartInfo> stored) {
    JsonObject json = new JsonObject()
        .put("id", s.fileId().toString())
        .put("file_id", s.fileId().toString())
        .put("state", s.paused() ? "paused" : s.state().name().toLowerCase(java.util.Locale.ROOT))
        .put("filename", s.filename())
        .put("size", s.declaredLength())
        .put("part_size", s.partSize())
        .put("parts_total", UploadSessions.lastPart(s))
        .put("expires_at", s.expiresAt() == null ? null : s.expiresAt().toInstant().toString());
    if (s.expectedSha256() != null) {
      json.put("sha256", s.expectedSha256());
    }
    if (s.paused()) {
      json.put("paused_at", s.pausedAt().toInstant().toString());
    }
    if (stored != null) {
      JsonArray parts = new JsonArray();
      long bytes = 0;
      for (PartInfo p : stored) {
        parts.add(new JsonObject().put("number", p.number()).put("size", p.size()).put("etag", p.etag()));
        bytes += p.size();
      }
      json.put("parts", parts).put("bytes_stored", bytes);
    }
    return json;
  }

  private static JsonArray urlsJson(List<PresignedPart> urls) {
    JsonArray array = new JsonArray();
    urls.forEach(u -> array.add(new JsonObject().put("number", u.number()).put("method", "PUT").put("url", u.url())
        .put("expires_at", u.expiresAt().toString())));
    return array;
  }

  private static List<Integer> partNumbers(JsonObject body) {
    Object raw = body.getValue("parts");
    if (!(raw instanceof JsonArray array) || array.isEmpty()) {
      throw ClientException.badRequest("invalid_parts", "'parts' must be a non-empty array of part numbers");
    }
    List<Integer> numbers = new ArrayList<>();
    for (Object o : array) {
      if (!(o instanceof Integer n)) {
        throw ClientException.badRequest("invalid_parts", "part numbers are whole numbers");
      }
      numbers.add(n);
    }
    return numbers;
  }

  private static String string(JsonObject body, String field, boolean required) {
    Object value = body.getValue(field);
    if (value == null && !required) {
      return null;
    }
    if (!(value instanceof String s) || s.isEmpty()) {
      throw ClientException.badRequest("bad_request", "'" + field + "' " + (required ? "is required and " : "") + "must be a non-empty string");
    }
    return s;
  }

  private static long size(JsonObject body) {
    Object value = body.getValue("size");
    if (value instanceof Integer || value instanceof Long) {
      return ((Number) value).longValue();
    }
    throw ClientException.badRequest("invalid_length", "'size' is required and must be a whole number of bytes");
  }
}

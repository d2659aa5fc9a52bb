package dev.wharf.gateway.http;

import dev.wharf.auth.Ids;
import dev.wharf.auth.Principal;
import dev.wharf.error.ClientException;
import dev.wharf.error.WharfException;
import dev.wharf.files.Priority;
import dev.wharf.uploads.ChunkChecksum;
import dev.wharf.uploads.UploadSession;
import dev.wharf.uploads.UploadSession.Protocol;
import dev.wharf.uploads.UploadSessions;
import dev.wharf.uploads.UploadSessions.NewSession;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * tus 1.0.0 at {@code /v1/tus} (core, creation, creation-with-upload, creation-defer-length, termination,
 * checksum, expiration), so stock tus clients upload with resume. The upload URL is
 * {@code /v1/tus/{file id}}: once the last byte is in, {@code GET /v1/files/{id}} shows the file. Every
 * request but OPTIONS carries the device's bearer token; another device's upload is 404.
 */
final class TusRoutes {

  static final String VERSION = "1.0.0";
  static final String EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration";
  private static final String OCTETS = "application/offset+octet-stream";
  /** RFC 9110's IMF-fixdate (two-digit day), as tus clients parse Upload-Expires. */
  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", java.util.Locale.US)
      .withZone(ZoneOffset.UTC);

  private final UploadSessions sessions;
  private final UploadSlots slots;

  TusRoutes(UploadSessions sessions, UploadSlots slots) {
    this.sessions = sessions;
    this.slots = slots;
  }

  /** Before authentication: the protocol headers on every answer, discovery, and the version check. */
  void mountPublic(Router router) {
    router.route("/v1/tus*").handler(ctx -> {
      ctx.response().putHeader("Tus-Resumable", VERSION);
      if (ctx.request().method() != io.vertx.core.http.HttpMethod.OPTIONS && !VERSION.equals(ctx.request().getHeader("Tus-Resumable"))) {
        ctx.response().putHeader("Tus-Version", VERSION);
        ctx.fail(new ClientException(412, "unsupported_tus_version", "this server speaks tus " + VERSION + " (send Tus-Resumable: " + VERSION + ")"));
        return;
      }
      ctx.next();
    });
    router.options("/v1/tus").handler(this::options);
    router.options("/v1/tus/:id").handler(this::options);
    // Clients on HTTP stacks without PATCH (Java's HttpURLConnection, so tus-java-client) send POST with
    // X-HTTP-Method-Override, as the tus protocol allows.
    router.post("/v1/tus/:id").handler(ctx -> {
      String override = ctx.request().getHeader("X-HTTP-Method-Override");
      // Matched as text: any other value, a malformed one included, is the 405 below.
      io.vertx.core.http.HttpMethod method = override == null ? null : switch (override.trim().toUpperCase(Locale.ROOT)) {
        case "PATCH" -> io.vertx.core.http.HttpMethod.PATCH;
        case "HEAD" -> io.vertx.core.http.HttpMethod.HEAD;
        case "DELETE" -> io.vertx.core.http.HttpMethod.DELETE;
        default -> null;
      };
      if (method != null) {
        ctx.reroute(method, ctx.request().path());
      } else {
        ctx.fail(new ClientException(405, "method_not_allowed", "POST to an upload URL needs X-HTTP-Method-Override: PATCH, HEAD or DELETE"));
      }
    });
  }

  void mount(Router router) {
    router.post("/v1/tus").handler(this::create);
    router.head("/v1/tus/:id").handler(this::head);
    router.patch("/v1/tus/:id").handler(this::patch);
    router.delete("/v1/tus/:id").handler(ctx -> {
      try {
        Principal device = Authn.principal(ctx).requireDevice();
        UUID id = Ids.uuid("upload", ctx.pathParam("id"));
        sessions.terminate(device, id, Protocol.TUS, RequestIds.of(ctx))
            .onSuccess(v -> ctx.response().setStatusCode(204).end())
            .onFailure(ctx::fail);
      } catch (WharfException e) {
        ctx.fail(e);
      }
    });
  }

  private void options(RoutingContext ctx) {
    ctx.response().setStatusCode(204)
        .putHeader("Tus-Version", VERSION)
        .putHeader("Tus-Extension", EXTENSIONS)
        .putHeader("Tus-Max-Size", Long.toString(sessions.maxFileBytes()))
        .putHeader("Tus-Checksum-Algorithm", ChunkChecksum.SUPPORTED)
        .end();
  }

  private void create(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Principal device;
    NewSession command;
    boolean withUpload;
    ChunkChecksum checksum;
    try {
      device = Authn.principal(ctx).requireDevice();
      Long length = length(request);
      Map<String, String> meta = metadata(request.getHeader("Upload-Metadata"));
      String filename = first(meta, "filename", "name");
      command = new NewSession(filename == null ? "upload" : filename, first(meta, "filetype", "type", "content_type"), length,
          meta.get("sha256"), Priority.parse(meta.get("priority")), null, RequestIds.of(ctx));
      withUpload = hasChunk(request);
      checksum = withUpload ? ChunkChecksum.parse(request.getHeader("Upload-Checksum")) : null;
    } catch (WharfException e) {
      ctx.fail(e);
      return;
    }
    sessions.create(device, Protocol.TUS, command).compose(session -> {
      HttpServerResponse response = ctx.response().putHeader("Location", "/v1/tus/" + session.fileId());
      if (!withUpload) {
        return Future.succeededFuture(session.offset()).map(offset -> finish(ctx, 201, session, offset));
      }
      return slots.run(() -> sessions.append(device, session.fileId(), 0, null, checksum, request, RequestIds.of(ctx)))
          .map(appended -> finish(ctx, 201, session, appended.offset()))
          .recover(err -> {
            // The upload exists even though its first chunk failed: say where, so the client can resume.
            response.putHeader("Upload-Offset", "0");
            return Future.failedFuture(err);
          });
    }).onFailure(ctx::fail);
  }

  private void head(RoutingContext ctx) {
    try {
      Principal device = Authn.principal(ctx).requireDevice();
      UUID id = Ids.uuid("upload", ctx.pathParam("id"));
      sessions.get(device, id, Protocol.TUS).onSuccess(session -> {
        HttpServerResponse response = ctx.response().putHeader("Cache-Control", "no-store");
        response.putHeader("Upload-Offset", Long.toString(session.offset()));
        if (session.lengthKnown()) {
          response.putHeader("Upload-Length", Long.toString(session.declaredLength()));
        } else {
          response.putHeader("Upload-Defer-Length", "1");
        }
        response.putHeader("Upload-Metadata", "filename " + b64(session.filename()));
        if (session.state() == UploadSession.State.ACTIVE) {
          response.putHeader("Upload-Expires", HTTP_DATE.format(session.expiresAt()));
        }
        response.setStatusCode(200).end();
      }).onFailure(ctx::fail);
    } catch (WharfException e) {
      ctx.fail(e);
    }
  }

  private void patch(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Principal device;
    UUID id;
    long offset;
    Long newLength;
    ChunkChecksum checksum;
    try {
      device = Authn.principal(ctx).requireDevice();
      id = Ids.uuid("upload", ctx.pathParam("id"));
      String type = request.getHeader("Content-Type");
      if (type == null || !type.toLowerCase(Locale.ROOT).startsWith(OCTETS)) {
        throw new ClientException(415, "unsupported_media_type", "a PATCH body must be " + OCTETS);
      }
      offset = nonNegative(request.getHeader("Upload-Offset"), "Upload-Offset", true);
      String lengthHeader = request.getHeader("Upload-Length");
      newLength = lengthHeader == null ? null : nonNegative(lengthHeader, "Upload-Length", true);
      checksum = ChunkChecksum.parse(request.getHeader("Upload-Checksum"));
    } catch (WharfException e) {
      ctx.fail(e);
      return;
    }
    slots.run(() -> sessions.append(device, id, offset, newLength, checksum, request, RequestIds.of(ctx)))
        .onSuccess(appended -> finish(ctx, 204, appended.session(), appended.offset()))
        .onFailure(ctx::fail);
  }

  private static Void finish(RoutingContext ctx, int status, UploadSession session, long offset) {
    HttpServerResponse response = ctx.response().setStatusCode(status).putHeader("Upload-Offset", Long.toString(offset));
    boolean complete = session.lengthKnown() && offset == session.declaredLength();
    if (!complete && session.expiresAt() != null) {
      response.putHeader("Upload-Expires", HTTP_DATE.format(session.expiresAt()));
    }
    if (complete) {
      response.putHeader("X-Wharf-File", "/v1/files/" + session.fileId());
    }
    boolean unread = EarlyAnswers.markUnread(ctx);
    response.end().onComplete(ar -> {
      if (unread) {
        EarlyAnswers.after(ctx);
      }
    });
    return null;
  }

  private static boolean hasChunk(HttpServerRequest request) {
    String type = request.getHeader("Content-Type");
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith(OCTETS)) {
      return false;
    }
    String length = request.getHeader("Content-Length");
    return length == null || !length.trim().equals("0");
  }

  private static Long length(HttpServerRequest request) {
    String length = request.getHeader("Upload-Length");
    String defer = request.getHeader("Upload-Defer-Length");
    if (length != null && defer != null) {
      throw ClientException.badRequest("invalid_length", "send Upload-Length or Upload-Defer-Length, not both");
    }
    if (length != null) {
      return nonNegative(length, "Upload-Length", true);
    }
    if (!"1".equals(defer == null ? null : defer.trim())) {
      throw ClientException.badRequest("invalid_length", "Upload-Length is required (or Upload-Defer-Length: 1)");
    }
    return null;
  }

  private static long nonNegative(String raw, String header, boolean required) {
    if (raw == null) {
      throw ClientException.badRequest("invalid_" + header.toLowerCase(Locale.ROOT).replace('-', '_'), header + " is required");
    }
    try {
      long value = Long.parseLong(raw.trim());
      if (value < 0) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw ClientException.badRequest("invalid_" + header.toLowerCase(Locale.ROOT).replace('-', '_'), header + " must be a whole number, zero or more");
    }
  }

  /** {@code Upload-Metadata}: comma-separated {@code key base64(value)} pairs; a key may stand alone. */
  static Map<String, String> metadata(String header) {
    Map<String, String> out = new HashMap<>();
    if (header == null || header.isBlank()) {
      return out;
    }
    if (header.length() > 4096) {
      throw ClientException.badRequest("invalid_metadata", "Upload-Metadata is longer than 4096 characters");
    }
    for (String pair : header.split(",")) {
      String[] kv = pair.trim().split(" ", 2);
      if (kv[0].isEmpty()) {
        continue;
      }
      try {
        out.put(kv[0], kv.length < 2 ? "" : new String(Base64.getDecoder().decode(kv[1].trim()), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw ClientException.badRequest("invalid_metadata", "Upload-Metadata value of '" + kv[0] + "' is not base64");
      }
    }
    return out;
  }

  private static String first(Map<String, String> meta, String... keys) {
    for (String key : keys) {
      String value = meta.get(key);
      if (value != null && !value.isEmpty()) {
        return value;
      }
    }
    return null;
  }

  private static String b64(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }
}

package dev.wharf.gateway.http;

import dev.wharf.auth.Ids;
import dev.wharf.auth.Principal;
import dev.wharf.blob.BlobStore;
import dev.wharf.blob.ByteRange;
import dev.wharf.error.ClientException;
import dev.wharf.error.WharfException;
import dev.wharf.files.FileNames;
import dev.wharf.files.FileRecord;
import dev.wharf.files.FileService;
import dev.wharf.files.FileService.UploadCommand;
import dev.wharf.files.FileStatus;
import dev.wharf.idempotency.IdempotencyStore;
import dev.wharf.files.Priority;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/** {@code /v1/files}: streamed upload, status, listing, gated download, delete. */
final class FileRoutes {

  private static final String IDEMPOTENCY_SCOPE = "POST /v1/files";

  private final FileService files;
  private final BlobStore blobs;
  private final IdempotencyStore idempotency;
  private final UploadSlots slots;

  FileRoutes(FileService files, BlobStore blobs, IdempotencyStore idempotency, UploadSlots slots) {
    this.files = files;
    this.blobs = blobs;
    this.idempotency = idempotency;
    this.slots = slots;
  }

  void mount(Router router) {
    router.post("/").handler(this::upload);
    router.get("/").handler(this::list);
    router.get("/:id").handler(ctx -> Replies.json(ctx, 200,
        () -> files.get(Authn.requireReader(ctx), Ids.uuid("file", ctx.pathParam("id"))).map(FileRecord::toJson)));
    router.get("/:id/content").handler(this::content);
    router.delete("/:id").handler(ctx -> Replies.json(ctx, 204,
        () -> files.delete(Authn.principal(ctx).requireDevice(), Ids.uuid("file", ctx.pathParam("id"))).map(v -> null)));
  }

  private void list(RoutingContext ctx) {
    Replies.json(ctx, 200, () -> {
      Principal caller = Authn.requireReader(ctx);
      String status = ctx.request().getParam("status");
      FileStatus filter = null;
      if (status != null) {
        try {
          filter = FileStatus.fromWire(status);
        } catch (IllegalArgumentException e) {
          throw ClientException.badRequest("invalid_status", "status must be one of uploading, uploaded, processing, processed, failed");
        }
      }
      return files.list(caller, ctx.request().getParam("device"), filter, ctx.request().getParam("cursor"), Replies.limit(ctx, 50, 200))
          .map(page -> Replies.page(page.items(), page.nextCursor(), FileRecord::toJson));
    });
  }

  private void upload(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Principal owner;
    UploadCommand command;
    String idempotencyKey;
    try {
      owner = Authn.principal(ctx).requireDevice();
      idempotencyKey = IdempotencyStore.validKey(request.getHeader("Idempotency-Key"));
      command = new UploadCommand(owner, decodeFilename(request.getHeader("X-Wharf-Filename")), request.getHeader("Content-Type"),
          Bodies.declaredLength(request), request.getHeader("X-Wharf-Checksum-SHA256"), Priority.parse(request.getHeader("X-Wharf-Priority")),
          RequestIds.of(ctx));
      if (!isMultipart(request)) {
        files.precheck(command);
      } else if (command.declaredLength() != null && command.declaredLength() > files.limits().maxFileBytes() + 64 * 1024) {
        throw ClientException.tooLarge("the body is larger than the " + files.limits().maxFileBytes() + " byte limit");
      }
    } catch (WharfException e) {
      ctx.fail(e);
      return;
    }
    slots.run(() -> idempotency.once(owner, IDEMPOTENCY_SCOPE, idempotencyKey,
            claim -> receive(ctx, command, claim).map(uploaded -> new IdempotencyStore.Answer(201, uploaded.file().toJson(), false, claim != null))))
        .onComplete(ar -> {
          if (ar.failed()) {
            ctx.fail(ar.cause());
          } else {
            Replies.answer(ctx, ar.result(), "/v1/files/" + ar.result().body().getString("id"));
          }
        });
  }

  /** The body as one stream: the raw body, or the first file part of a multipart form. */
  private Future<FileService.Uploaded> receive(RoutingContext ctx, UploadCommand command, IdempotencyStore.Claim claim) {
    HttpServerRequest request = ctx.request();
    if (!isMultipart(request)) {
      return files.upload(command, request, claim);
    }
    io.vertx.core.Promise<FileService.Uploaded> result = io.vertx.core.Promise.promise();
    boolean[] started = {false};
    request.setExpectMultipart(true);
    request.uploadHandler(part -> {
      if (started[0] || part.filename() == null) {
        // Only the first file part is the upload; others are read and dropped.
        part.handler(b -> {});
        return;
      }
      started[0] = true;
      part.pause();
      UploadCommand fromPart = new UploadCommand(command.owner(), part.filename(),
          part.contentType() == null || part.contentType().isBlank() ? command.contentType() : part.contentType(),
          null, command.expectedSha256(), command.priority(), command.requestId());
      files.upload(fromPart, part, claim).onComplete(result);
    });
    request.exceptionHandler(result::tryFail);
    request.endHandler(v -> {
      if (!started[0]) {
        result.tryFail(ClientException.badRequest("missing_file", "the multipart body has no file part"));
      }
    });
    request.resume();
    return result.future();
  }

  private void content(RoutingContext ctx) {
    Principal caller;
    UUID id;
    try {
      caller = Authn.requireReader(ctx);
      id = Ids.uuid("file", ctx.pathParam("id"));
    } catch (WharfException e) {
      ctx.fail(e);
      return;
    }
    files.readable(caller, id).compose(file -> serve(ctx, blobs, file.objectKey(), file.size(), file.sha256(), file.contentType(), file.filename()))
        .onFailure(ctx::fail);
  }

  /**
   * Streams a stored object to the response with ETag, Range (one range, 206) and If-None-Match. Shared by
   * file downloads and inbox fetches.
   */
  static Future<Void> serve(RoutingContext ctx, BlobStore blobs, String key, long size, String sha256, String contentType, String filename) {
    HttpServerResponse response = ctx.response();
    String etag = "\"" + sha256 + "\"";
    response.putHeader("ETag", etag).putHeader("Accept-Ranges", "bytes");
    String ifNoneMatch = ctx.request().getHeader("If-None-Match");
    if (ifNoneMatch != null && (ifNoneMatch.contains(etag) || ifNoneMatch.trim().equals("*"))) {
      response.setStatusCode(304).end();
      return Future.succeededFuture();
    }
    ByteRange range;
    try {
      range = HttpRanges.parse(ctx.request().getHeader("Range"), size, ctx.request().getHeader("If-Range"), etag);
    } catch (ClientException e) {
      response.putHeader("Content-Range", "bytes */" + size);
      return Future.failedFuture(e);
    }
    return blobs.open(key, range).compose(stream -> {
      response.putHeader("Content-Type", contentType == null ? "application/octet-stream" : contentType)
          .putHeader("Content-Disposition", "attachment; filename=\"" + FileNames.asciiFallback(filename) + "\"; filename*=UTF-8''"
              + URLEncoder.encode(filename, StandardCharsets.UTF_8).replace("+", "%20"))
          .putHeader("X-Content-Type-Options", "nosniff");
      if (range != null) {
        response.setStatusCode(206)
            .putHeader("Content-Range", "bytes " + range.start() + "-" + range.endInclusive() + "/" + size)
            .putHeader("Content-Length", Long.toString(range.length()));
      } else {
        response.setStatusCode(200).putHeader("Content-Length", Long.toString(size));
      }
      return stream.pipeTo(response);
    });
  }

  private static boolean isMultipart(HttpServerRequest request) {
    String type = request.getHeader("Content-Type");
    return type != null && type.toLowerCase().startsWith("multipart/form-data");
  }

  /** X-Wharf-Filename may be percent-encoded UTF-8 (headers are ASCII); a bad encoding is a 400. */
  private static String decodeFilename(String raw) {
    if (raw == null || !raw.contains("%")) {
      return raw;
    }
    try {
      return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw ClientException.badRequest("invalid_filename", "X-Wharf-Filename has a broken percent-encoding");
    }
  }
}

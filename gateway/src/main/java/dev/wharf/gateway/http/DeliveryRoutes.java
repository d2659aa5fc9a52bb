package dev.wharf.gateway.http;

import dev.wharf.auth.Ids;
import dev.wharf.auth.Principal;
import dev.wharf.config.UploadConfig;
import dev.wharf.delivery.Delivery;
import dev.wharf.delivery.DeliveryService;
import dev.wharf.delivery.DeliveryState;
import dev.wharf.error.ClientException;
import dev.wharf.error.WharfException;
import dev.wharf.idempotency.IdempotencyStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The sender's side of deliveries: {@code POST /v1/devices/{device}/deliveries} (a multipart body of 1..N
 * files streamed to storage, or {@code {"file_ids": [...]}} of processed files; all staged or none) and
 * {@code GET /v1/deliveries[/{id}]} (where each delivery stands).
 */
final class DeliveryRoutes {

  /** Largest JSON staging body. */
  static final int MAX_JSON_BYTES = 64 * 1024;

  private final DeliveryService deliveries;
  private final IdempotencyStore idempotency;
  private final UploadSlots slots;
  private final UploadConfig uploads;

  DeliveryRoutes(DeliveryService deliveries, IdempotencyStore idempotency, UploadSlots slots, UploadConfig uploads) {
    this.deliveries = deliveries;
    this.idempotency = idempotency;
    this.slots = slots;
    this.uploads = uploads;
  }

  /** {@code router} serves {@code /v1/deliveries}, {@code devices} serves {@code /v1/devices} (staging to a device). */
  void mount(Router router, Router devices) {
    devices.post("/:device/deliveries").handler(this::stage);
    router.get("/").handler(ctx -> Replies.json(ctx, 200, () -> {
      String state = ctx.request().getParam("state");
      DeliveryState filter = null;
      if (state != null) {
        try {
          filter = DeliveryState.fromWire(state);
        } catch (IllegalArgumentException e) {
          throw ClientException.badRequest("invalid_state", "state must be one of staged, fetched, acked, rejected, expired");
        }
      }
      return deliveries.list(Authn.principal(ctx), ctx.request().getParam("device"), filter, ctx.request().getParam("cursor"),
              Replies.limit(ctx, 50, 200))
          .map(page -> Replies.page(page.items(), page.nextCursor(), Delivery::toSenderJson));
    }));
    router.get("/:id").handler(ctx -> Replies.json(ctx, 200,
        () -> deliveries.get(Authn.principal(ctx), Ids.uuid("delivery", ctx.pathParam("id"))).map(Delivery::toSenderJson)));
  }

  private void stage(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Principal sender;
    String device;
    String key;
    boolean multipart;
    try {
      sender = Authn.principal(ctx).requireScope(Principal.SCOPE_DELIVER);
      device = ctx.pathParam("device");
      if (!Ids.isValidName(device)) {
        throw ClientException.notFound("device");
      }
      key = IdempotencyStore.validKey(request.getHeader("Idempotency-Key"));
      multipart = hasType(request, "multipart/form-data");
      if (!multipart && !hasType(request, "application/json")) {
        throw new ClientException(415, "unsupported_media_type", "send multipart/form-data with the files, or JSON {\"file_ids\": [...]}");
      }
    } catch (WharfException e) {
      ctx.fail(e);
      return;
    }
    String scope = "POST /v1/devices/" + device + "/deliveries";
    // Under a key the staging's own transaction records the answer, so the deliveries and their answer commit together.
    java.util.function.Supplier<Future<IdempotencyStore.Answer>> stage = () -> idempotency.once(sender, scope, key,
        claim -> (multipart ? receiveFiles(ctx, sender, device, claim) : receiveFileIds(ctx, sender, device, claim))
            .map(list -> new IdempotencyStore.Answer(201, Delivery.stagedAnswer(list), false, claim != null)));
    (multipart ? slots.run(stage) : stage.get())
        .onComplete(ar -> {
          if (ar.failed()) {
            ctx.fail(ar.cause());
          } else {
            Replies.answer(ctx, ar.result(), null);
          }
        });
  }

  /** Streams each file part into storage in turn, then commits them all; on any failure removes what was stored. */
  private Future<List<Delivery>> receiveFiles(RoutingContext ctx, Principal sender, String device, IdempotencyStore.Claim claim) {
    HttpServerRequest request = ctx.request();
    return deliveries.beginStaging(sender, device, RequestIds.of(ctx), claim).compose(staging -> {
      Promise<List<Delivery>> result = Promise.promise();
      Future<Void>[] chain = new Future[] {Future.succeededFuture()};
      Throwable[] failure = {null};
      request.setExpectMultipart(true);
      request.uploadHandler(part -> {
        if (failure[0] != null || part.filename() == null) {
          part.handler(b -> { });
          return;
        }
        part.pause();
        chain[0] = chain[0].compose(v -> staging.add(part.filename(), part.contentType(), part));
        chain[0].onFailure(err -> {
          if (failure[0] == null) {
            failure[0] = err;
            staging.abort().onComplete(v -> result.tryFail(err));
          }
        });
      });
      request.exceptionHandler(err -> {
        if (failure[0] == null) {
          failure[0] = err;
          chain[0].transform(v -> staging.abort()).onComplete(v -> result.tryFail(err));
        }
      });
      request.endHandler(v -> chain[0]
          .compose(done -> staging.commit(ttlSeconds(request.formAttributes().get("ttl_seconds"))))
          .onSuccess(result::tryComplete)
          .onFailure(err -> {
            if (failure[0] == null) {
              failure[0] = err;
              staging.abort().onComplete(x -> result.tryFail(err));
            }
          }));
      request.resume();
      return result.future();
    });
  }

  private Future<List<Delivery>> receiveFileIds(RoutingContext ctx, Principal sender, String device, IdempotencyStore.Claim claim) {
    return readCapped(ctx.request(), MAX_JSON_BYTES).compose(body -> {
      JsonObject json;
      try {
        json = body.toJsonObject();
      } catch (DecodeException | ClassCastException e) {
        throw ClientException.badRequest("malformed_json", "the body is not a valid JSON object");
      }
      if (json == null || !(json.getValue("file_ids") instanceof JsonArray ids)) {
        throw ClientException.badRequest("missing_file", "file_ids must be an array of file ids");
      }
      List<UUID> fileIds = new ArrayList<>();
      for (Object id : ids) {
        fileIds.add(Ids.uuid("file", id instanceof String s ? s : null));
      }
      Object ttl = json.getValue("ttl_seconds");
      if (ttl != null && !(ttl instanceof Number)) {
        throw ClientException.badRequest("invalid_ttl", "ttl_seconds must be a whole number of seconds");
      }
      return deliveries.stageFiles(sender, device, fileIds, ttl == null ? null : ((Number) ttl).longValue(), RequestIds.of(ctx), claim);
    });
  }

  private static Long ttlSeconds(String raw) {
    if (raw == null || raw.isBlank()) {
      return null;
    }
    try {
      return Long.parseLong(raw.trim());
    } catch (NumberFormatException e) {
      throw ClientException.badRequest("invalid_ttl", "ttl_seconds must be a whole number of seconds");
    }
  }

  /** The whole body, or 413 as soon as it passes {@code max} bytes. */
  static Future<Buffer> readCapped(HttpServerRequest request, int max) {
    String length = request.getHeader("Content-Length");
    if (length != null && length.chars().allMatch(Character::isDigit) && length.length() < 18 && Long.parseLong(length) > max) {
      return Future.failedFuture(ClientException.tooLarge("the body is larger than " + max + " bytes"));
    }
    Promise<Buffer> done = Promise.promise();
    Buffer body = Buffer.buffer();
    request.handler(chunk -> {
      if (body.length() + chunk.length() > max) {
        done.tryFail(ClientException.tooLarge("the body is larger than " + max + " bytes"));
        return;
      }
      body.appendBuffer(chunk);
    });
    request.exceptionHandler(done::tryFail);
    request.endHandler(v -> done.tryComplete(body));
    request.resume();
    return done.future();
  }

  private static boolean hasType(HttpServerRequest request, String type) {
    String header = request.getHeader("Content-Type");
    return header != null && header.toLowerCase(java.util.Locale.ROOT).startsWith(type);
  }
}

package dev.wharf.gateway.http;

import dev.wharf.auth.Ids;
import dev.wharf.auth.Principal;
import dev.wharf.blob.BlobStore;
import dev.wharf.db.Cursor;
import dev.wharf.delivery.Delivery;
import dev.wharf.delivery.DeliveryService;
import dev.wharf.delivery.InboxWaiters;
import dev.wharf.error.ClientException;
import dev.wharf.error.WharfException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.UUID;

/**
 * The device's side of deliveries: {@code GET /v1/inbox} (long-poll), {@code GET /v1/inbox/{id}/content}
 * (streamed, Range), {@code POST /v1/inbox/{id}/ack} and {@code …/reject}. Absent, expired, swept,
 * finished, and other devices' deliveries all get the same 404.
 */
final class InboxRoutes {

  private final DeliveryService deliveries;
  private final BlobStore blobs;
  private final InboxWaiters waiters;

  InboxRoutes(DeliveryService deliveries, BlobStore blobs, InboxWaiters waiters) {
    this.deliveries = deliveries;
    this.blobs = blobs;
    this.waiters = waiters;
  }

  void mount(Router router) {
    router.get("/").handler(this::poll);
    router.get("/:id/content").handler(this::content);
    router.post("/:id/ack").handler(ctx -> Replies.json(ctx, 200,
        () -> deliveries.ack(Authn.principal(ctx).requireDevice(), id(ctx)), Delivery::writeInboxJson));
    router.post("/:id/reject").handler(ctx -> Replies.json(ctx, 200, () -> {
      Principal device = Authn.principal(ctx).requireDevice();
      UUID id = id(ctx);
      return deliveries.reject(device, id, reason(ctx));
    }, Delivery::writeInboxJson));
  }

  /**
   * Pending deliveries at once; else the request is held up to {@code wait} seconds (cut to the
   * configured maximum) and answered as soon as one arrives, else with an empty page.
   */
  private void poll(RoutingContext ctx) {
    Principal device;
    long waitMillis;
    int limit;
    String cursor;
    try {
      device = Authn.principal(ctx).requireDevice();
      waitMillis = Math.min(seconds(ctx.request().getParam("wait")), deliveries.config().maxWait().toSeconds()) * 1000;
      limit = limit(ctx.request().getParam("limit"), deliveries.config().inboxLimit());
      cursor = ctx.request().getParam("cursor");
      Cursor.decode(cursor);
    } catch (WharfException e) {
      ctx.fail(e);
      return;
    }
    InboxWaiters.Hold<dev.wharf.db.Page<Delivery>> hold = waiters.hold(device.tenantId(), device.deviceId(), waitMillis,
        () -> deliveries.inboxIfNotQuiet(device, cursor, limit), () -> deliveries.inbox(device, cursor, limit), page -> !page.items().isEmpty());
    ctx.response().closeHandler(v -> hold.cancel());
    hold.future().onComplete(ar -> {
      if (ctx.response().closed() || ctx.response().ended()) {
        return;
      }
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      JsonObject body = Replies.page(ar.result().items(), ar.result().nextCursor(), Delivery::toInboxJson);
      ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json").end(Replies.encode(body));
    });
  }

  private void content(RoutingContext ctx) {
    Principal device;
    UUID id;
    try {
      device = Authn.principal(ctx).requireDevice();
      id = id(ctx);
    } catch (WharfException e) {
      ctx.fail(e);
      return;
    }
    deliveries.fetch(device, id)
        .compose(d -> FileRoutes.serve(ctx, blobs, d.objectKey(), d.size(), d.sha256(), d.contentType(), d.filename()))
        .onFailure(ctx::fail);
  }

  private static UUID id(RoutingContext ctx) {
    return Ids.uuid("delivery", ctx.pathParam("id"));
  }

  private static String reason(RoutingContext ctx) {
    if (ctx.body() == null || ctx.body().buffer() == null || ctx.body().buffer().length() == 0) {
      return null;
    }
    Object reason = Replies.body(ctx).getValue("reason");
    if (reason != null && !(reason instanceof String)) {
      throw ClientException.badRequest("invalid_reason", "reason must be a string");
    }
    return (String) reason;
  }

  private static long seconds(String raw) {
    if (raw == null) {
      return 0;
    }
    try {
      long value = Long.parseLong(raw.trim());
      if (value < 0) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw ClientException.badRequest("invalid_wait", "wait must be a whole number of seconds, 0 or more");
    }
  }

  /** The page size asked for, cut to the replay cap; the rest comes by cursor. */
  private static int limit(String raw, int cap) {
    if (raw == null) {
      return cap;
    }
    try {
      int value = Integer.parseInt(raw.trim());
      if (value < 1) {
        throw new NumberFormatException();
      }
      return Math.min(value, cap);
    } catch (NumberFormatException e) {
      throw ClientException.badRequest("invalid_limit", "limit must be a whole number, 1 or more");
    }
  }
}

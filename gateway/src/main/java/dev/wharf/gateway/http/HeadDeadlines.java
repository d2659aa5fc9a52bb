package dev.wharf.gateway.http;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.ext.web.RoutingContext;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Bounds how long a connection may take to send a request head. Vert.x's idle timeout counts silence, so a
 * client dripping a byte a second (slowloris) would hold its connection for ever; here a connection with no
 * request in progress is closed once its deadline passes: {@code headTimeout} after it opened, or
 * {@code keepAliveTimeout} after its last response ended. A request whose head is complete (the router saw it)
 * cancels the deadline until its response ends, however long its body or a long poll takes.
 *
 * <p>One instance per API verticle: it is only touched on that verticle's event loop.
 */
final class HeadDeadlines implements Handler<RoutingContext> {

  private final Vertx vertx;
  private final long headTimeoutMs;
  private final long keepAliveTimeoutMs;
  private final Map<HttpConnection, Deadline> open = new IdentityHashMap<>();

  HeadDeadlines(Vertx vertx, long headTimeoutMs, long keepAliveTimeoutMs) {
    this.vertx = vertx;
    this.headTimeoutMs = headTimeoutMs;
    this.keepAliveTimeoutMs = keepAliveTimeoutMs;
  }

  /** The server's connection handler: arms the first deadline. */
  Handler<HttpConnection> connections() {
    return conn -> {
      Deadline d = watch(conn);
      if (d.inFlight == 0 && d.timer < 0) {
        d.arm(headTimeoutMs);
      }
    };
  }

  /** The router's first handler: a complete head holds the deadline off until its response ends. */
  @Override
  public void handle(RoutingContext ctx) {
    // A connection may be seen here first (an h2c upgrade's first stream): watch it without arming.
    Deadline d = watch(ctx.request().connection());
    d.started();
    ctx.addEndHandler(ar -> d.ended());
    ctx.next();
  }

  private Deadline watch(HttpConnection conn) {
    Deadline d = open.get(conn);
    if (d == null) {
      Deadline fresh = new Deadline(conn);
      open.put(conn, fresh);
      conn.closeHandler(v -> {
        open.remove(conn);
        fresh.cancel();
      });
      d = fresh;
    }
    return d;
  }

  private final class Deadline {
    private final HttpConnection conn;
    private int inFlight;
    private long timer = -1;

    Deadline(HttpConnection conn) {
      this.conn = conn;
    }

    void started() {
      inFlight++;
      cancel();
    }

    void ended() {
      if (--inFlight == 0 && open.containsKey(conn)) {
        arm(keepAliveTimeoutMs);
      }
    }

    void arm(long ms) {
      cancel();
      timer = vertx.setTimer(ms, id -> {
        timer = -1;
        if (inFlight == 0) {
          conn.close();
        }
      });
    }

    void cancel() {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
    }
  }
}

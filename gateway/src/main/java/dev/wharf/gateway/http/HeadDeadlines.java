package dev.wharf.gateway.http;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Bounds how long a connection may take to send a request head. Vert.x's idle timeout counts silence, so a
 * client dripping a byte a second (slowloris) would hold its connection for ever; here a connection with no
 * request in progress is closed once its deadline passes: {@code headTimeout} after it opened, or
 * {@code keepAliveTimeout} after its last response ended. A request whose head is complete (the router saw it)
 * holds the deadline off until its response ends, however long its body or a long poll takes.
 *
 * <p>Deadlines are checked by one periodic sweep over the open connections, a tenth of the shorter timeout apart
 * (at least 10 ms, at most 1 s), so a connection is cut at most that late. A request only stamps two fields: it
 * used to arm and cancel a timer of its own, a priority-queue insert and removal on every request.
 *
 * <p>One instance per API verticle: it is only touched on that verticle's event loop.
 */
final class HeadDeadlines implements Handler<RoutingContext> {

  private final Vertx vertx;
  private final long headTimeoutNanos;
  private final long keepAliveTimeoutNanos;
  private final Map<HttpConnection, Deadline> open = new IdentityHashMap<>();
  private long sweeper = -1;

  HeadDeadlines(Vertx vertx, long headTimeoutMs, long keepAliveTimeoutMs) {
    this.vertx = vertx;
    this.headTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(headTimeoutMs);
    this.keepAliveTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(keepAliveTimeoutMs);
  }

  /** Starts the sweep; call on the verticle's event loop, and {@link #stop()} when it stops. */
  void start() {
    long period = Math.max(10, Math.min(1_000, TimeUnit.NANOSECONDS.toMillis(Math.min(headTimeoutNanos, keepAliveTimeoutNanos)) / 10));
    sweeper = vertx.setPeriodic(period, id -> sweep(System.nanoTime()));
  }

  void stop() {
    if (sweeper >= 0) {
      vertx.cancelTimer(sweeper);
      sweeper = -1;
    }
  }

  /** The server's connection handler: starts the first deadline. */
  Handler<HttpConnection> connections() {
    return conn -> {
      Deadline d = watch(conn);
      if (d.inFlight == 0 && d.due == 0) {
        d.dueIn(headTimeoutNanos);
      }
    };
  }

  /** The router's first handler: a complete head holds the deadline off until its response ends. */
  @Override
  public void handle(RoutingContext ctx) {
    // A connection may be seen here first (an h2c upgrade's first stream): watch it without a deadline.
    Deadline d = watch(ctx.request().connection());
    d.inFlight++;
    ctx.addEndHandler(ar -> d.ended());
    ctx.next();
  }

  /** Closes every idle connection whose deadline passed by {@code now}. */
  private void sweep(long now) {
    List<HttpConnection> late = null;
    for (Deadline d : open.values()) {
      if (d.inFlight == 0 && d.due != 0 && now - d.due >= 0) {
        if (late == null) {
          late = new ArrayList<>();
        }
        late.add(d.conn);
      }
    }
    if (late != null) {
      // Closed after the walk: a close handler may run at once and remove its entry from the map.
      late.forEach(HttpConnection::close);
    }
  }

  private Deadline watch(HttpConnection conn) {
    Deadline d = open.get(conn);
    if (d == null) {
      Deadline fresh = new Deadline(conn);
      open.put(conn, fresh);
      conn.closeHandler(v -> open.remove(conn));
      d = fresh;
    }
    return d;
  }

  private final class Deadline {
    private final HttpConnection conn;
    private int inFlight;
    /** {@code System.nanoTime()} past which the idle connection is closed; 0 while none is set. */
    private long due;

    Deadline(HttpConnection conn) {
      this.conn = conn;
    }

    void ended() {
      if (--inFlight == 0) {
        dueIn(keepAliveTimeoutNanos);
      }
    }

    void dueIn(long nanos) {
      long at = System.nanoTime() + nanos;
      due = at == 0 ? 1 : at;
    }
  }
}

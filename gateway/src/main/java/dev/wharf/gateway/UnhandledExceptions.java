package dev.wharf.gateway;

import io.vertx.core.Handler;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Vert.x reports as unhandled (its default is an ERROR with the stack trace). Vert.x MQTT throws from its own
 * packet handling when a client sends packets in an order it does not take: a PUBLISH or SUBSCRIBE right behind
 * the CONNECT, before the gateway has checked the token and accepted the connection (MQTT 3.1.1 §3.1.4 lets a
 * client do that; Vert.x MQTT drops the packet). That is a client's doing, and any unauthenticated client could
 * fill the log with stack traces by repeating it, so it becomes one INFO line without a trace, at most one a
 * second with a count of those not shown. Everything else is a bug of ours and keeps the ERROR and its trace.
 */
final class UnhandledExceptions implements Handler<Throwable> {

  private static final Logger log = LoggerFactory.getLogger(UnhandledExceptions.class);
  private static final long QUIET_NANOS = 1_000_000_000L;

  private final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - QUIET_NANOS);
  private final AtomicLong notShown = new AtomicLong();

  @Override
  public void handle(Throwable t) {
    if (!thrownByMqttPacketHandling(t)) {
      log.error("unhandled exception", t);
      return;
    }
    // Any event loop may report one; no lock, one winner a second.
    long now = System.nanoTime();
    long last = lastLogged.get();
    if (now - last < QUIET_NANOS || !lastLogged.compareAndSet(last, now)) {
      notShown.incrementAndGet();
      return;
    }
    log.info("mqtt packet dropped [cause={}, dropped_unlogged_since_last={}]", t.getMessage(), notShown.getAndSet(0));
  }

  /** An argument or state refusal raised inside Vert.x MQTT itself, not through a call of ours. */
  static boolean thrownByMqttPacketHandling(Throwable t) {
    if (!(t instanceof IllegalArgumentException || t instanceof IllegalStateException)) {
      return false;
    }
    for (StackTraceElement frame : t.getStackTrace()) {
      if (frame.getClassName().startsWith("dev.wharf.")) {
        return false;
      }
    }
    StackTraceElement[] frames = t.getStackTrace();
    return frames.length > 0 && frames[0].getClassName().startsWith("io.vertx.mqtt.impl.");
  }
}

package dev.wharf.gateway.logging;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Log lines handed to a writer thread through a bounded queue, so a thread that logs (an event loop above all) never
 * waits for the output: when whatever reads the process's standard output stops (a full pipe, a stalled log
 * shipper), lines are dropped once the queue is full instead of stopping the gateway. Drops are counted
 * ({@link #droppedLines()}, the {@code wharf_log_lines_dropped_total} meter) and, as soon as a line fits again,
 * reported by a WARN line of their own, so a gap in the log is never silent.
 *
 * <p>Configured in {@code logback.xml}: every level is queued alike (no discarding of INFO before the queue is full)
 * and the caller is never blocked.
 */
public final class NonBlockingAppender extends AsyncAppender {

  private static final LongAdder DROPPED = new LongAdder();
  private static final AtomicLong REPORTED = new AtomicLong();

  public NonBlockingAppender() {
    setNeverBlock(true);
    setDiscardingThreshold(0);
  }

  /** Log lines dropped so far because the queue was full (since the process started). */
  public static long droppedLines() {
    return DROPPED.sum();
  }

  @Override
  protected void append(ILoggingEvent event) {
    if (getRemainingCapacity() == 0) {
      DROPPED.increment();
      return;
    }
    long dropped = DROPPED.sum();
    long reported = REPORTED.get();
    if (dropped > reported && REPORTED.compareAndSet(reported, dropped)) {
      super.append(droppedNotice(dropped - reported));
    }
    super.append(event);
  }

  private ILoggingEvent droppedNotice(long lines) {
    LoggerContext context = (LoggerContext) getContext();
    return new LoggingEvent(NonBlockingAppender.class.getName(), context.getLogger(NonBlockingAppender.class), Level.WARN,
        "log lines dropped [count={}, cause=the log output was not read fast enough; the queue holds {} lines]", null,
        new Object[] {lines, getQueueSize()});
  }
}

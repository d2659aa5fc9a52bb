package dev.wharf.gateway;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.slf4j.LoggerFactory;

/**
 * The log lines written while it is attached to the root logger (the gateway runs in the test JVM), for tests
 * whose claim is about what the gateway logs. Waiting for a line is woken by the line itself: no polling.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {

  private final List<String> messages = new ArrayList<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

  private LogCapture() {
  }

  /** Starts capturing; close to stop. */
  public static LogCapture attach() {
    LogCapture capture = new LogCapture();
    capture.setContext(capture.root.getLoggerContext());
    capture.start();
    capture.root.addAppender(capture);
    return capture;
  }

  /** Called by {@code doAppend}, which holds this appender's lock. */
  @Override
  protected void append(ILoggingEvent event) {
    messages.add(event.getFormattedMessage());
    notifyAll();
  }

  /** Every formatted message so far. */
  public synchronized List<String> lines() {
    return List.copyOf(messages);
  }

  /** The formatted messages so far that contain {@code text}. */
  public synchronized List<String> linesWith(String text) {
    return messages.stream().filter(m -> m.contains(text)).toList();
  }

  /**
   * Waits until the messages containing {@code text} satisfy {@code done}, or {@code timeout} passes; answers
   * those messages either way (the caller's assertion says what was missing).
   */
  public synchronized List<String> awaitLinesWith(String text, Predicate<List<String>> done, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> lines = linesWith(text);
    for (long left = timeout.toMillis(); !done.test(lines) && left > 0; left = (deadline - System.nanoTime()) / 1_000_000) {
      wait(left);
      lines = linesWith(text);
    }
    return lines;
  }

  @Override
  public void close() {
    root.detachAppender(this);
    stop();
  }
}

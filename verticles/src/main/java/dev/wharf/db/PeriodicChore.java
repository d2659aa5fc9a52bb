package dev.wharf.db;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A verticle that runs one chore periodically and never lets two runs overlap: a tick is skipped while
 * the last run is pending. Stopping cancels the timer and waits for the run in flight. Leadership across
 * replicas is the chore's business ({@link Database#asLeader}).
 */
public abstract class PeriodicChore extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(PeriodicChore.class);

  private final String name;
  private final Duration initialDelay;
  private final Duration interval;
  private long timer = -1;
  private Future<?> current = Future.succeededFuture();

  protected PeriodicChore(String name, Duration initialDelay, Duration interval) {
    this.name = name;
    this.initialDelay = initialDelay;
    this.interval = interval;
  }

  /** One run of the chore. */
  public abstract Future<?> runOnce();

  @Override
  public Future<?> start() {
    timer = vertx.setPeriodic(initialDelay.toMillis(), interval.toMillis(), id -> tick());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return current.otherwiseEmpty();
  }

  private void tick() {
    if (!current.isComplete()) {
      return;
    }
    current = runOnce().onFailure(err -> log.warn("{} failed [cause={}]", name, err.toString()));
  }
}

package dev.wharf.grants;

import dev.wharf.db.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Expires unused upload grants (counting them), settles PUTs a dead gateway left half done, and purges old
 * grants, periodically and on one replica at a time. Slots do not wait for it: a grant past its expiry
 * stops counting against its device at once.
 */
public final class GrantSweeper extends VerticleBase {

  /** Advisory lock key of the sweeper's leadership. */
  public static final long LOCK_KEY = 0x5748_4152_4602L;

  private static final Logger log = LoggerFactory.getLogger(GrantSweeper.class);

  private final Pool pool;
  private final GrantService grants;
  private final Duration interval;
  private long timer = -1;
  private Future<?> current = Future.succeededFuture();

  public GrantSweeper(Pool pool, GrantService grants, Duration interval) {
    this.pool = pool;
    this.grants = grants;
    this.interval = interval;
  }

  @Override
  public Future<?> start() {
    timer = vertx.setPeriodic(interval.toMillis(), interval.toMillis(), id -> tick());
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
    current = runOnce().onFailure(err -> log.warn("grant sweep failed [cause={}]", err.toString()));
  }

  /** One pass as leader; answers how many grants expired, or null when another replica leads. */
  public Future<Integer> runOnce() {
    return Database.asLeader(pool, LOCK_KEY, grants::sweep);
  }
}

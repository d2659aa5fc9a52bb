package dev.wharf.grants;

import dev.wharf.db.Database;
import dev.wharf.db.LeaderLock;
import dev.wharf.db.PeriodicChore;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import java.time.Duration;

/**
 * Expires unused upload grants (counting them), settles PUTs a dead gateway left half done, and purges old
 * grants, periodically and on one replica at a time. Slots do not wait for it: a grant past its expiry
 * stops counting against its device at once.
 */
public final class GrantSweeper extends PeriodicChore {

  private final Pool pool;
  private final GrantService grants;

  public GrantSweeper(Pool pool, GrantService grants, Duration interval) {
    super("grant sweep", interval, interval);
    this.pool = pool;
    this.grants = grants;
  }

  /** One pass as leader; answers how many grants expired, or null when another replica leads. */
  @Override
  public Future<Integer> runOnce() {
    return Database.asLeader(pool, LeaderLock.GRANT_SWEEPER, grants::sweep);
  }
}

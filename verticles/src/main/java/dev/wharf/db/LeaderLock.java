package dev.wharf.db;

/**
 * The Postgres advisory locks that elect one replica for each leader-only chore. All keys are listed
 * here, so two chores can never share one by accident.
 */
public enum LeaderLock {
  RECONCILER(0x5748_4152_4601L),
  DELIVERY_SWEEPER(0x5748_4152_4602L),
  GRANT_SWEEPER(0x5748_4152_4603L),
  UPLOAD_SWEEPER(0x5748_4152_4604L);

  private final long key;

  LeaderLock(long key) {
    this.key = key;
  }

  public long key() {
    return key;
  }
}

package dev.wharf.ingest;

import java.util.Locale;

/** {@code queued → active → succeeded | queued (retry) | dead | cancelled}. */
public enum JobStatus {
  QUEUED, ACTIVE, SUCCEEDED, DEAD, CANCELLED;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static JobStatus fromWire(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}

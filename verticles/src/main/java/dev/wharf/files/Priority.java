package dev.wharf.files;

import dev.wharf.error.ClientException;
import java.util.Locale;

/**
 * How urgently a file is verified, most urgent first: its ingest job's band, the high part of the job's queue score.
 */
public enum Priority {
  URGENT(0),
  HIGH(1),
  NORMAL(2),
  LOW(3);

  private final int band;

  Priority(int band) {
    this.band = band;
  }

  public int band() {
    return band;
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Priority ofBand(int band) {
    for (Priority p : values()) {
      if (p.band == band) {
        return p;
      }
    }
    throw new IllegalArgumentException("no priority band " + band);
  }

  /** Parses {@code urgent|high|normal|low}; null or blank is {@link #NORMAL}; anything else is a 400. */
  public static Priority parse(String value) {
    if (value == null || value.isBlank()) {
      return NORMAL;
    }
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw ClientException.badRequest("invalid_priority", "priority must be one of urgent, high, normal, low");
    }
  }
}

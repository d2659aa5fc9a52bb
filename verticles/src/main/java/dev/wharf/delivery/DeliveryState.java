package dev.wharf.delivery;

import java.util.Locale;

/** {@code staged → fetched → acked | rejected}, and {@code expired} past the TTL. Sweeping removes the row. */
public enum DeliveryState {
  STAGED, FETCHED, ACKED, REJECTED, EXPIRED;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static DeliveryState fromWire(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }

  /** Still in the device's inbox. */
  public boolean pending() {
    return this == STAGED || this == FETCHED;
  }
}

package dev.wharf.agent;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the sizes ({@code 8MiB}, {@code 4MB}) and durations ({@code 30s}, {@code 10m}) given on the command line. */
public final class Units {

  private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?i?b?)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?", Pattern.CASE_INSENSITIVE);

  private Units() {}

  /** {@code 8MiB} is 8 × 1024², {@code 4MB} is 4 × 1000², a bare number is bytes. */
  public static long bytes(String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a size: " + text + " (e.g. 8MiB, 4MB, 65536)");
    }
    double value = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
    boolean binary = unit.contains("i");
    double base = binary ? 1024 : 1000;
    int power = unit.isEmpty() ? 0 : switch (unit.charAt(0)) {
      case 'k' -> 1;
      case 'm' -> 2;
      case 'g' -> 3;
      case 't' -> 4;
      default -> 0;
    };
    return (long) (value * Math.pow(base, power));
  }

  /** {@code 500ms}, {@code 30s}, {@code 10m}, {@code 2h}, {@code 1d}; a bare number is seconds; {@code forever} is null. */
  public static Duration duration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    if (t.equals("forever")) {
      return null;
    }
    Matcher m = DURATION.matcher(t);
    if (!m.matches()) {
      throw new IllegalArgumentException("not a duration: " + text + " (e.g. 30s, 10m, 2h, forever)");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      default -> Duration.ofSeconds(n);
    };
  }

  /** A byte count as a person reads it: {@code 1.5 MiB}. */
  public static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int i = -1;
    while (value >= 1024 && i < units.length - 1) {
      value /= 1024;
      i++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[i]);
  }

  /** A duration as a person reads it: {@code 1.2 s}, {@code 3 min}. */
  public static String durationText(Duration d) {
    if (d == null) {
      return "ever";
    }
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + " ms";
    }
    if (ms < 120_000) {
      return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
    return (ms / 60_000) + " min";
  }
}

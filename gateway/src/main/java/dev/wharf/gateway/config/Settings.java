package dev.wharf.gateway.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed lookup of a setting: the environment variable first ({@code s3.part-size} is
 * {@code WHARF_S3_PART_SIZE}), then the YAML file, then the default. A value that does not parse stops
 * the start with a message naming the key.
 */
final class Settings {

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?", Pattern.CASE_INSENSITIVE);

  private final Map<String, Object> yaml;
  private final Map<String, String> env;
  private final java.util.Set<String> keysRead = new java.util.TreeSet<>();

  Settings(Map<String, Object> yaml, Map<String, String> env) {
    this.yaml = yaml;
    this.env = env;
  }

  static String envName(String key) {
    return "WHARF_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /** Every key looked up so far (with or without a value). */
  java.util.Set<String> keysRead() {
    return java.util.Collections.unmodifiableSet(keysRead);
  }

  /** The raw value, or null when set nowhere. */
  String raw(String key) {
    Object node = node(key);
    return node == null || node instanceof Map<?, ?> ? null : node.toString();
  }

  /**
   * A list: a YAML sequence, or one string of comma-separated items (the only form an environment variable has);
   * items are trimmed and empty ones dropped. Empty when set nowhere.
   */
  java.util.List<String> list(String key) {
    Object node = node(key);
    java.util.List<String> items = new java.util.ArrayList<>();
    if (node instanceof java.util.List<?> sequence) {
      sequence.forEach(item -> items.add(String.valueOf(item)));
    } else if (node != null && !(node instanceof Map<?, ?>)) {
      items.addAll(java.util.Arrays.asList(node.toString().split(",")));
    }
    return items.stream().map(String::strip).filter(item -> !item.isEmpty()).toList();
  }

  /** The environment's string, else the YAML node (a scalar, a sequence or a mapping), else null. */
  private Object node(String key) {
    keysRead.add(key);
    String fromEnv = env.get(envName(key));
    if (fromEnv != null && !fromEnv.isEmpty()) {
      return fromEnv;
    }
    Object node = yaml;
    for (String part : key.split("\\.")) {
      if (!(node instanceof Map<?, ?> map)) {
        return null;
      }
      node = map.get(part);
    }
    return node;
  }

  String string(String key, String defaultValue) {
    String value = raw(key);
    return value == null ? defaultValue : value;
  }

  String required(String key) {
    String value = raw(key);
    if (value == null || value.isBlank()) {
      throw new ConfigException(key, "is required (set " + envName(key) + " or " + key + " in the config file)");
    }
    return value;
  }

  int integer(String key, int defaultValue) {
    String value = raw(key);
    if (value == null) {
      return defaultValue;
    }
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(key, "must be a whole number, not '" + value + "'");
    }
  }

  boolean bool(String key, boolean defaultValue) {
    String value = raw(key);
    if (value == null) {
      return defaultValue;
    }
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on", "1" -> true;
      case "false", "no", "off", "0" -> false;
      default -> throw new ConfigException(key, "must be true or false, not '" + value + "'");
    };
  }

  /** {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d}; a bare number is seconds. */
  Duration duration(String key, Duration defaultValue) {
    String value = raw(key);
    if (value == null) {
      return defaultValue;
    }
    Matcher m = DURATION.matcher(value.trim());
    if (!m.matches()) {
      throw new ConfigException(key, "must be a duration such as 250ms, 30s, 5m, 1h, not '" + value + "'");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  /** {@code 8MiB}, {@code 16GiB}, {@code 500MB}; a bare number is bytes. */
  long bytes(String key, long defaultValue) {
    String value = raw(key);
    if (value == null) {
      return defaultValue;
    }
    Matcher m = SIZE.matcher(value.trim());
    if (!m.matches()) {
      throw new ConfigException(key, "must be a size such as 8MiB or 16GiB, not '" + value + "'");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
    long factor = switch (unit) {
      case "KB" -> 1_000L;
      case "KIB" -> 1L << 10;
      case "MB" -> 1_000_000L;
      case "MIB" -> 1L << 20;
      case "GB" -> 1_000_000_000L;
      case "GIB" -> 1L << 30;
      case "TB" -> 1_000_000_000_000L;
      case "TIB" -> 1L << 40;
      default -> 1L;
    };
    return Math.multiplyExact(n, factor);
  }
}

package dev.wharf.mqtt;

/** MQTT topic-filter syntax and matching ({@code +} one level, {@code #} the rest). */
public final class TopicFilters {

  private TopicFilters() {}

  public static boolean isValidFilter(String filter) {
    if (filter.isEmpty() || filter.length() > 1024 || filter.indexOf('\u0000') >= 0) {
      return false;
    }
    String[] levels = filter.split("/", -1);
    for (int i = 0; i < levels.length; i++) {
      String level = levels[i];
      if (level.contains("#") && (!level.equals("#") || i != levels.length - 1)) {
        return false;
      }
      if (level.contains("+") && !level.equals("+")) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code topic} (no wildcards) matches {@code filter}. */
  public static boolean matches(String filter, String topic) {
    String[] f = filter.split("/", -1);
    String[] t = topic.split("/", -1);
    for (int i = 0; i < f.length; i++) {
      if (f[i].equals("#")) {
        return true;
      }
      if (i >= t.length || !(f[i].equals("+") || f[i].equals(t[i]))) {
        return false;
      }
    }
    return f.length == t.length;
  }
}

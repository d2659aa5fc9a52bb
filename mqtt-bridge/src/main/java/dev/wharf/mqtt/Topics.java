package dev.wharf.mqtt;

import dev.wharf.auth.Ids;
import java.util.Optional;

/**
 * Wharf's topic names: {@code {root}/d/{device}/{suffix}}. Parses what devices publish, builds what Wharf
 * publishes, and decides whether a device may use a topic or filter: only under its own prefix.
 */
public final class Topics {

  /** The longest part of a topic a log line quotes: a device chooses its topics, and one may be 64 KiB long. */
  private static final int LOGGED_TOPIC_CHARS = 200;

  /** {@code topic} as a log line may quote it: cut to a bounded length, saying how long it was. */
  public static String loggable(String topic) {
    if (topic == null || topic.length() <= LOGGED_TOPIC_CHARS) {
      return topic;
    }
    return topic.substring(0, LOGGED_TOPIC_CHARS) + "…(" + topic.length() + " chars)";
  }


  private final String root;

  public Topics(String root) {
    this.root = root;
  }

  /** A topic under some device's prefix; {@code kind} is empty for a suffix Wharf does not know. */
  public record DeviceTopic(String device, Optional<TopicKind> kind, String suffix) {}

  public String root() {
    return root;
  }

  /** {@code {root}/d/{device}/}. */
  public String prefix(String device) {
    return root + "/d/" + device + "/";
  }

  public String topic(String device, TopicKind kind) {
    return prefix(device) + kind.suffix();
  }

  /** The filter a replica subscribes to for {@code kind} of every device, shared in {@code group} if given. */
  public String everyDevice(TopicKind kind, String group) {
    String filter = root + "/d/+/" + kind.suffix();
    return group == null || group.isBlank() ? filter : "$share/" + group + "/" + filter;
  }

  /** Splits a concrete topic; empty when it is not under {@code {root}/d/{valid device id}/}. */
  public Optional<DeviceTopic> parse(String topic) {
    String start = root + "/d/";
    if (topic == null || !topic.startsWith(start)) {
      return Optional.empty();
    }
    int slash = topic.indexOf('/', start.length());
    if (slash < 0) {
      return Optional.empty();
    }
    String device = topic.substring(start.length(), slash);
    if (!Ids.isValidName(device)) {
      return Optional.empty();
    }
    String suffix = topic.substring(slash + 1);
    return Optional.of(new DeviceTopic(device, TopicKind.ofSuffix(suffix), suffix));
  }

  /**
   * Whether {@code device} may use {@code topicOrFilter}: it must lie under the device's own prefix, taken
   * literally, and be a well-formed filter ({@code +} and {@code #} only as whole levels, {@code #} last).
   */
  public boolean owns(String device, String topicOrFilter) {
    return Ids.isValidName(device) && topicOrFilter != null && topicOrFilter.startsWith(prefix(device))
        && TopicFilters.isValidFilter(topicOrFilter);
  }
}

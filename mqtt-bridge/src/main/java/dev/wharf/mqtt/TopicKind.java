package dev.wharf.mqtt;

import java.util.Optional;

/** The topics under a device's {@code {root}/d/{d}/}, and which way each one flows. */
public enum TopicKind {
  UPLOAD_REQUEST("upload/request", true),
  UPLOAD_COMPLETE("upload/complete", true),
  INBOX_ACK("inbox/ack", true),
  UPLOAD_GRANT("upload/grant", false),
  FILES_STATUS("files/status", false),
  INBOX("inbox", false),
  /** Error replies to messages whose topic has no reply topic of its own. */
  ERRORS("errors", false);

  private final String suffix;
  private final boolean inbound;

  TopicKind(String suffix, boolean inbound) {
    this.suffix = suffix;
    this.inbound = inbound;
  }

  public String suffix() {
    return suffix;
  }

  /** Device → gateway. */
  public boolean inbound() {
    return inbound;
  }

  /** Where the answer to a message on this topic goes. */
  public TopicKind replyTopic() {
    return this == UPLOAD_REQUEST ? UPLOAD_GRANT : ERRORS;
  }

  /** A short name for metrics and logs. */
  public String metricName() {
    return suffix.replace('/', '_');
  }

  static Optional<TopicKind> ofSuffix(String suffix) {
    for (TopicKind kind : values()) {
      if (kind.suffix.equals(suffix)) {
        return Optional.of(kind);
      }
    }
    return Optional.empty();
  }
}

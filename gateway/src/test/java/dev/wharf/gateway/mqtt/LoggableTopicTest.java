package dev.wharf.gateway.mqtt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.mqtt.Topics;
import org.junit.jupiter.api.Test;

/** A device chooses its topics: a log line quotes at most 200 characters of one, and says how long it was. */
class LoggableTopicTest {

  @Test
  void aLongTopicIsCutInLogLinesAndAShortOneIsNot() {
    String huge = "wharf/d/dev-a/" + "t".repeat(60_000);
    assertThat(Topics.loggable(huge)).hasSizeLessThan(230).startsWith("wharf/d/dev-a/ttt").endsWith("(" + huge.length() + " chars)");
    assertThat(Topics.loggable("wharf/d/dev-a/upload/request")).isEqualTo("wharf/d/dev-a/upload/request");
    assertThat(Topics.loggable(null)).isNull();
  }
}

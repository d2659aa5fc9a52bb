package dev.wharf.events;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.config.RedisConfig;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.json.JsonObject;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A replica tells its own envelopes from the text's start, and never takes another replica's for its own. */
class NoticeRelayEnvelopeTest {

  private static NoticeRelay relay() {
    return new NoticeRelay(new RedisConfig("redis://127.0.0.1:1", 1, "test"), null, Set.of("a"), new WharfMetrics());
  }

  @Test
  void ownEnvelopesAreKnownWithoutDecodingAndOthersAreNot() {
    NoticeRelay one = relay();
    NoticeRelay other = relay();
    JsonObject notice = new JsonObject().put("o", "not the origin").put("device", "d1");
    String sent = one.envelope("a", notice);
    assertThat(one.isOwn(sent)).isTrue();
    assertThat(other.isOwn(sent)).isFalse();
    assertThat(one.isOwn(other.envelope("a", notice))).isFalse();
    assertThat(new JsonObject(sent).getJsonObject("b")).isEqualTo(notice);
  }
}

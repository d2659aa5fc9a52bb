package dev.wharf.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The inbox view written straight to a generator is the same text, field for field and in order, as {@code toInboxJson()}. */
class DeliveryJsonTest {

  private static final OffsetDateTime CREATED = OffsetDateTime.of(2026, 12, 3, 19, 0, 0, 123_456_000, ZoneOffset.UTC);

  @Test
  void stagedFetchedAckedAndRejectedViewsMatch() throws IOException {
    Delivery staged = delivery(DeliveryState.STAGED, "log \"1\" ünïcode\n.txt", null, null, null, null);
    Delivery fetched = delivery(DeliveryState.FETCHED, "a.bin", CREATED.plusSeconds(1), null, null, null);
    Delivery acked = delivery(DeliveryState.ACKED, "a.bin", CREATED.plusSeconds(1), CREATED.plusSeconds(2), null, null);
    Delivery rejected = delivery(DeliveryState.REJECTED, "a.bin", null, null, CREATED.plusSeconds(3), "disk full");
    Delivery rejectedNoReason = delivery(DeliveryState.REJECTED, "a.bin", null, null, CREATED.plusSeconds(3), null);
    for (Delivery d : new Delivery[] {staged, fetched, acked, rejected, rejectedNoReason}) {
      assertThat(written(d)).as(d.state().wireName()).isEqualTo(d.toInboxJson().encode());
    }
    assertThat(written(acked)).contains("\"acked_at\":\"2026-12-03T19:00:02.123456Z\"").contains("\"size\":1234");
    assertThat(written(rejectedNoReason)).contains("\"reject_reason\":null");
    assertThat(written(staged)).doesNotContain("acked_at").doesNotContain("rejected_at");
  }

  private static String written(Delivery d) throws IOException {
    StringWriter text = new StringWriter();
    try (JsonGenerator out = new JsonFactory().createGenerator(text)) {
      d.writeInboxJson(out);
    }
    return text.toString();
  }

  private static Delivery delivery(DeliveryState state, String filename, OffsetDateTime fetched, OffsetDateTime acked,
      OffsetDateTime rejected, String reason) {
    return new Delivery(UUID.randomUUID(), "t1", "d1", "s1", null, "t/t1/deliveries/x", filename, "text/plain", 1234L,
        "ab".repeat(32), state, reason, CREATED, fetched, acked, rejected, null, CREATED.plusHours(1));
  }
}

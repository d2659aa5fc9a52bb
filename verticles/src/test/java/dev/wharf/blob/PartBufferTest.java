package dev.wharf.blob;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The part gathering both streamed writes share: bytes in order, one hash over them, bounded arrays, the body's flow. */
class PartBufferTest {

  private static final int PART = 1024;

  @Test
  void bytesComeOutAsFullPartsInOrderThenTheTailWithOneHashOverAll() throws Exception {
    byte[] input = new byte[5 * PART + 333];
    new Random(7).nextBytes(input);
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    Flow body = new Flow();
    PartBuffer parts = new PartBuffer(body, PART, 64, digest::update);
    List<byte[]> shipped = new ArrayList<>();
    Random sizes = new Random(11);
    int pos = 0;
    while (pos < input.length) {
      int n = Math.min(input.length - pos, 1 + sizes.nextInt(700));
      parts.add(Buffer.buffer(Arrays.copyOfRange(input, pos, pos + n)));
      pos += n;
      // One slot, freed at once: every full part goes as soon as it fills.
      assertThat(parts.pump(() -> true, full -> shipped.add(full.clone()), () -> false)).isFalse();
    }
    parts.bodyEnded();
    assertThat(parts.pump(() -> true, full -> shipped.add(full.clone()), () -> false)).isTrue();

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    shipped.forEach(p -> out.writeBytes(p));
    out.write(parts.current(), 0, parts.filled());
    assertThat(shipped).hasSize(5).allSatisfy(p -> assertThat(p).hasSize(PART));
    assertThat(parts.filled()).isEqualTo(333);
    assertThat(out.toByteArray()).isEqualTo(input);
    assertThat(digest.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(input));
  }

  @Test
  void aFullPartWithoutAFreeSlotPausesTheBodyUntilItGoes() {
    Flow body = new Flow();
    PartBuffer parts = new PartBuffer(body, PART, 64, (b, o, l) -> { });
    boolean[] slotFree = {false};
    List<byte[]> shipped = new ArrayList<>();
    parts.add(Buffer.buffer(new byte[PART + 10]));
    assertThat(parts.pump(() -> slotFree[0], shipped::add, () -> false)).isFalse();
    assertThat(shipped).isEmpty();
    assertThat(parts.hasFullPart()).isTrue();
    assertThat(body.paused).isTrue();

    slotFree[0] = true;
    assertThat(parts.pump(() -> slotFree[0], shipped::add, () -> false)).isFalse();
    assertThat(shipped).hasSize(1);
    assertThat(parts.filled()).as("the 10 bytes past the part").isEqualTo(10);
    assertThat(body.paused).as("resumed once nothing waits").isFalse();
  }

  @Test
  void prefilledBytesLeadThePartUnhashedAndArraysAreReusedOnceRecycled() {
    Flow body = new Flow();
    int[] hashed = {0};
    PartBuffer parts = new PartBuffer(body, PART, 64, (b, o, l) -> hashed[0] += l);
    parts.prefill(Buffer.buffer("tail"));
    parts.add(Buffer.buffer(new byte[PART - 4]));
    List<byte[]> shipped = new ArrayList<>();
    parts.pump(() -> true, shipped::add, () -> false);
    assertThat(shipped).hasSize(1);
    assertThat(new String(shipped.get(0), 0, 4)).isEqualTo("tail");
    assertThat(hashed[0]).as("only the body's bytes are hashed").isEqualTo(PART - 4);

    parts.recycle(shipped.get(0));
    parts.add(Buffer.buffer(new byte[1]));
    parts.pump(() -> true, shipped::add, () -> false);
    assertThat(parts.current()).as("the next part fills the recycled array").isSameAs(shipped.get(0));
  }

  @Test
  void aStoppedPumpTouchesNeitherTheBodyNorTheWaitingData() {
    Flow body = new Flow();
    PartBuffer parts = new PartBuffer(body, PART, 64, (b, o, l) -> { });
    parts.add(Buffer.buffer(new byte[10]));
    assertThat(parts.pump(() -> true, p -> { }, () -> true)).isFalse();
    assertThat(parts.filled()).isZero();
    assertThat(body.pauses + body.resumes).isZero();
  }

  /** A body whose flow the test reads; its data is handed to the buffer by the test itself. */
  private static final class Flow implements ReadStream<Buffer> {
    boolean paused;
    int pauses;
    int resumes;

    @Override
    public ReadStream<Buffer> pause() {
      paused = true;
      pauses++;
      return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
      paused = false;
      resumes++;
      return this;
    }

    @Override
    public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
      return this;
    }

    @Override
    public ReadStream<Buffer> handler(Handler<Buffer> handler) {
      return this;
    }

    @Override
    public ReadStream<Buffer> fetch(long amount) {
      return this;
    }

    @Override
    public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
      return this;
    }
  }
}

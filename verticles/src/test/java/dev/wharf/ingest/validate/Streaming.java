package dev.wharf.ingest.validate;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.util.Arrays;
import java.util.Random;

/**
 * Runs content through a validator the way the ingest worker does: sniff the head, stream every byte in
 * chunks of random sizes, then finish with ranged reads of the same bytes.
 */
final class Streaming {

  /** Content up to this size is also streamed one byte at a time, and must reach the same findings. */
  private static final int BYTE_BY_BYTE_UP_TO = 200_000;

  private Streaming() {}

  static ContentFacts facts(String filename, String declaredType, byte[] content) {
    Buffer head = Buffer.buffer(Arrays.copyOf(content, Math.min(content.length, TypeSniffer.HEAD_BYTES)));
    return new ContentFacts(filename, declaredType, TypeSniffer.sniff(head), content.length);
  }

  /** The findings of {@code validator} on {@code content}, which it must apply to. */
  static Findings check(Validator validator, ContentFacts facts, byte[] content) {
    assertThat(validator.appliesTo(facts)).as("%s applies to %s", validator.name(), facts).isTrue();
    Findings randomly = run(validator, facts, content, new Random(content.length)::nextInt);
    if (content.length <= BYTE_BY_BYTE_UP_TO) {
      assertThat(run(validator, facts, content, bound -> 0)).as("byte by byte").isEqualTo(randomly);
    }
    return randomly;
  }

  private interface Sizes {
    int next(int bound);
  }

  private static Findings run(Validator validator, ContentFacts facts, byte[] content, Sizes sizes) {
    Check check = validator.start(facts);
    int at = 0;
    while (at < content.length) {
      int length = Math.min(content.length - at, 1 + sizes.next(sizes.next(3) == 0 ? 8 : 64 * 1024));
      check.update(Buffer.buffer(Arrays.copyOfRange(content, at, at + length)));
      at += length;
    }
    Future<Findings> findings = check.finish(ranges(content));
    assertThat(findings.isComplete()).as("finished without waiting on I/O").isTrue();
    if (findings.failed()) {
      throw new AssertionError("the check failed instead of reporting findings", findings.cause());
    }
    assertThat(findings.result().validator()).isEqualTo(validator.name());
    return findings.result();
  }

  /** Ranged reads of {@code content} that insist on staying within it, as S3 ranged GETs would. */
  static RangeReader ranges(byte[] content) {
    return (offset, length) -> {
      if (offset < 0 || length < 0 || offset + length > content.length) {
        return Future.failedFuture(new IllegalArgumentException(
            "range " + offset + "+" + length + " outside an object of " + content.length + " bytes"));
      }
      return Future.succeededFuture(Buffer.buffer(Arrays.copyOfRange(content, (int) offset, (int) offset + length)));
    };
  }
}

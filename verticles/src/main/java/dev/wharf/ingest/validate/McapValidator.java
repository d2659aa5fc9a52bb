package dev.wharf.ingest.validate;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Checks that an MCAP recording is complete: it starts with the 8-byte MCAP magic and ends with a Footer
 * record (opcode 0x02, length 20) followed by the magic again, and the Footer's summary offsets point inside
 * the recording. A recording cut short by a crash or an interrupted upload has no footer and is invalid.
 * Records in between are not walked.
 *
 * <p>Applies when the content sniffs as MCAP, the declared type is {@code application/x-mcap}, or the
 * declared type names no format and the file name ends in {@code .mcap}.
 *
 * <p>Learned: {@code mcap_profile} and {@code mcap_library}, from the Header record when it is the first
 * record and its strings lie within the first {@value #HEAD_LIMIT} bytes.
 */
public final class McapValidator implements Validator {

  static final int HEAD_LIMIT = 4096;
  static final byte[] MAGIC = {(byte) 0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n'};

  private static final int HEADER_OPCODE = 0x01;
  private static final int FOOTER_OPCODE = 0x02;
  private static final int FOOTER_CONTENT = 20;
  private static final int FOOTER_RECORD = 1 + 8 + FOOTER_CONTENT;
  private static final String TRUNCATED = "MCAP footer missing: the recording is truncated";

  @Override
  public String name() {
    return "mcap";
  }

  @Override
  public boolean appliesTo(ContentFacts facts) {
    return facts.sniffed() == SniffedType.MCAP
        || "application/x-mcap".equals(facts.declaredType())
        || (facts.declaresNoFormat() && facts.hasExtension(".mcap"));
  }

  @Override
  public Check start(ContentFacts facts) {
    return new RecordingCheck(facts.size());
  }

  private final class RecordingCheck implements Check {

    private final long size;
    private final Buffer head = Buffer.buffer();

    RecordingCheck(long size) {
      this.size = size;
    }

    @Override
    public void update(Buffer chunk) {
      int wanted = HEAD_LIMIT - head.length();
      if (wanted > 0) {
        head.appendBuffer(chunk, 0, Math.min(wanted, chunk.length()));
      }
    }

    @Override
    public Future<Findings> finish(RangeReader ranges) {
      if (!startsWithMagic(head, 0)) {
        return invalid("not an MCAP recording: the leading magic is missing");
      }
      if (size < MAGIC.length + FOOTER_RECORD + MAGIC.length) {
        return invalid(TRUNCATED);
      }
      long footerStart = size - FOOTER_RECORD - MAGIC.length;
      return ranges.read(footerStart, FOOTER_RECORD + MAGIC.length).map(tail -> {
        if (!startsWithMagic(tail, FOOTER_RECORD)) {
          return Findings.invalid(name(), TRUNCATED);
        }
        if (tail.getUnsignedByte(0) != FOOTER_OPCODE || tail.getLongLE(1) != FOOTER_CONTENT) {
          return Findings.invalid(name(), "MCAP footer record is corrupt: the recording is damaged or truncated");
        }
        long summaryStart = tail.getLongLE(9);
        long summaryOffsetStart = tail.getLongLE(17);
        if (outside(summaryStart, MAGIC.length, footerStart)
            || outside(summaryOffsetStart, Math.max(summaryStart, MAGIC.length), footerStart)) {
          return Findings.invalid(name(), "MCAP footer points outside the recording: it is corrupt");
        }
        return Findings.valid(name(), header());
      });
    }

    /** Whether a non-zero offset falls outside {@code [from, to)}; zero means the section is absent. */
    private static boolean outside(long offset, long from, long to) {
      return offset != 0 && (offset < from || offset >= to);
    }

    private Map<String, Object> header() {
      Map<String, Object> learned = new HashMap<>();
      int at = MAGIC.length;
      if (head.length() < at + 9 || head.getUnsignedByte(at) != HEADER_OPCODE) {
        return learned;
      }
      long recordEnd = at + 9 + head.getLongLE(at + 1);
      int profileEnd = stringEnd(at + 9, recordEnd);
      if (profileEnd < 0) {
        return learned;
      }
      learned.put("mcap_profile", head.getString(at + 13, profileEnd, StandardCharsets.UTF_8.name()));
      int libraryEnd = stringEnd(profileEnd, recordEnd);
      if (libraryEnd >= 0) {
        learned.put("mcap_library", head.getString(profileEnd + 4, libraryEnd, StandardCharsets.UTF_8.name()));
      }
      return learned;
    }

    /** Where a length-prefixed string at {@code at} ends, or -1 if it leaves the record or the head. */
    private int stringEnd(int at, long recordEnd) {
      if (at + 4 > head.length() || at + 4 > recordEnd) {
        return -1;
      }
      long end = at + 4 + head.getUnsignedIntLE(at);
      return end <= recordEnd && end <= head.length() ? (int) end : -1;
    }

    private Future<Findings> invalid(String detail) {
      return Future.succeededFuture(Findings.invalid(name(), detail));
    }
  }

  private static boolean startsWithMagic(Buffer buffer, int at) {
    if (buffer.length() < at + MAGIC.length) {
      return false;
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (buffer.getByte(at + i) != MAGIC[i]) {
        return false;
      }
    }
    return true;
  }
}

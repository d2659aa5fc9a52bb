package dev.wharf.ingest;

import dev.wharf.files.FileRecord;
import dev.wharf.ingest.validate.Check;
import dev.wharf.ingest.validate.ContentFacts;
import dev.wharf.ingest.validate.Findings;
import dev.wharf.ingest.validate.RangeReader;
import dev.wharf.ingest.validate.SniffedType;
import dev.wharf.ingest.validate.TypeSniffer;
import dev.wharf.ingest.validate.Validator;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * One pass over a stored object: SHA-256 and size against the file row, the type sniffed from the first
 * bytes, and every validator that applies fed chunk by chunk. State is bounded: a small head buffer and
 * whatever the checks keep.
 */
final class ContentInspection {

  static final int HEAD_BYTES = 512;

  private final FileRecord file;
  private final List<Validator> validators;
  private final MessageDigest sha256;
  private final List<Check> checks = new ArrayList<>();
  private final List<String> checkNames = new ArrayList<>();
  private Buffer head = Buffer.buffer();
  private SniffedType sniffed;
  private long seen;

  ContentInspection(FileRecord file, List<Validator> validators) {
    this.file = file;
    this.validators = validators;
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  long bytesSeen() {
    return seen;
  }

  void accept(Buffer chunk) {
    seen += chunk.length();
    sha256.update(chunk.getBytes());
    if (sniffed == null) {
      head.appendBuffer(chunk);
      if (head.length() >= HEAD_BYTES) {
        startChecks();
      }
      return;
    }
    checks.forEach(check -> check.update(chunk));
  }

  private void startChecks() {
    Buffer sniffHead = head.length() > HEAD_BYTES ? head.getBuffer(0, HEAD_BYTES) : head;
    sniffed = TypeSniffer.sniff(sniffHead);
    ContentFacts facts = new ContentFacts(file.filename(), file.contentType(), sniffed, file.size() == null ? seen : file.size());
    for (Validator validator : validators) {
      if (validator.appliesTo(facts)) {
        checks.add(validator.start(facts));
        checkNames.add(validator.name());
      }
    }
    Buffer buffered = head;
    head = null;
    checks.forEach(check -> check.update(buffered));
  }

  /** After the last chunk: the verdict, running the checks' finishing reads through {@code ranges}. */
  Future<Verdict> finish(RangeReader ranges) {
    if (sniffed == null) {
      startChecks();
    }
    String digest = HexFormat.of().formatHex(sha256.digest());
    JsonObject metadata = new JsonObject()
        .put("sniffed_type", sniffed.mediaType())
        .put("verified_size", seen)
        .put("verified_sha256", digest)
        .put("checks", new io.vertx.core.json.JsonArray(checkNames));
    if (file.size() != null && file.size() != seen) {
      return Future.succeededFuture(Verdict.invalid("the stored object has " + seen + " bytes, the upload had " + file.size(), metadata));
    }
    if (file.sha256() != null && !file.sha256().equals(digest)) {
      return Future.succeededFuture(Verdict.invalid("the stored object's SHA-256 " + digest + " differs from the upload's " + file.sha256(), metadata));
    }
    Future<Verdict> verdict = Future.succeededFuture(Verdict.valid(metadata));
    for (Check check : checks) {
      verdict = verdict.compose(soFar -> !soFar.valid()
          ? Future.succeededFuture(soFar)
          : check.finish(ranges).map(findings -> soFar.with(findings)));
    }
    return verdict;
  }

  /** The outcome of an inspection: processed with metadata, or failed with a detail. */
  record Verdict(boolean valid, String detail, JsonObject metadata) {

    static Verdict valid(JsonObject metadata) {
      return new Verdict(true, null, metadata);
    }

    static Verdict invalid(String detail, JsonObject metadata) {
      return new Verdict(false, detail, metadata);
    }

    Verdict with(Findings findings) {
      if (!findings.valid()) {
        return invalid(findings.validator() + ": " + findings.detail(), metadata);
      }
      findings.learned().forEach(metadata::put);
      return this;
    }
  }
}

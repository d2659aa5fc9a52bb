package dev.wharf.uploads;

import dev.wharf.blob.BlobStore;
import dev.wharf.blob.PartBuffer;
import dev.wharf.blob.PartInfo;
import dev.wharf.error.ClientException;
import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import dev.wharf.uploads.UploadSession.State;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.sqlclient.Pool;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One chunk (a tus PATCH) appended to a leased session: the state machine behind
 * {@link UploadSessions#append}.
 *
 * <p>The chunk continues the bytes after the last committed part: the pending tail is read back from its
 * object first, new bytes are added after it, and every time {@code partSize} bytes are gathered they go up
 * as the next S3 part and are recorded (part row, offset, hash state, in one transaction fenced by the
 * lease). When the chunk ends, what is left after the last full part is written as the new tail object and
 * recorded the same way, so the offset a HEAD reports is exactly what storage holds. With a chunk checksum
 * nothing is recorded before the checksum is verified at the end; parts already sent are then simply not
 * referenced, and their numbers are sent again by the next chunk.
 *
 * <p>Memory: the part being filled plus the one on the wire, whatever the chunk size. Every handler runs
 * on the caller's context, so the state needs no locking.
 */
final class SessionAppend {

  private static final Logger log = LoggerFactory.getLogger(SessionAppend.class);
  private static final int FIRST_ALLOCATION = 64 * 1024;
  private static final int MAX_PARTS = 10_000;

  /** What a chunk achieved: the durable offset after it, and whether it carried the last byte. */
  record Result(long offset, boolean complete) {}

  private record Unrecorded(PartInfo part, String sha256) {}

  private final Vertx vertx;
  private final Pool pool;
  private final BlobStore blobs;
  private final UploadSession session;
  private final String leaseOwner;
  private final Duration lease;
  private final Duration ttl;
  private final ReadStream<Buffer> body;
  private final long maxBytes;
  private final Long newLength;
  private final ChunkChecksum checksum;
  private final MessageDigest chunkDigest;

  private final Promise<Result> result = Promise.promise();
  private final List<Unrecorded> unrecorded = new ArrayList<>();
  private final ResumableSha256 hash;
  private final PartBuffer parts;

  /** The hash state at the end of the full part waiting in {@link #parts}, recorded with it once it is sent. */
  private byte[] fullState;
  private Future<Void> inFlight = Future.succeededFuture();
  private long partsBytes;
  private int partsCount;
  private long received;
  private long renewTimer = -1;
  private boolean finishing;
  private boolean failed;

  SessionAppend(Vertx vertx, Pool pool, BlobStore blobs, UploadSession session, String leaseOwner, Duration lease, Duration ttl,
      ReadStream<Buffer> body, long maxBytes, Long newLength, ChunkChecksum checksum) {
    this.vertx = vertx;
    this.pool = pool;
    this.blobs = blobs;
    this.session = session;
    this.leaseOwner = leaseOwner;
    this.lease = lease;
    this.ttl = ttl;
    this.body = body;
    this.maxBytes = maxBytes;
    this.newLength = newLength;
    this.checksum = checksum;
    this.chunkDigest = checksum == null ? null : checksum.newDigest();
    this.hash = ResumableSha256.restore(session.hashState());
    this.partsBytes = session.partsBytes();
    this.partsCount = session.partsCount();
    this.parts = new PartBuffer(body, session.partSize(), FIRST_ALLOCATION, new PartBuffer.Hash() {
      @Override
      public void update(byte[] bytes, int offset, int length) {
        hash.update(bytes, offset, length);
      }

      @Override
      public void partFilled() {
        fullState = hash.save();
      }
    });
  }

  /** Reads the pending tail back, then takes over the body (paused by the caller) until the chunk ends. */
  Future<Result> start() {
    renewTimer = vertx.setPeriodic(Math.max(100, lease.toMillis() / 3), id -> renew());
    Future<Void> tail = session.tailBytes() == 0 ? Future.succeededFuture()
        : blobs.read(session.tailKey(), 0, session.tailBytes()).map(bytes -> {
          if (bytes.length() != session.tailBytes()) {
            throw ServerException.unavailable("storage", new IllegalStateException("the pending tail object is shorter than recorded"));
          }
          parts.prefill(bytes);
          return null;
        });
    tail.onSuccess(v -> {
      body.exceptionHandler(this::interrupted);
      body.endHandler(v2 -> {
        parts.bodyEnded();
        advance();
      });
      body.handler(this::onData);
      body.resume();
    }).onFailure(this::fail);
    return result.future().andThen(ar -> vertx.cancelTimer(renewTimer));
  }

  private void onData(Buffer data) {
    if (failed || finishing) {
      return;
    }
    received += data.length();
    if (received > maxBytes) {
      fail(new ClientException(413, "exceeds_upload_length", "the chunk goes past the upload's length"));
      return;
    }
    if (chunkDigest != null) {
      chunkDigest.update(data.getBytes());
    }
    parts.add(data);
    advance();
  }

  private void advance() {
    if (failed || finishing) {
      return;
    }
    // inFlight is read at each test: shipping a part replaces it.
    if (parts.pump(() -> inFlight.isComplete(), full -> {
      byte[] state = fullState;
      fullState = null;
      ship(full, session.partSize(), state);
    }, () -> failed)) {
      finishing = true;
      inFlight.onSuccess(v -> endOfChunk()).onFailure(this::fail);
    }
  }

  /** Sends one part and, without a chunk checksum, records it with the offset and hash state at its end. */
  private void ship(byte[] bytes, int length, byte[] stateAtEnd) {
    int number = partsCount + unrecorded.size() + 1;
    if (number > MAX_PARTS) {
      fail(ClientException.tooLarge("the upload needs more than " + MAX_PARTS + " parts"));
      return;
    }
    String sha = partSha256(bytes, length);
    inFlight = blobs.uploadPart(session.objectKey(), session.uploadId(), number, bytes, length)
        .compose(etag -> {
          PartInfo part = new PartInfo(number, length, etag);
          if (checksum != null) {
            unrecorded.add(new Unrecorded(part, sha));
            return Future.succeededFuture();
          }
          return record(List.of(new Unrecorded(part, sha)), partsBytes + length, partsCount + 1, 0, stateAtEnd, State.ACTIVE);
        })
        .onSuccess(v -> {
          if (checksum == null) {
            partsBytes += length;
            partsCount++;
          }
          if (length == session.partSize()) {
            parts.recycle(bytes);
          }
          advance();
        })
        .onFailure(this::fail);
  }

  private void endOfChunk() {
    if (failed) {
      return;
    }
    if (chunkDigest != null && !MessageDigest.isEqual(chunkDigest.digest(), checksum.expected())) {
      fail(new ClientException(460, "checksum_mismatch", "the chunk does not match its Upload-Checksum; it was discarded"));
      return;
    }
    long unrecordedBytes = unrecorded.stream().mapToLong(u -> u.part().size()).sum();
    long offset = partsBytes + unrecordedBytes + parts.filled();
    Long length = newLength != null ? newLength : session.declaredLength();
    Future<Void> saved;
    boolean complete = length != null && offset == length;
    if (complete) {
      saved = completeParts(unrecordedBytes);
    } else if (received == 0 && unrecorded.isEmpty()) {
      saved = newLength == null ? Future.succeededFuture()
          : record(List.of(), partsBytes, partsCount, parts.filled(), hash.save(), State.ACTIVE);
    } else {
      saved = saveTail(unrecordedBytes);
    }
    // A completing session stays leased: the caller completes it under the same lease.
    saved.compose(v -> complete ? Future.<Void>succeededFuture() : UploadSessionStore.release(pool, session.fileId(), leaseOwner).otherwiseEmpty())
        .onSuccess(v -> result.tryComplete(new Result(offset, complete)))
        .onFailure(this::fail);
  }

  /** The last byte arrived: the rest goes up as the last part and the session becomes completing. */
  private Future<Void> completeParts(long unrecordedBytes) {
    List<Unrecorded> parts = new ArrayList<>(unrecorded);
    long bytes = partsBytes + unrecordedBytes;
    int count = partsCount + unrecorded.size();
    if (this.parts.filled() == 0) {
      return record(parts, bytes, count, 0, hash.save(), State.COMPLETING);
    }
    int number = count + 1;
    int length = this.parts.filled();
    byte[] last = this.parts.current();
    String sha = partSha256(last, length);
    return blobs.uploadPart(session.objectKey(), session.uploadId(), number, last, length).compose(etag -> {
      parts.add(new Unrecorded(new PartInfo(number, length, etag), sha));
      return record(parts, bytes + length, count + 1, 0, hash.save(), State.COMPLETING);
    });
  }

  /** The chunk ended inside a part: its bytes so far become the pending tail object, then are recorded. */
  private Future<Void> saveTail(long unrecordedBytes) {
    List<Unrecorded> parts = new ArrayList<>(unrecorded);
    long bytes = partsBytes + unrecordedBytes;
    int count = partsCount + unrecorded.size();
    int tail = this.parts.filled();
    Future<Void> written = tail == 0 ? Future.succeededFuture() : blobs.putBytes(session.tailKey(), this.parts.current(), tail);
    return written.compose(v -> record(parts, bytes, count, tail, hash.save(), State.ACTIVE));
  }

  private Future<Void> record(List<Unrecorded> parts, long bytes, int count, int tail, byte[] state, State next) {
    return pool.withTransaction(tx -> {
          Future<Void> chain = Future.succeededFuture();
          for (Unrecorded u : parts) {
            chain = chain.compose(v -> UploadSessionStore.insertPart(tx, session.fileId(), u.part(), u.sha256()));
          }
          return chain
              .compose(v -> UploadSessionStore.checkpoint(tx, session.fileId(), leaseOwner, bytes, count, tail, state, newLength, next, ttl))
              .compose(held -> held ? Future.<Void>succeededFuture() : Future.failedFuture(leaseLost()))
              .compose(v -> parts.isEmpty() && next == State.ACTIVE ? Future.<Void>succeededFuture()
                  : UploadSessionStore.audit(tx, session.tenantId(), session.deviceId(), session.fileId(),
                      next == State.COMPLETING ? "received" : "chunk_committed", "device:" + session.deviceId(), null,
                      new io.vertx.core.json.JsonObject().put("offset", bytes + tail).put("parts", count)));
        })
        .recover(err -> Future.failedFuture(err instanceof WharfException ? err : ServerException.unavailable("postgres", err)));
  }

  private static WharfException leaseLost() {
    return ClientException.conflict("upload_locked", "another request took over this upload");
  }

  /**
   * The client went away mid-chunk. Without a chunk checksum what arrived is kept (tus lets a server keep
   * any prefix of an interrupted PATCH); with one the chunk cannot be verified, so it is dropped.
   */
  private void interrupted(Throwable cause) {
    if (failed || finishing) {
      return;
    }
    if (checksum != null) {
      fail(cause);
      return;
    }
    finishing = true;
    parts.discard(false);
    log.info("chunk interrupted, keeping what arrived [file={}, received={}, cause={}]", session.fileId(), received, cause.toString());
    // A full part still waiting and the queued buffers were never hashed into a recorded state: only the part on
    // the wire and the bytes of the part being filled count, and while a full part waits there is no such part.
    inFlight.transform(ar -> {
          if (ar.failed()) {
            return Future.<Void>failedFuture(ar.cause());
          }
          return fullState != null ? Future.<Void>succeededFuture() : saveTail(0);
        })
        .compose(v -> UploadSessionStore.release(pool, session.fileId(), leaseOwner))
        .onComplete(ar -> result.tryFail(cause));
  }

  private void fail(Throwable cause) {
    if (failed) {
      return;
    }
    failed = true;
    parts.pause();
    parts.discard(true);
    inFlight.transform(ar -> UploadSessionStore.release(pool, session.fileId(), leaseOwner))
        .onComplete(ar -> result.tryFail(cause));
  }

  private void renew() {
    if (failed || result.future().isComplete()) {
      return;
    }
    // A renewal that cannot reach PostgreSQL is retried on the next tick; if the lease runs out meanwhile,
    // the next checkpoint is fenced and the chunk fails with 409.
    UploadSessionStore.renew(pool, session.fileId(), leaseOwner, lease).onSuccess(held -> {
      if (!held) {
        fail(leaseLost());
      }
    }).onFailure(err -> log.debug("upload lease not renewed this time [file={}, cause={}]", session.fileId(), err.toString()));
  }

  private static String partSha256(byte[] bytes, int length) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update(bytes, 0, length);
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

package dev.wharf.uploads;

import dev.wharf.auth.Principal;
import dev.wharf.blob.BlobStore;
import dev.wharf.blob.PartInfo;
import dev.wharf.blob.StoredPart;
import dev.wharf.config.SessionConfig;
import dev.wharf.error.ClientException;
import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import dev.wharf.files.FileRecord;
import dev.wharf.files.FileService;
import dev.wharf.files.FileService.UploadCommand;
import dev.wharf.files.Priority;
import dev.wharf.metrics.WharfMetrics;
import dev.wharf.uploads.UploadSession.Protocol;
import dev.wharf.uploads.UploadSession.State;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;
import io.vertx.sqlclient.Pool;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resumable uploads: sessions that survive a broken link, a gateway restart or a device reboot. Two ways
 * in share this core: tus (bytes through the gateway, {@link #append}) and presigned part URLs (bytes
 * straight to storage, {@link #presign} and {@link #completeDirect}). Either way the session ends with the
 * same commit as a streamed upload ({@link FileService#commitUploaded}), so ingest, notices and the inbox
 * see an ordinary file.
 *
 * <p>Every multipart upload is created before its session row and recorded in it; every change of a session
 * is one transaction with its audit event. An append holds the session's lease, so two chunks never
 * interleave.
 */
public final class UploadSessions {

  private static final Logger log = LoggerFactory.getLogger(UploadSessions.class);
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern REQ = Pattern.compile("[\\x21-\\x7e]{1,128}");
  private static final int MAX_PARTS = 10_000;

  private final Vertx vertx;
  private final Pool pool;
  private final BlobStore blobs;
  private final FileService files;
  private final SessionConfig config;
  private final int partSize;
  private final int maxOpenUploads;
  private final WharfMetrics metrics;

  public UploadSessions(Vertx vertx, Pool pool, BlobStore blobs, FileService files, SessionConfig config, int partSize,
      int maxOpenUploads, WharfMetrics metrics) {
    this.vertx = vertx;
    this.pool = pool;
    this.blobs = blobs;
    this.files = files;
    this.config = config;
    this.partSize = partSize;
    this.maxOpenUploads = maxOpenUploads;
    this.metrics = metrics;
  }

  /**
   * What a device announces. {@code length} is null when a tus client defers it; {@code req} is set when
   * the session was asked for over MQTT (a repeated request gets the same session).
   */
  public record NewSession(String filename, String contentType, Long length, String sha256, Priority priority, String req,
      String requestId) {}

  /** The result of one chunk: the session as it now stands, and the file once the last byte committed it. */
  public record Appended(long offset, UploadSession session, FileRecord file) {}

  /** A presigned URL for one part. */
  public record PresignedPart(int number, String url, Instant expiresAt) {}

  public SessionConfig config() {
    return config;
  }

  public int partSize() {
    return partSize;
  }

  public long maxFileBytes() {
    return Math.min(files.limits().maxFileBytes(), (long) partSize * MAX_PARTS);
  }

  /**
   * Opens a session: creates the multipart upload, then records the file row, the session and its audit
   * event in one transaction. 413 past the size limit, 429 {@code too_many_open_uploads} past the device's
   * cap (open sessions and MQTT grants together), 409 {@code req_reused} when {@code req} was used for
   * another file.
   */
  public Future<UploadSession> create(Principal device, Protocol protocol, NewSession n) {
    String filename;
    String sha;
    try {
      device.requireDevice();
      filename = files.precheck(new UploadCommand(device, n.filename(), n.contentType(), null, null, n.priority(), n.requestId()));
      sha = n.sha256() == null ? null : n.sha256().toLowerCase(Locale.ROOT);
      if (sha != null && !SHA256_HEX.matcher(sha).matches()) {
        throw ClientException.badRequest("invalid_checksum", "sha256 must be 64 hex digits");
      }
      if (n.length() != null && (n.length() < 0)) {
        throw ClientException.badRequest("invalid_length", "the upload length must be zero or more bytes");
      }
      if (n.length() != null && n.length() > maxFileBytes()) {
        throw ClientException.tooLarge("the file is larger than the " + maxFileBytes() + " byte limit");
      }
      if (protocol == Protocol.DIRECT && n.length() == null) {
        throw ClientException.badRequest("invalid_length", "a direct upload needs its size");
      }
      if (n.req() != null && !REQ.matcher(n.req()).matches()) {
        throw ClientException.badRequest("bad_request", "req must be 1-128 visible ASCII characters");
      }
    } catch (WharfException e) {
      metrics.count("wharf_upload_sessions_total", "event", e.code(), 1);
      return Future.failedFuture(e);
    }
    Future<UploadSession> replay = n.req() == null ? Future.succeededFuture()
        : UploadSessionStore.byRequest(pool, device, n.req()).map(found -> found.map(s -> replayed(s, n, sha)).orElse(null));
    return replay.compose(previous -> previous != null ? Future.succeededFuture(previous) : open(device, protocol, n, filename, sha))
        .recover(err -> Future.failedFuture(asWharf(err)));
  }

  private UploadSession replayed(UploadSession s, NewSession n, String sha) {
    if (!Objects.equals(s.declaredLength(), n.length()) || !Objects.equals(s.expectedSha256(), sha)) {
      throw ClientException.conflict("req_reused", "req '" + n.req() + "' was already used for another file");
    }
    return s;
  }

  private Future<UploadSession> open(Principal device, Protocol protocol, NewSession n, String filename, String sha) {
    UUID fileId = UUID.randomUUID();
    String key = "t/" + device.tenantId() + "/files/" + fileId;
    String contentType = normaliseType(n.contentType());
    Priority priority = n.priority() == null ? Priority.NORMAL : n.priority();
    return blobs.createMultipart(key, contentType).compose(uploadId -> {
      UploadSession s = new UploadSession(fileId, device.tenantId(), device.deviceId(), protocol, n.req(), uploadId, key, partSize,
          n.length(), sha, priority.band(), State.ACTIVE, 0, 0, 0, null, null, null, null, null, filename, contentType, null);
      return pool.withTransaction(tx -> OpenUploads.lockDevice(tx, device.tenantId(), device.deviceId())
              .compose(exists -> {
                if (!exists) {
                  throw ClientException.unauthorized("the device no longer exists");
                }
                return OpenUploads.count(tx, device.tenantId(), device.deviceId());
              })
              .compose(open -> {
                if (open >= maxOpenUploads) {
                  throw new ClientException(429, "too_many_open_uploads", "the device already has " + open
                      + " uploads open (limit " + maxOpenUploads + "); finish or abort one, or wait for it to expire");
                }
                return dev.wharf.files.FileStore.insertUploading(tx,
                    new dev.wharf.files.FileStore.NewUpload(fileId, device, filename, n.filename(), contentType, key, priority.band()));
              })
              .compose(v -> UploadSessionStore.insert(tx, s, config.ttl()))
              .compose(v -> UploadSessionStore.audit(tx, s.tenantId(), s.deviceId(), fileId, "created", device.name(), n.requestId(),
                  new JsonObject().put("protocol", protocol.name().toLowerCase(Locale.ROOT)).put("length", n.length())
                      .put("filename", filename))))
          .recover(err -> blobs.abortMultipart(key, uploadId).otherwiseEmpty().transform(v -> Future.failedFuture(err)))
          .compose(v -> UploadSessionStore.getById(pool, fileId));
    }).andThen(ar -> {
      if (ar.succeeded()) {
        metrics.count("wharf_upload_sessions_total", "event", "created", 1);
        log.info("upload session created [request={}, tenant={}, device={}, file={}, protocol={}, length={}]", n.requestId(),
            device.tenantId(), device.deviceId(), fileId, protocol.name().toLowerCase(Locale.ROOT), n.length());
      }
    }).compose(s -> s.declaredLength() != null && s.declaredLength() == 0 && protocol == Protocol.TUS
        ? completeEmpty(s, n.requestId()).map(file -> s) : Future.succeededFuture(s));
  }

  /** The session if the caller owns it; 404 otherwise. */
  public Future<UploadSession> get(Principal device, UUID fileId, Protocol protocol) {
    return UploadSessionStore.get(pool, device.requireDevice(), fileId, protocol).recover(err -> Future.failedFuture(asWharf(err)));
  }

  /**
   * Appends one chunk at {@code offset} (tus PATCH). 409 {@code offset_mismatch} when the offset is not the
   * durable one, 409 {@code upload_locked} while another chunk is being appended, 413 past the length,
   * 460 {@code checksum_mismatch} when the chunk's checksum fails (nothing of it is kept). The chunk that
   * carries the last byte commits the file; a whole-file SHA-256 that differs from the announced one is 422
   * {@code checksum_mismatch}, and the upload is gone.
   */
  public Future<Appended> append(Principal device, UUID fileId, long offset, Long newLength, ChunkChecksum checksum,
      ReadStream<Buffer> body, String requestId) {
    String owner = UUID.randomUUID().toString();
    return UploadSessionStore.lease(pool, device.requireDevice(), fileId, Protocol.TUS, owner, config.lease())
        .recover(err -> Future.failedFuture(asWharf(err)))
        .compose(leased -> leased.isPresent() ? Future.succeededFuture(leased.get()) : notLeased(device, fileId, offset))
        .compose(s -> {
          if (s.state() != State.ACTIVE) {
            return Future.succeededFuture(new Appended(s.offset(), s, null));
          }
          Long length;
          try {
            length = checkAppend(s, offset, newLength);
          } catch (WharfException e) {
            return UploadSessionStore.release(pool, fileId, owner).otherwiseEmpty().transform(v -> Future.failedFuture(e));
          }
          long maxBytes = (length != null ? length : maxFileBytes()) - offset;
          Long recordLength = s.declaredLength() == null ? newLength : null;
          return new SessionAppend(vertx, pool, blobs, s, owner, config.lease(), config.ttl(), body, maxBytes, recordLength, checksum)
              .start()
              .compose(result -> result.complete()
                  ? UploadSessionStore.getById(pool, fileId).compose(done -> finish(done, requestId))
                      .map(file -> new Appended(result.offset(), s, file))
                      .recover(err -> UploadSessionStore.release(pool, fileId, owner).otherwiseEmpty().transform(v -> Future.failedFuture(err)))
                  : Future.succeededFuture(new Appended(result.offset(), s, null)));
        });
  }

  private Long checkAppend(UploadSession s, long offset, Long newLength) {
    if (offset != s.offset()) {
      throw ClientException.conflict("offset_mismatch", "the upload is at offset " + s.offset() + ", not " + offset);
    }
    if (newLength != null) {
      if (s.declaredLength() != null && !s.declaredLength().equals(newLength)) {
        throw ClientException.badRequest("invalid_length", "the upload's length is " + s.declaredLength() + " and cannot change");
      }
      if (newLength < s.offset()) {
        throw ClientException.badRequest("invalid_length", "the length is smaller than what was already received");
      }
      if (newLength > maxFileBytes()) {
        throw ClientException.tooLarge("the file is larger than the " + maxFileBytes() + " byte limit");
      }
    }
    return s.declaredLength() != null ? s.declaredLength() : newLength;
  }

  /** Why no lease: absent (404), finished (the chunk is a retry of the last one), or someone else appending (409). */
  private Future<UploadSession> notLeased(Principal device, UUID fileId, long offset) {
    return UploadSessionStore.get(pool, device, fileId, Protocol.TUS).map(s -> {
      if (s.state() != State.ACTIVE) {
        if (offset == s.offset()) {
          return s;
        }
        throw ClientException.conflict("offset_mismatch", "the upload is complete at offset " + s.offset());
      }
      throw new ServerException(409, "upload_locked", "another request is appending to this upload; retry after it ends", null, 1);
    });
  }

  /**
   * Completes a session whose bytes are all in storage (state completing): the multipart upload is
   * completed, the whole-file SHA-256 checked (tus: from the saved hash state; direct: by ingest), and the
   * file committed with its job, the session marked completed and its audit event, in one transaction.
   * Safe to run again after a crash at any step.
   */
  Future<FileRecord> finish(UploadSession s, String requestId) {
    Principal owner = new Principal(Principal.Kind.DEVICE, s.tenantId(), s.deviceId(), Set.of(), "upload:" + s.fileId());
    long length = s.declaredLength() == null ? s.partsBytes() : s.declaredLength();
    Future<Void> stored;
    if (length == 0) {
      stored = blobs.abortMultipart(s.objectKey(), s.uploadId()).compose(v -> blobs.putBytes(s.objectKey(), new byte[0], 0));
    } else {
      Future<List<PartInfo>> parts = s.protocol() == Protocol.TUS ? UploadSessionStore.parts(pool, s.fileId())
          : blobs.listParts(s.objectKey(), s.uploadId());
      stored = parts.compose(list -> blobs.completeMultipart(s.objectKey(), s.uploadId(), list))
          .recover(err -> err instanceof WharfException w && "upload_gone".equals(w.code())
              // Completed by an earlier attempt that crashed before its commit: the object is there.
              ? blobs.head(s.objectKey()).compose(info -> info.size() == length ? Future.<Void>succeededFuture() : Future.failedFuture(err))
              : Future.failedFuture(err));
    }
    String sha = s.protocol() == Protocol.TUS ? ResumableSha256.restore(s.hashState()).hex() : s.expectedSha256();
    if (s.protocol() == Protocol.TUS && s.expectedSha256() != null && !s.expectedSha256().equals(sha)) {
      ClientException mismatch = ClientException.unprocessable("checksum_mismatch",
          "the upload's SHA-256 is " + sha + ", not the declared " + s.expectedSha256());
      return stored.transform(v -> discard(s, "rejected", requestId, new JsonObject().put("reason", "checksum_mismatch").put("sha256", sha)))
          .compose(v -> Future.failedFuture(mismatch));
    }
    return stored
        .compose(v -> files.commitUploaded(owner, s.fileId(), Priority.ofBand(s.priority()), length, sha, tx ->
            UploadSessionStore.markCompleted(tx, s.fileId())
                .compose(x -> s.protocol() == Protocol.TUS ? UploadSessionStore.forgetObject(tx, s.tailKey(), "upload " + s.fileId() + " completed")
                    : Future.succeededFuture())
                .compose(x -> UploadSessionStore.audit(tx, s.tenantId(), s.deviceId(), s.fileId(), "completed", owner.name(), requestId,
                    new JsonObject().put("size", length).put("sha256", sha).put("parts", s.partsCount())))))
        .map(FileService.Uploaded::file)
        .andThen(ar -> {
          if (ar.succeeded() && s.protocol() == Protocol.TUS && s.partsCount() > 0) {
            // The outbox row written with the commit deletes the tail for sure; this only makes it prompt.
            blobs.delete(s.tailKey()).onFailure(err -> log.debug("tail not deleted yet [file={}]", s.fileId()));
          }
        })
        .recover(err -> Future.failedFuture(asWharf(err)))
        .andThen(ar -> {
          if (ar.succeeded()) {
            metrics.count("wharf_upload_sessions_total", "event", "completed", 1);
            log.info("upload session completed [request={}, tenant={}, device={}, file={}, size={}, sha256={}]", requestId,
                s.tenantId(), s.deviceId(), s.fileId(), length, sha);
          }
        });
  }

  private Future<FileRecord> completeEmpty(UploadSession s, String requestId) {
    String owner = UUID.randomUUID().toString();
    return UploadSessionStore.leaseForSweep(pool, s.fileId(), owner, config.lease())
        .compose(leased -> UploadSessionStore.checkpoint(pool, s.fileId(), owner, 0, 0, 0, new ResumableSha256().save(), null,
            State.COMPLETING, config.ttl()))
        .compose(v -> UploadSessionStore.getById(pool, s.fileId()))
        .compose(done -> finish(done, requestId));
  }

  /** Ends a session that will not complete: the row goes with its audit event, then storage is cleaned. */
  private Future<Void> discard(UploadSession s, String event, String requestId, JsonObject detail) {
    return pool.withTransaction(tx -> UploadSessionStore.audit(tx, s.tenantId(), s.deviceId(), s.fileId(), event,
                "device:" + s.deviceId(), requestId, detail)
            .compose(v -> UploadSessionStore.forgetObject(tx, s.tailKey(), "upload " + s.fileId() + " " + event))
            .compose(v -> UploadSessionStore.deleteFile(tx, s.fileId())))
        .recover(err -> Future.failedFuture(asWharf(err)))
        .compose(v -> blobs.abortMultipart(s.objectKey(), s.uploadId())
            .compose(x -> blobs.delete(s.objectKey()))
            .compose(x -> blobs.delete(s.tailKey()))
            .recover(err -> {
              log.warn("storage of a discarded upload not cleaned yet, the orphan sweep will [file={}, cause={}]", s.fileId(), err.toString());
              return Future.succeededFuture();
            }))
        .onSuccess(v -> {
          metrics.count("wharf_upload_sessions_total", "event", event, 1);
          log.info("upload session {} [request={}, tenant={}, device={}, file={}]", event, requestId, s.tenantId(), s.deviceId(), s.fileId());
        });
  }

  /** Aborts a session (tus DELETE, {@code DELETE /v1/uploads/{id}}); 409 while a chunk is being appended. */
  public Future<Void> terminate(Principal device, UUID fileId, Protocol protocol, String requestId) {
    String owner = UUID.randomUUID().toString();
    return UploadSessionStore.lease(pool, device.requireDevice(), fileId, protocol, owner, config.lease())
        .compose(leased -> leased.isPresent() ? Future.succeededFuture(leased.get())
            : UploadSessionStore.get(pool, device, fileId, protocol).map(s -> {
              throw s.state() == State.ACTIVE
                  ? new ServerException(409, "upload_locked", "a chunk is being appended to this upload", null, 1)
                  : ClientException.conflict("upload_completed", "the upload is complete; delete the file instead");
            }))
        .compose(s -> discard(s, "aborted", requestId, new JsonObject()))
        .recover(err -> Future.failedFuture(asWharf(err)));
  }

  /** Presigned URLs for parts of a direct session (1-based numbers, at most the configured batch at once). */
  public Future<List<PresignedPart>> presign(Principal device, UUID fileId, List<Integer> numbers) {
    return get(device, fileId, Protocol.DIRECT).compose(s -> {
      requireOpen(s);
      int last = lastPart(s);
      if (numbers.isEmpty() || numbers.size() > config.presignBatch()) {
        throw ClientException.badRequest("invalid_parts", "ask for 1 to " + config.presignBatch() + " parts at once");
      }
      for (int n : numbers) {
        if (n < 1 || n > last) {
          throw ClientException.badRequest("invalid_parts", "part numbers run from 1 to " + last);
        }
      }
      Instant expires = Instant.now().plus(config.presignTtl());
      List<Future<PresignedPart>> urls = new ArrayList<>();
      for (int n : numbers) {
        urls.add(blobs.presignPart(s.objectKey(), s.uploadId(), n, config.presignTtl()).map(url -> new PresignedPart(n, url, expires)));
      }
      // Asking for URLs is a sign of life: bytes of a direct upload never pass here to show it.
      return Future.all(urls).compose(all -> UploadSessionStore.extend(pool, fileId, config.ttl()).map(v -> all.<PresignedPart>list()));
    });
  }

  /**
   * One part of a direct session sent through the gateway instead of to a presigned URL (a device with no route
   * to the bucket that still wants parts in parallel): streamed into the multipart upload as it arrives, hashed
   * on the way. The body must be exactly the part's size ({@code partSize}, the last part the rest): 400
   * {@code invalid_part} otherwise, before a byte is read. Sending a part again replaces it, as a presigned PUT
   * does. The part is stored once its PUT answered; then the session's expiry moves out and the audit trail
   * records {@code part_stored} with its size and SHA-256. A PUT that races the session's completion answers
   * 409 {@code upload_completed} (storage refuses parts of a completed upload).
   */
  public Future<StoredPart> putPart(Principal device, UUID fileId, int number, long length, ReadStream<Buffer> body, String requestId) {
    return get(device, fileId, Protocol.DIRECT)
        .compose(s -> {
          requireOpen(s);
          int last = lastPart(s);
          if (number < 1 || number > last) {
            throw ClientException.badRequest("invalid_part", "part numbers run from 1 to " + last);
          }
          long expected = expectedPartSize(s, number);
          if (length != expected) {
            throw ClientException.badRequest("invalid_part", "part " + number + " must have " + expected + " bytes, not " + length);
          }
          return blobs.putPart(s.objectKey(), s.uploadId(), number, body, length)
              .recover(err -> err instanceof WharfException w && w.status() < 500 ? Future.failedFuture(err)
                  // Storage refuses parts of an upload that was completed or aborted meanwhile: say so, if it was.
                  : get(device, fileId, Protocol.DIRECT).transform(now -> now.succeeded() && now.result().state() != State.ACTIVE
                      ? Future.failedFuture(ClientException.conflict("upload_completed", "the upload was completed while the part was sent"))
                      // Storage's failures arrive classified; anything else is the device's body breaking off.
                      : Future.failedFuture(err instanceof WharfException ? err
                          : ClientException.badRequest("body_too_short", "the part's body broke off: " + err.getMessage()))))
              .compose(stored -> pool.withTransaction(tx -> UploadSessionStore.extend(tx, fileId, config.ttl())
                      .compose(v -> UploadSessionStore.audit(tx, s.tenantId(), s.deviceId(), fileId, "part_stored", "device:" + s.deviceId(),
                          requestId, new JsonObject().put("part", number).put("size", stored.part().size()).put("sha256", stored.sha256()))))
                  .recover(err -> {
                    // The part is in storage whatever happened here; completion reads storage, not this trail.
                    log.warn("stored part not recorded [file={}, part={}, cause={}]", fileId, number, err.toString());
                    return Future.succeededFuture();
                  })
                  .map(v -> {
                    metrics.count("wharf_upload_sessions_total", "event", "part_stored", 1);
                    return stored;
                  }));
        })
        .onFailure(err -> {
          body.pause();
          log.info("part not stored [file={}, part={}, request={}, cause={}]", fileId, number, requestId, err.toString());
        })
        .recover(err -> Future.failedFuture(asWharf(err)));
  }

  /** The size part {@code number} of a direct session must have: the part size, the last one what is left. */
  static long expectedPartSize(UploadSession s, int number) {
    int last = lastPart(s);
    long length = s.declaredLength() == null ? 0 : s.declaredLength();
    return number < last ? s.partSize() : length - (long) s.partSize() * (last - 1);
  }

  /**
   * Pauses a direct session whose device expects to be away: it is kept for {@code uploads.pause-max} from now
   * instead of expiring {@code uploads.session-ttl} after its last sign of life, and takes no part, part URL or
   * completion until {@link #resume}. Part URLs handed out before stay valid until they expire (storage checks
   * their signature, not the session), so a part PUT to one is still kept. Pausing a paused session moves its
   * horizon out again. 409 {@code upload_completed} once it completed.
   */
  public Future<UploadSession> pause(Principal device, UUID fileId, String requestId) {
    return setPaused(device, fileId, true, config.pauseMax(), requestId);
  }

  /** Resumes a paused direct session (a session that is not paused is answered as it is, its expiry renewed). */
  public Future<UploadSession> resume(Principal device, UUID fileId, String requestId) {
    return setPaused(device, fileId, false, config.ttl(), requestId);
  }

  private Future<UploadSession> setPaused(Principal device, UUID fileId, boolean pause, java.time.Duration keep, String requestId) {
    String event = pause ? "paused" : "resumed";
    boolean[] changes = {false};
    return get(device, fileId, Protocol.DIRECT)
        .compose(s -> {
          if (s.state() != State.ACTIVE) {
            throw ClientException.conflict("upload_completed", "the upload is complete");
          }
          // Resuming a session that is not paused only renews its expiry: nothing to record.
          changes[0] = pause || s.paused();
          return pool.withTransaction(tx -> UploadSessionStore.setPaused(tx, device, fileId, pause, keep)
              .compose(changed -> {
                if (changed.isEmpty()) {
                  // Completed (or aborted) between the read and the update.
                  throw ClientException.conflict("upload_completed", "the upload is complete");
                }
                UploadSession now = changed.get();
                return !changes[0] ? Future.succeededFuture(now)
                    : UploadSessionStore.audit(tx, now.tenantId(), now.deviceId(), fileId, event, "device:" + now.deviceId(), requestId,
                        new JsonObject().put("expires_at", now.expiresAt().toInstant().toString())).map(now);
              }));
        })
        .onSuccess(now -> {
          if (changes[0]) {
            metrics.count("wharf_upload_sessions_total", "event", event, 1);
            log.info("upload session {} [tenant={}, device={}, file={}, expires_at={}]", event, now.tenantId(), now.deviceId(), fileId,
                now.expiresAt());
          }
        })
        .recover(err -> Future.failedFuture(asWharf(err)));
  }

  /** A direct session that takes parts and part URLs: active and not paused. */
  private static void requireOpen(UploadSession s) {
    if (s.state() != State.ACTIVE) {
      throw ClientException.conflict("upload_completed", "the upload is complete");
    }
    if (s.paused()) {
      throw pausedError();
    }
  }

  private static ClientException pausedError() {
    return ClientException.conflict("upload_paused", "the upload is paused; resume it first (POST /v1/uploads/{id}/resume)");
  }

  /** How many parts a direct session has: its size in part-size pieces (one for an empty file). */
  public static int lastPart(UploadSession s) {
    long length = s.declaredLength() == null ? 0 : s.declaredLength();
    return (int) Math.max(1, (length + s.partSize() - 1) / s.partSize());
  }

  /** What storage holds for a direct session, so a device that lost its state can resume. */
  public Future<List<PartInfo>> storedParts(Principal device, UUID fileId) {
    return get(device, fileId, Protocol.DIRECT).compose(s -> s.state() == State.COMPLETED
        ? Future.succeededFuture(List.<PartInfo>of())
        : blobs.listParts(s.objectKey(), s.uploadId()));
  }

  /**
   * Completes a direct session once every part is in storage (from {@code ListParts}): 409
   * {@code upload_incomplete} naming what is missing, 400 {@code invalid_part} for a part of the wrong
   * size. The gateway never saw the bytes: ingest verifies size and SHA-256 as for any file. A repeated
   * call after completion answers the file.
   */
  public Future<FileRecord> completeDirect(Principal device, UUID fileId, String requestId) {
    String owner = UUID.randomUUID().toString();
    return UploadSessionStore.lease(pool, device.requireDevice(), fileId, Protocol.DIRECT, owner, config.lease())
        .compose(leased -> leased.isPresent() ? Future.succeededFuture(leased.get())
            : UploadSessionStore.get(pool, device, fileId, Protocol.DIRECT).map(s -> {
              if (s.state() == State.COMPLETED) {
                return s;
              }
              throw new ServerException(409, "upload_locked", "this upload is being completed", null, 1);
            }))
        .compose(s -> {
          if (s.state() == State.COMPLETED) {
            return files.get(device, fileId);
          }
          if (s.paused()) {
            return UploadSessionStore.release(pool, fileId, owner).otherwiseEmpty()
                .compose(v -> Future.<FileRecord>failedFuture(pausedError()));
          }
          return blobs.listParts(s.objectKey(), s.uploadId())
              .compose(parts -> {
                checkComplete(s, parts);
                long bytes = parts.stream().mapToLong(PartInfo::size).sum();
                return UploadSessionStore.checkpoint(pool, fileId, owner, bytes, parts.size(), 0, null, null, State.COMPLETING, config.ttl());
              })
              .compose(v -> UploadSessionStore.getById(pool, fileId))
              .compose(done -> finish(done, requestId))
              .recover(err -> UploadSessionStore.release(pool, fileId, owner).otherwiseEmpty().transform(v -> Future.failedFuture(err)));
        })
        .recover(err -> Future.failedFuture(asWharf(err)));
  }

  private static void checkComplete(UploadSession s, List<PartInfo> parts) {
    int last = lastPart(s);
    long length = s.declaredLength();
    List<Integer> missing = new ArrayList<>();
    int at = 0;
    for (int n = 1; n <= last; n++) {
      if (at < parts.size() && parts.get(at).number() == n) {
        PartInfo p = parts.get(at++);
        long expected = expectedPartSize(s, n);
        if (p.size() != expected && !(length == 0 && p.size() == 0)) {
          throw ClientException.badRequest("invalid_part", "part " + n + " has " + p.size() + " bytes, not " + expected);
        }
      } else {
        missing.add(n);
      }
    }
    if (at < parts.size()) {
      throw ClientException.badRequest("invalid_part", "storage holds parts past the last one (" + last + ")");
    }
    if (!missing.isEmpty()) {
      throw ClientException.conflict("upload_incomplete", "parts not in storage yet: "
          + (missing.size() > 20 ? missing.subList(0, 20) + " and " + (missing.size() - 20) + " more" : missing));
    }
  }

  /** The audit trail of a file's upload, for its device or a reader of its tenant. */
  public Future<List<JsonObject>> events(Principal caller, UUID fileId) {
    return UploadSessionStore.events(pool, caller, fileId, 1000).compose(events -> events.isEmpty()
        // An empty trail of a file the caller cannot see must look like one that does not exist.
        ? files.get(caller, fileId).map(file -> events)
        : Future.succeededFuture(events));
  }

  static WharfException asWharf(Throwable err) {
    return err instanceof WharfException w ? w : ServerException.unavailable("postgres", err);
  }

  private static String normaliseType(String contentType) {
    if (contentType == null || contentType.isBlank()) {
      return null;
    }
    int semi = contentType.indexOf(';');
    String type = (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    return type.length() > 127 || !type.contains("/") ? null : type;
  }

  // For the sweeper.
  Pool pool() {
    return pool;
  }

  BlobStore blobs() {
    return blobs;
  }

  Future<Void> expire(UploadSession s) {
    return discard(s, "expired", null, new JsonObject().put("offset", s.offset()));
  }
}

package dev.wharf.files;

import dev.wharf.auth.Principal;
import dev.wharf.blob.BlobStore;
import dev.wharf.blob.StoredBlob;
import dev.wharf.config.IngestConfig;
import dev.wharf.config.UploadConfig;
import dev.wharf.db.Database;
import dev.wharf.db.Page;
import dev.wharf.error.ClientException;
import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import dev.wharf.idempotency.IdempotencyStore;
import dev.wharf.loop.TurnBatches;
import dev.wharf.metrics.WharfMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files: streamed upload into object storage, the file row and its ingest job committed in one
 * transaction, then the job scheduled. Reads, listing and deletion, scoped to the caller.
 */
public final class FileService {

  private static final Logger log = LoggerFactory.getLogger(FileService.class);
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
  /** Most uploads whose rows share one statement; a larger turn is sent as several. */
  static final int MAX_BATCH = 64;

  private final Vertx vertx;
  private final Pool pool;
  private final BlobStore blobs;
  private final VerificationJobs jobs;
  private final UploadConfig uploads;
  private final IngestConfig ingest;
  private final WharfMetrics metrics;
  private final TurnBatches<FileStore.NewUpload, Void> inserts;
  private final TurnBatches<FileStore.Commit, FileRecord> commits;

  public FileService(Vertx vertx, Pool pool, BlobStore blobs, VerificationJobs jobs, UploadConfig uploads, IngestConfig ingest, WharfMetrics metrics) {
    this.vertx = vertx;
    this.pool = pool;
    this.blobs = blobs;
    this.jobs = jobs;
    this.uploads = uploads;
    this.ingest = ingest;
    this.metrics = metrics;
    // The two statements of every upload, shared by the uploads of one event-loop turn; a row PostgreSQL refuses
    // sends the others of its batch again alone, so it fails only its own upload.
    this.inserts = new TurnBatches<>(MAX_BATCH, u -> FileStore.insertUploading(pool, u), all -> FileStore.insertUploadingAll(pool, all),
        Database::refusedStatement);
    this.commits = new TurnBatches<>(MAX_BATCH, c -> FileStore.markUploadedWithJob(pool, c, ingest.maxAttempts()),
        all -> FileStore.markUploadedWithJobAll(pool, all, ingest.maxAttempts()), Database::refusedStatement);
    FunctionCounter.builder("wharf_upload_statements_total", inserts, TurnBatches::calls).tag("statement", "row")
        .description("PostgreSQL statements sent for uploads' rows and commits (those of one event-loop turn share one)")
        .register(metrics.registry());
    FunctionCounter.builder("wharf_upload_statements_total", commits, TurnBatches::calls).tag("statement", "commit")
        .description("PostgreSQL statements sent for uploads' rows and commits (those of one event-loop turn share one)")
        .register(metrics.registry());
  }

  /** Statements sent so far for new upload rows and for one-statement commits (a batch counts once). */
  public long insertStatements() {
    return inserts.calls();
  }

  public long commitStatements() {
    return commits.calls();
  }

  /** What the uploader said about the file. {@code declaredLength} is null for a chunked body. */
  public record UploadCommand(Principal owner, String filename, String contentType, Long declaredLength,
      String expectedSha256, Priority priority, String requestId) {}

  /** A committed upload. */
  public record Uploaded(FileRecord file, UUID jobId) {}

  public UploadConfig limits() {
    return uploads;
  }

  /**
   * Checks what can be checked before a byte is read: file name, checksum syntax, declared size.
   * Returns the sanitised file name.
   */
  public String precheck(UploadCommand cmd) {
    String name = FileNames.sanitize(cmd.filename(), uploads.maxFilenameBytes());
    if (cmd.expectedSha256() != null && !SHA256_HEX.matcher(cmd.expectedSha256().toLowerCase(Locale.ROOT)).matches()) {
      throw ClientException.badRequest("invalid_checksum", "X-Wharf-Checksum-SHA256 must be 64 hex digits");
    }
    if (cmd.declaredLength() != null && cmd.declaredLength() > uploads.maxFileBytes()) {
      throw ClientException.tooLarge("the file is larger than the " + uploads.maxFileBytes() + " byte limit");
    }
    return name;
  }

  /**
   * Streams {@code body} into storage and commits the file and its job. The body should be paused by the
   * caller; it is resumed once the upload row exists. On any failure nothing is left: the object is
   * deleted and the row removed.
   */
  public Future<Uploaded> upload(UploadCommand cmd, ReadStream<Buffer> body) {
    return upload(cmd, UUID.randomUUID(), uploads.maxFileBytes(), body, null);
  }

  /**
   * As {@link #upload(UploadCommand, ReadStream)}, under an {@code Idempotency-Key}: the 201 answer is
   * recorded for {@code claim} in the transaction that commits the file, so a crash can never leave a
   * committed file whose key a retry would run again.
   */
  public Future<Uploaded> upload(UploadCommand cmd, ReadStream<Buffer> body, IdempotencyStore.Claim claim) {
    return upload(cmd, UUID.randomUUID(), uploads.maxFileBytes(), body, claim);
  }

  /**
   * As {@link #upload(UploadCommand, ReadStream)}, for an upload whose file id was promised in advance (an
   * upload grant) and whose body may not exceed {@code maxBytes} (at most the configured file limit).
   */
  public Future<Uploaded> upload(UploadCommand cmd, UUID fileId, long maxBytes, ReadStream<Buffer> body) {
    return upload(cmd, fileId, maxBytes, body, null);
  }

  private Future<Uploaded> upload(UploadCommand cmd, UUID fileId, long maxBytes, ReadStream<Buffer> body, IdempotencyStore.Claim claim) {
    String filename;
    try {
      filename = precheck(cmd);
    } catch (WharfException e) {
      metrics.upload(e.code(), 0);
      return Future.failedFuture(e);
    }
    Principal owner = cmd.owner();
    long limit = Math.min(maxBytes, uploads.maxFileBytes());
    UUID jobId = UUID.randomUUID();
    String key = "t/" + owner.tenantId() + "/files/" + fileId;
    String contentType = normaliseType(cmd.contentType());
    // A live stream keeps its row fresh, so the sweeper never takes a slow upload for an abandoned one.
    long heartbeat = Math.max(100, ingest.staleUploadAfter().toMillis() / 4);
    long[] timer = {-1};
    return inserts.submit(new FileStore.NewUpload(fileId, owner, filename, cmd.filename(), contentType, key, cmd.priority().band()))
        .recover(err -> Future.failedFuture(Database.violates(err, "23503")
            // The owner's device row is gone (deleted while its token was still cached): as sessions answer it.
            ? ClientException.unauthorized("the device no longer exists")
            : Database.unavailableIfConnection(err)))
        .compose(v -> {
          timer[0] = vertx.setPeriodic(heartbeat, id -> FileStore.touch(pool, fileId)
              .onFailure(err -> log.debug("upload heartbeat missed [file={}, cause={}]", fileId, err.toString())));
          return blobs.put(key, body, cmd.declaredLength(), limit, contentType, uploadId -> FileStore.recordMultipart(pool, fileId, uploadId)
                  .recover(err -> Future.failedFuture(Database.unavailableIfConnection(err))))
              .andThen(ar -> vertx.cancelTimer(timer[0]))
              .recover(err -> forget(fileId, null).transform(ignored -> Future.<StoredBlob>failedFuture(err)));
        })
        .compose(stored -> verifyChecksum(cmd, stored)
            .compose(v -> commit(fileId, jobId, owner, cmd.priority(), stored.size(), stored.sha256(), claim == null ? null
                : (tx, file) -> IdempotencyStore.completeIn(tx, claim, 201, file.toJson())))
            .recover(err -> forget(fileId, key).transform(ignored -> Future.<FileRecord>failedFuture(err))))
        .map(file -> enqueued(file, jobId, cmd.priority()))
        .andThen(ar -> {
          if (ar.succeeded()) {
            FileRecord file = ar.result().file();
            metrics.upload("created", file.size());
            log.info("file uploaded [request={}, tenant={}, device={}, file={}, job={}, size={}, sha256={}]",
                cmd.requestId(), owner.tenantId(), owner.deviceId(), fileId, jobId, file.size(), file.sha256());
          } else {
            String code = ar.cause() instanceof WharfException w ? w.code() : "internal_error";
            metrics.upload(code, 0);
            log.info("upload refused [request={}, tenant={}, device={}, code={}, cause={}]",
                cmd.requestId(), owner.tenantId(), owner.deviceId(), code, ar.cause().getMessage());
          }
        });
  }

  /**
   * Commits bytes that are in storage: the file row {@code uploading → uploaded} with its size and SHA-256
   * (null when only ingest will know it), its ingest job, and whatever {@code alsoInTx} adds, in one
   * transaction; then schedules the job. Used by streamed uploads and by resumable sessions alike.
   */
  public Future<Uploaded> commitUploaded(Principal owner, UUID fileId, Priority priority, long size, String sha256,
      Function<SqlConnection, Future<Void>> alsoInTx) {
    UUID jobId = UUID.randomUUID();
    return commit(fileId, jobId, owner, priority, size, sha256, alsoInTx == null ? null : (tx, file) -> alsoInTx.apply(tx))
        .map(file -> enqueued(file, jobId, priority))
        .andThen(ar -> {
          if (ar.succeeded()) {
            metrics.upload("created", size);
          }
        });
  }

  /** Schedules the committed file's job; the answer is the file as the commit left it (no second read). */
  private Uploaded enqueued(FileRecord file, UUID jobId, Priority priority) {
    jobs.schedule(jobId, priority)
        .onFailure(err -> log.warn("job not scheduled, the reconciler will [job={}, cause={}]", jobId, err.toString()));
    return new Uploaded(file, jobId);
  }

  private Future<Void> verifyChecksum(UploadCommand cmd, StoredBlob stored) {
    if (cmd.expectedSha256() == null || cmd.expectedSha256().equalsIgnoreCase(stored.sha256())) {
      return Future.succeededFuture();
    }
    return Future.failedFuture(ClientException.unprocessable("checksum_mismatch",
        "the body's SHA-256 is " + stored.sha256() + ", not the declared " + cmd.expectedSha256().toLowerCase(Locale.ROOT)));
  }

  private Future<FileRecord> commit(UUID fileId, UUID jobId, Principal owner, Priority priority, long size, String sha256,
      BiFunction<SqlConnection, FileRecord, Future<Void>> alsoInTx) {
    if (alsoInTx == null) {
      // Nothing else to write: one statement, one round trip, is the whole transaction.
      return commits.submit(new FileStore.Commit(fileId, size, sha256, jobId, priority.band()))
          .recover(err -> Future.failedFuture(ServerException.unavailable("postgres", err)))
          .map(file -> {
            if (file == null) {
              throw ServerException.unavailable("postgres", new IllegalStateException("upload row vanished"));
            }
            return file;
          });
    }
    return pool.withTransaction(tx -> FileStore.markUploaded(tx, fileId, size, sha256, jobId)
            .compose(file -> file != null
                ? jobs.record(tx, jobId, fileId, owner, priority).map(file)
                : Future.<FileRecord>failedFuture(ServerException.unavailable("postgres", new IllegalStateException("upload row vanished"))))
            .compose(file -> alsoInTx == null ? Future.succeededFuture(file) : alsoInTx.apply(tx, file).map(file)))
        .recover(err -> Future.failedFuture(err instanceof WharfException ? err : ServerException.unavailable("postgres", err)));
  }

  /**
   * Best-effort removal of what a failed upload left. What this misses is not forgotten: a deleted row
   * queues its object in the object-delete outbox (V5 trigger), and a row that could not be deleted stays
   * {@code uploading} until the upload sweeper removes it with its object and multipart upload.
   */
  private Future<Void> forget(UUID fileId, String key) {
    Future<Void> object = key == null ? Future.succeededFuture() : blobs.delete(key);
    return object.recover(err -> {
          log.warn("object of a failed upload not deleted now, the outbox will [file={}, cause={}]", fileId, err.toString());
          return Future.succeededFuture();
        })
        .compose(v -> FileStore.deleteRow(pool, fileId))
        .recover(err -> {
          log.warn("row of a failed upload not deleted now, the upload sweeper will [file={}, cause={}]", fileId, err.toString());
          return Future.succeededFuture();
        });
  }

  public Future<FileRecord> get(Principal caller, UUID id) {
    return FileStore.get(pool, caller, id);
  }

  public Future<Page<FileRecord>> list(Principal caller, String device, FileStatus status, String cursor, int limit) {
    return FileStore.list(pool, caller, device, status, cursor, limit);
  }

  /**
   * The file if its content may be read: 409 {@code file_not_ready} before it is processed, 422
   * {@code file_failed} with the ingest error when verification failed.
   */
  public Future<FileRecord> readable(Principal caller, UUID id) {
    return get(caller, id).map(file -> {
      switch (file.status()) {
        case PROCESSED -> {
          return file;
        }
        case FAILED -> throw ClientException.unprocessable("file_failed",
            "the file failed verification: " + (file.statusDetail() == null ? "no detail" : file.statusDetail()));
        default -> throw ClientException.conflict("file_not_ready", "the file is " + file.status().wireName() + ", not yet processed");
      }
    });
  }

  /**
   * Deletes the row (cancelling its jobs) and then the object. The row's delete records the object in the
   * {@code pending_object_deletes} outbox in the same transaction (a trigger, V5), so when the object
   * delete here fails (storage down) the delivery sweeper deletes it once storage is back; when it
   * succeeds, the sweeper's delete of the recorded key finds nothing to do.
   */
  public Future<Void> delete(Principal caller, UUID id) {
    record Removed(FileRecord file, List<UUID> cancelledJobs) {}
    return pool.withTransaction(tx -> FileStore.get(tx, caller, id)
            .map(file -> {
              if (file.status() == FileStatus.UPLOADING) {
                // Its multipart upload and pending tail belong to the upload: ending it cleans them up.
                throw ClientException.conflict("upload_in_progress",
                    "the file is still being uploaded; abort the upload (DELETE /v1/tus/{id} or /v1/uploads/{id}) or let it expire");
              }
              return file;
            })
            .compose(file -> jobs.cancelForFile(tx, id)
                .compose(jobs -> FileStore.deleteRow(tx, id).map(v -> new Removed(file, jobs)))))
        .compose(removed -> {
          removed.cancelledJobs().forEach(job -> jobs.unschedule(job)
              .onFailure(err -> log.warn("cancelled job left in redis; its claim will drop it [job={}]", job)));
          FileRecord file = removed.file();
          log.info("file deleted [tenant={}, device={}, file={}, cancelled_jobs={}]", file.tenantId(), file.deviceId(), id, removed.cancelledJobs().size());
          return blobs.delete(file.objectKey()).recover(err -> {
            log.warn("object of a deleted file not removed now, left to the sweeper [file={}, key={}, cause={}]", id, file.objectKey(),
                err.toString());
            return Future.succeededFuture();
          });
        });
  }

  static String normaliseType(String contentType) {
    if (contentType == null || contentType.isBlank()) {
      return null;
    }
    int semi = contentType.indexOf(';');
    String type = (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    return type.length() > 127 || !type.contains("/") ? null : type;
  }
}

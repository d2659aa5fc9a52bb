package dev.wharf.uploads;

import dev.wharf.blob.BlobStore;
import dev.wharf.blob.OpenMultipart;
import dev.wharf.config.SessionConfig;
import dev.wharf.db.Database;
import dev.wharf.db.LeaderLock;
import dev.wharf.db.PeriodicChore;
import dev.wharf.files.FileStore;
import dev.wharf.files.FileStore.StaleUpload;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cleans up uploads nobody will finish, on one replica at a time: sessions idle past their expiry (their
 * multipart upload aborted, tail and row removed), streamed uploads whose gateway died mid-stream (row
 * older than {@code staleAfter} although a live stream refreshes it), sessions left completing by a
 * crash (completed now), multipart uploads in the bucket that no row owns (a crash between creating one
 * and recording it), audit events past retention, and Idempotency-Keys past theirs.
 */
public final class UploadSweeper extends PeriodicChore {

  private static final Logger log = LoggerFactory.getLogger(UploadSweeper.class);
  private static final int BATCH = 100;
  /** Keys of Wharf's file objects, which are the only ones it creates multipart uploads for and records. */
  private static final Pattern FILE_KEY = Pattern.compile("t/[^/]+/files/[0-9a-f-]{36}");

  private final UploadSessions sessions;
  private final Pool pool;
  private final BlobStore blobs;
  private final SessionConfig config;
  private final Duration staleAfter;
  /** Unowned multipart uploads and when this instance first saw them so (state of this verticle only). */
  private final java.util.Map<String, Instant> firstSeenUnowned = new java.util.HashMap<>();

  /** What one pass did. */
  public record Swept(int expired, int abandoned, int completed, int orphans) {}

  public UploadSweeper(UploadSessions sessions, Duration staleAfter) {
    super("upload sweep", Duration.ZERO, sessions.config().sweepInterval());
    this.sessions = sessions;
    this.pool = sessions.pool();
    this.blobs = sessions.blobs();
    this.config = sessions.config();
    this.staleAfter = staleAfter;
  }

  /** One pass as leader; null when another replica leads. */
  @Override
  public Future<Swept> runOnce() {
    return Database.asLeader(pool, LeaderLock.UPLOAD_SWEEPER, conn -> expireSessions(conn)
        .compose(expired -> abandonStreams(conn)
            .compose(abandoned -> finishCompleting(conn)
                .compose(completed -> abortOrphans(conn)
                    .compose(orphans -> UploadSessionStore.pruneAudit(conn, config.auditRetention(), 1000)
                        .compose(pruned -> dev.wharf.idempotency.IdempotencyStore.prune(conn, 1000))
                        .map(pruned -> new Swept(expired, abandoned, completed, orphans)))))))
        .onSuccess(swept -> {
          if (swept != null && (swept.expired() + swept.abandoned() + swept.completed() + swept.orphans()) > 0) {
            log.info("uploads swept [expired={}, abandoned={}, completed={}, orphans={}]", swept.expired(), swept.abandoned(),
                swept.completed(), swept.orphans());
          }
        });
  }

  private Future<Integer> expireSessions(SqlConnection conn) {
    return UploadSessionStore.expired(conn, BATCH).compose(list -> sequentially(list, s -> {
      String owner = UUID.randomUUID().toString();
      return UploadSessionStore.leaseForSweep(pool, s.fileId(), owner, config.lease())
          .compose(leased -> leased.isEmpty() ? Future.succeededFuture(false) : sessions.expire(leased.get()).map(true));
    }));
  }

  private Future<Integer> abandonStreams(SqlConnection conn) {
    return FileStore.staleUploads(conn, staleAfter, BATCH).compose(list -> sequentially(list, (StaleUpload u) -> {
      Future<Void> multipart = u.multipartUploadId() == null ? Future.succeededFuture()
          : blobs.abortMultipart(u.objectKey(), u.multipartUploadId());
      return multipart.compose(v -> blobs.delete(u.objectKey()))
          .compose(v -> FileStore.deleteRow(conn, u.id()))
          .map(v -> {
            log.info("abandoned upload removed [tenant={}, device={}, file={}, multipart={}]", u.tenantId(), u.deviceId(), u.id(),
                u.multipartUploadId() != null);
            return true;
          });
    }));
  }

  private Future<Integer> finishCompleting(SqlConnection conn) {
    return UploadSessionStore.stuckCompleting(conn, BATCH).compose(list -> sequentially(list, s -> {
      String owner = UUID.randomUUID().toString();
      return UploadSessionStore.leaseForSweep(pool, s.fileId(), owner, config.lease())
          .compose(leased -> leased.isEmpty() ? Future.succeededFuture(false)
              : sessions.finish(leased.get(), null).map(true)
                  .recover(err -> {
                    log.warn("upload left completing not finished yet [file={}, cause={}]", s.fileId(), err.toString());
                    return Future.succeededFuture(false);
                  }));
    }));
  }

  /**
   * Aborts multipart uploads under Wharf's file keys that no row owns once they are older than the stale
   * window. Age is the server's {@code Initiated} or, when that is later, when this sweeper first saw the
   * upload unowned: some S3-compatible servers (s3proxy) report the listing time as {@code Initiated}.
   */
  private Future<Integer> abortOrphans(SqlConnection conn) {
    Instant now = Instant.now();
    Instant cutoff = now.minus(staleAfter);
    return blobs.openMultiparts("t/", 1000).compose(open -> {
      List<OpenMultipart> candidates = open.stream().filter(m -> FILE_KEY.matcher(m.key()).matches()).toList();
      if (candidates.isEmpty()) {
        firstSeenUnowned.clear();
        return Future.succeededFuture(0);
      }
      return UploadSessionStore.owned(conn, candidates.stream().map(OpenMultipart::uploadId).toList()).compose(owned -> {
        List<OpenMultipart> unowned = candidates.stream().filter(m -> !owned.contains(m.uploadId())).toList();
        firstSeenUnowned.keySet().retainAll(unowned.stream().map(OpenMultipart::uploadId).toList());
        unowned.forEach(m -> firstSeenUnowned.putIfAbsent(m.uploadId(), now));
        // It existed at least since the earlier of the two.
        List<OpenMultipart> old = unowned.stream()
            .filter(m -> earlier(m.initiated(), firstSeenUnowned.get(m.uploadId())).isBefore(cutoff))
            .toList();
        return sequentially(old, m -> blobs.abortMultipart(m.key(), m.uploadId()).map(v -> {
          firstSeenUnowned.remove(m.uploadId());
          log.info("orphaned multipart upload aborted [key={}, initiated={}]", m.key(), m.initiated());
          return true;
        }));
      });
    });
  }

  private static Instant earlier(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }

  /** Runs {@code step} on each item in turn; counts the ones it did. */
  private static <T> Future<Integer> sequentially(List<T> items, java.util.function.Function<T, Future<Boolean>> step) {
    Future<Integer> chain = Future.succeededFuture(0);
    for (T item : items) {
      chain = chain.compose(n -> step.apply(item).map(done -> done ? n + 1 : n));
    }
    return chain;
  }
}

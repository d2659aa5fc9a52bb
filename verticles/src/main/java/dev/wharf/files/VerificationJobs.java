package dev.wharf.files;

import dev.wharf.auth.Principal;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import java.util.List;
import java.util.UUID;

/**
 * What files need from the ingest pipeline that verifies them: a job recorded in the transaction that commits
 * a file, scheduled once that transaction stands, and cancelled with the file. Ingest implements it, so files do
 * not depend on ingest (ingest reads and updates files).
 */
public interface VerificationJobs {

  /** Records the queued job of a file in {@code tx}. */
  Future<Void> record(SqlClient tx, UUID jobId, UUID fileId, Principal owner, Priority priority);

  /** Cancels in {@code tx} the file's jobs that have not finished; the answer is their ids. */
  Future<List<UUID>> cancelForFile(SqlClient tx, UUID fileId);

  /** Puts a committed job on the queue; when this fails, the reconciler does it later. */
  Future<Void> schedule(UUID jobId, Priority priority);

  /** Takes a cancelled job off the queue; when this fails, the job's claim drops it. */
  Future<Void> unschedule(UUID jobId);
}

package dev.wharf.ingest;

import dev.wharf.files.Priority;
import io.vertx.core.json.JsonObject;
import java.time.OffsetDateTime;
import java.util.UUID;

/** An ingest job row: Postgres's truth about one verification of one file. */
public record JobRecord(
    UUID id,
    UUID fileId,
    String tenantId,
    String deviceId,
    Priority priority,
    JobStatus status,
    int attempts,
    int maxAttempts,
    String lastError,
    JsonObject progress,
    JsonObject result,
    OffsetDateTime nextRunAt,
    OffsetDateTime createdAt,
    OffsetDateTime startedAt,
    OffsetDateTime finishedAt,
    OffsetDateTime updatedAt) {

  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("id", id.toString())
        .put("file_id", fileId == null ? null : fileId.toString())
        .put("device", deviceId)
        .put("priority", priority.wireName())
        .put("status", status.wireName())
        .put("attempts", attempts)
        .put("max_attempts", maxAttempts)
        .put("progress", progress)
        .put("created_at", createdAt.toString())
        .put("updated_at", updatedAt.toString());
    putIfSet(json, "last_error", lastError);
    putIfSet(json, "result", result);
    putIfSet(json, "next_run_at", nextRunAt);
    putIfSet(json, "started_at", startedAt);
    putIfSet(json, "finished_at", finishedAt);
    return json;
  }

  private static void putIfSet(JsonObject json, String key, Object value) {
    if (value != null) {
      json.put(key, value instanceof OffsetDateTime t ? t.toString() : value);
    }
  }
}

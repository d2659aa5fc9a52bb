package dev.wharf.files;

import io.vertx.core.json.JsonObject;
import java.time.OffsetDateTime;
import java.util.UUID;

/** A stored file as its owner sees it. {@code jobId} is its latest ingest job. */
public record FileRecord(
    UUID id,
    String tenantId,
    String deviceId,
    String filename,
    String originalFilename,
    String contentType,
    Long size,
    String sha256,
    String objectKey,
    FileStatus status,
    String statusDetail,
    JsonObject metadata,
    int priority,
    OffsetDateTime createdAt,
    OffsetDateTime updatedAt,
    UUID jobId) {

  /** The API representation; the object key stays internal. */
  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("id", id.toString())
        .put("device", deviceId)
        .put("filename", filename)
        .put("content_type", contentType)
        .put("size", size)
        .put("sha256", sha256)
        .put("status", status.wireName())
        .put("priority", dev.wharf.files.Priority.ofBand(priority).wireName())
        .put("created_at", createdAt.toString())
        .put("updated_at", updatedAt.toString());
    if (originalFilename != null && !originalFilename.equals(filename)) {
      json.put("original_filename", originalFilename);
    }
    if (statusDetail != null) {
      json.put("status_detail", statusDetail);
    }
    if (metadata != null && !metadata.isEmpty()) {
      json.put("metadata", metadata);
    }
    if (jobId != null) {
      json.put("job_id", jobId.toString());
    }
    return json;
  }
}

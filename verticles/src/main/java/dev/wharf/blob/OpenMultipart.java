package dev.wharf.blob;

import java.time.Instant;

/** A multipart upload storage holds open: its key, upload id and when it was started. */
public record OpenMultipart(String key, String uploadId, Instant initiated) {}

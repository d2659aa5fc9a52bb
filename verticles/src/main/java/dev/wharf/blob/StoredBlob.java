package dev.wharf.blob;

/** What a completed {@link BlobStore#put} stored: the byte count and SHA-256 (lower-case hex) seen while streaming. */
public record StoredBlob(String key, long size, String sha256) {}

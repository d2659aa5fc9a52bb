package dev.wharf.blob;

/** Metadata of a stored object; {@code etag} is the store's ETag without the surrounding quotes. */
public record BlobInfo(String key, long size, String etag) {}

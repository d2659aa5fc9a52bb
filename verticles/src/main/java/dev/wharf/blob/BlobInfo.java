package dev.wharf.blob;

/** Metadata of a stored object. */
public record BlobInfo(String key, long size, String etag) {}

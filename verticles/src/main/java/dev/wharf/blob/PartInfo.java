package dev.wharf.blob;

/** One part of a multipart upload: its number, size and ETag (as S3 sent it, quotes included). */
public record PartInfo(int number, long size, String etag) {}

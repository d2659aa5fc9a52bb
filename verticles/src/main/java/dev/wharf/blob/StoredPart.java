package dev.wharf.blob;

/** A part streamed by {@link BlobStore#putPart}: what storage holds of it, and the SHA-256 of its bytes (lower-case hex). */
public record StoredPart(PartInfo part, String sha256) {}

package dev.wharf.uploads;

import dev.wharf.error.ClientException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;

/**
 * The checksum a client sent for one chunk (tus {@code Upload-Checksum: <algorithm> <base64 digest>}):
 * sha1 or sha256.
 */
public record ChunkChecksum(String algorithm, byte[] expected) {

  public static final String SUPPORTED = "sha1,sha256";

  /** Parses the header; null for none, 400 {@code invalid_checksum} for a malformed one or an unknown algorithm. */
  public static ChunkChecksum parse(String header) {
    if (header == null || header.isBlank()) {
      return null;
    }
    String[] parts = header.trim().split(" ", 2);
    String algorithm = parts[0].toLowerCase(Locale.ROOT);
    if (!algorithm.equals("sha1") && !algorithm.equals("sha256")) {
      throw ClientException.badRequest("unsupported_checksum", "Upload-Checksum algorithm must be one of " + SUPPORTED);
    }
    try {
      byte[] digest = Base64.getDecoder().decode(parts.length > 1 ? parts[1].trim() : "");
      if (digest.length != (algorithm.equals("sha1") ? 20 : 32)) {
        throw new IllegalArgumentException("wrong length");
      }
      return new ChunkChecksum(algorithm, digest);
    } catch (IllegalArgumentException e) {
      throw ClientException.badRequest("invalid_checksum", "Upload-Checksum must be '<algorithm> <base64 digest>'");
    }
  }

  MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance(algorithm.equals("sha1") ? "SHA-1" : "SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

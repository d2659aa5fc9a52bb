package dev.wharf.db;

import dev.wharf.error.ClientException;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.UUID;

/** Keyset pagination position: (created_at, id) of the last item returned, opaque to clients. */
public record Cursor(OffsetDateTime createdAt, UUID id) {

  public String encode() {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString((createdAt + "|" + id).getBytes(StandardCharsets.UTF_8));
  }

  /** Null for no cursor; 400 {@code invalid_cursor} for garbage. */
  public static Cursor decode(String raw) {
    if (raw == null || raw.isEmpty()) {
      return null;
    }
    try {
      String[] parts = new String(Base64.getUrlDecoder().decode(raw), StandardCharsets.UTF_8).split("\\|", 2);
      return new Cursor(OffsetDateTime.parse(parts[0]), UUID.fromString(parts[1]));
    } catch (RuntimeException e) {
      throw ClientException.badRequest("invalid_cursor", "the cursor is not one this server issued");
    }
  }
}

package dev.wharf.auth;

import dev.wharf.error.ClientException;
import java.util.UUID;
import java.util.regex.Pattern;

/** Parsing of identifiers that arrive from outside. A malformed id is the same 404 as an absent one. */
public final class Ids {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  private Ids() {}

  /** Tenant and device ids: 1-64 of letters, digits, dot, dash, underscore; safe in MQTT topics and keys. */
  public static boolean isValidName(String id) {
    return id != null && NAME.matcher(id).matches();
  }

  public static String requireName(String field, String id) {
    if (!isValidName(id)) {
      throw ClientException.badRequest("invalid_" + field,
          field + " must be 1-64 characters of letters, digits, '.', '-', '_', starting with a letter or digit");
    }
    return id;
  }

  /** A UUID from a path; anything else is 404 {@code not_found} for {@code what}. */
  public static UUID uuid(String what, String raw) {
    try {
      if (raw == null || raw.length() != 36) {
        throw ClientException.notFound(what);
      }
      return UUID.fromString(raw);
    } catch (IllegalArgumentException e) {
      throw ClientException.notFound(what);
    }
  }
}

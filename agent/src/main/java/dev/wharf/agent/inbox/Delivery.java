package dev.wharf.agent.inbox;

import com.fasterxml.jackson.databind.JsonNode;

/** One inbox item as {@code GET /v1/inbox} lists it. */
record Delivery(String id, String filename, String contentType, long size, String sha256, String createdAt, String expiresAt) {

  static Delivery of(JsonNode item) {
    return new Delivery(item.path("id").asText(), item.path("filename").asText(), text(item, "content_type"),
        item.path("size").asLong(), item.path("sha256").asText().toLowerCase(java.util.Locale.ROOT),
        text(item, "created_at"), text(item, "expires_at"));
  }

  private static String text(JsonNode item, String field) {
    return item.hasNonNull(field) ? item.get(field).asText() : null;
  }

  /** The filename reduced to one safe path segment (the gateway sanitises already; this is the agent's own guard). */
  String safeName() {
    String name = filename.replace('\\', '/');
    name = name.substring(name.lastIndexOf('/') + 1).replaceAll("[\\p{Cntrl}]", "_");
    if (name.isBlank() || name.equals(".") || name.equals("..") || name.startsWith(".wharf-")) {
      name = "delivery-" + id;
    }
    return name;
  }
}

package dev.wharf.mqtt;

import dev.wharf.error.ClientException;
import dev.wharf.error.Outages;
import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import io.vertx.core.json.JsonObject;

/** The MQTT side of the one exception hierarchy: a failure becomes an error object with a stable code. */
public final class MqttErrors {

  private MqttErrors() {}

  /**
   * The failure as a {@link WharfException}: an outage is {@code …_unavailable} ({@link Outages}); anything
   * unexpected is {@code internal_error}.
   */
  public static WharfException classify(Throwable failure) {
    return Outages.classify(failure).orElseGet(() -> new ServerException(500, "internal_error", "internal error", failure, 0));
  }

  /**
   * {@code {"code","message"}}, plus {@code "retry_after"} (seconds) when the failure is expected to pass; a
   * server error's message says nothing about its cause.
   */
  public static JsonObject toJson(WharfException e) {
    String message = e instanceof ClientException || e.getCause() == null ? e.getMessage() : "the gateway could not do this now, retry later";
    JsonObject json = new JsonObject().put("code", e.code()).put("message", message);
    if (e instanceof ServerException server && server.retryAfterSeconds() > 0) {
      json.put("retry_after", server.retryAfterSeconds());
    }
    return json;
  }

  public static ClientException payloadTooLarge(int limit) {
    return new ClientException(413, "payload_too_large", "MQTT payloads are limited to " + limit + " bytes");
  }

  public static ClientException badRequest(String message) {
    return ClientException.badRequest("bad_request", message);
  }
}

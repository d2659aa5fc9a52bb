package dev.wharf.gateway.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.wharf.error.ClientException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/** Small helpers shared by the route classes: JSON replies, query parameters, page bodies. */
final class Replies {

  /**
   * Jackson's streaming generator, walking the JSON tree itself. {@code JsonObject.toBuffer()} goes through
   * Vert.x's default codec, which with jackson-databind on the class path (it is, for the YAML config) is an
   * {@code ObjectMapper} and its serializer lookups: about a tenth of a repeat ack's CPU in a profile.
   */
  private static final JacksonCodec CODEC = new JacksonCodec();

  private static final JsonFactory FACTORY = new JsonFactory();

  private Replies() {}

  /** Writes one JSON value for {@code value} (a reply body written without a {@code JsonObject} in between). */
  @FunctionalInterface
  interface JsonWriter<T> {
    void write(T value, JsonGenerator out) throws IOException;
  }

  /** The JSON text of {@code json} as UTF-8 bytes, the same as {@code json.toBuffer()}. */
  static Buffer encode(JsonObject json) {
    return CODEC.toBuffer(json, false);
  }

  /** What {@code writer} writes for {@code value}, as UTF-8 bytes. */
  static <T> Buffer encode(T value, JsonWriter<T> writer) {
    ByteBuf bytes = Unpooled.buffer(512);
    try (JsonGenerator out = FACTORY.createGenerator((OutputStream) new ByteBufOutputStream(bytes))) {
      writer.write(value, out);
    } catch (IOException e) {
      bytes.release();
      throw new UncheckedIOException(e);
    }
    return BufferInternal.buffer(bytes);
  }

  /** Runs {@code action} and replies with its JSON and {@code status}, or fails the context. */
  static void json(RoutingContext ctx, int status, Supplier<Future<JsonObject>> action) {
    json(ctx, status, action, null);
  }

  /**
   * As {@link #json(RoutingContext, int, Supplier)} for a result that {@code writer} writes as JSON; a null
   * {@code writer} means the result is a {@code JsonObject}.
   */
  static <T> void json(RoutingContext ctx, int status, Supplier<Future<T>> action, JsonWriter<T> writer) {
    Future<T> result;
    try {
      result = action.get();
    } catch (RuntimeException e) {
      ctx.fail(e);
      return;
    }
    result.onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
      } else if (ar.result() == null) {
        ctx.response().setStatusCode(204).end();
      } else {
        Buffer body = writer == null ? encode((JsonObject) ar.result()) : encode(ar.result(), writer);
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body);
      }
    });
  }

  /**
   * Writes a create answer (201 with a Location, or a replayed one). A body that was not read to the end
   * (a replay, or a refusal mid-stream) means the connection cannot carry another request.
   */
  static void answer(RoutingContext ctx, dev.wharf.idempotency.IdempotencyStore.Answer answer, String location) {
    var response = ctx.response().setStatusCode(answer.statusCode()).putHeader("Content-Type", "application/json");
    if (answer.replayed()) {
      response.putHeader("Idempotent-Replayed", "true");
    }
    if (location != null && answer.statusCode() == 201) {
      response.putHeader("Location", location);
    }
    boolean unread = EarlyAnswers.markUnread(ctx);
    response.end(encode(answer.body())).onComplete(ar -> {
      if (unread) {
        EarlyAnswers.after(ctx);
      }
    });
  }

  static <T> JsonObject page(List<T> items, String nextCursor, Function<T, JsonObject> toJson) {
    JsonArray array = new JsonArray();
    items.forEach(item -> array.add(toJson.apply(item)));
    return new JsonObject().put("items", array).put("next_cursor", nextCursor);
  }

  static int limit(RoutingContext ctx, int defaultValue, int max) {
    String raw = ctx.request().getParam("limit");
    if (raw == null) {
      return defaultValue;
    }
    try {
      int value = Integer.parseInt(raw);
      if (value < 1 || value > max) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw ClientException.badRequest("invalid_limit", "limit must be a whole number from 1 to " + max);
    }
  }

  /** The JSON body of a request behind a BodyHandler; 400 when it is missing or not an object. */
  static JsonObject body(RoutingContext ctx) {
    try {
      JsonObject body = ctx.body().asJsonObject();
      if (body == null) {
        throw ClientException.badRequest("malformed_json", "a JSON object body is required");
      }
      return body;
    } catch (io.vertx.core.json.DecodeException | ClassCastException e) {
      throw ClientException.badRequest("malformed_json", "the body is not a valid JSON object");
    }
  }
}

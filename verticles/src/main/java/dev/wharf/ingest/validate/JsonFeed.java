package dev.wharf.ingest.validate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Jackson's non-blocking parser fed with chunks as they arrive: every token is handed to a {@link Tokens}
 * callback, which may stop the feed by naming a problem. Memory stays bounded by the longest single token
 * (Jackson caps strings at its {@link StreamReadConstraints} default), not by the document.
 *
 * <p>Jackson 2.18's non-blocking parser accepts {@code {"a":1,}} and {@code {"a":}} when a chunk happens to
 * end right after the {@code ,} or {@code :} (it resumes in the state that allows an empty object to close).
 * So that findings never depend on where chunks end, the feed watches the bytes itself and refuses a closing
 * bracket whose previous significant byte outside strings is a comma or a colon.
 */
final class JsonFeed {

  /** Sees each token; returns a problem to stop the feed, or null to go on. */
  @FunctionalInterface
  interface Tokens {
    String next(JsonToken token, JsonParser parser);
  }

  private final JsonParser parser;
  private final ByteArrayFeeder feeder;
  private final Tokens tokens;
  private boolean inString;
  private boolean escaped;
  private byte lastSignificant;

  JsonFeed(JsonFactory factory, Tokens tokens) {
    try {
      this.parser = factory.createNonBlockingByteArrayParser();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
    this.tokens = tokens;
  }

  /** A parser factory whose own depth limit lies beyond {@code maxDepth}, so the caller's limit speaks first. */
  static JsonFactory factory(int maxDepth) {
    return JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(Math.max(maxDepth + 1, StreamReadConstraints.DEFAULT_MAX_DEPTH))
            .build())
        .build();
  }

  /**
   * Parses {@code bytes[from, to)}; returns the first problem a token callback named, or null.
   *
   * @throws JsonProcessingException when the bytes are not JSON
   */
  String feed(byte[] bytes, int from, int to) throws IOException {
    int dangling = findDanglingClose(bytes, from, to);
    if (dangling < 0) {
      feeder.feedInput(bytes, from, to);
      return drain();
    }
    if (dangling > from) {
      feeder.feedInput(bytes, from, dangling);
      String problem = drain();
      if (problem != null) {
        return problem;
      }
    }
    throw new JsonParseException(parser, "Unexpected character ('" + (char) bytes[dangling]
        + "'): expected a value after '" + (char) lastSignificant + "'", parser.currentLocation());
  }

  /** The index of a closing bracket that directly follows a comma or colon, or -1. */
  private int findDanglingClose(byte[] bytes, int from, int to) {
    for (int i = from; i < to; i++) {
      byte b = bytes[i];
      if (inString) {
        if (escaped) {
          escaped = false;
        } else if (b == '\\') {
          escaped = true;
        } else if (b == '"') {
          inString = false;
          lastSignificant = b;
        }
      } else if (b == '"') {
        inString = true;
      } else if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        if ((b == '}' || b == ']') && (lastSignificant == ',' || lastSignificant == ':')) {
          return i;
        }
        lastSignificant = b;
      }
    }
    return -1;
  }

  /**
   * Marks the end of input and parses what is left; returns the first problem a token callback named, or null.
   *
   * @throws JsonProcessingException when the input ends inside a value
   */
  String end() throws IOException {
    feeder.endOfInput();
    String problem = drain();
    parser.close();
    return problem;
  }

  private String drain() throws IOException {
    JsonToken token;
    while ((token = parser.nextToken()) != null && token != JsonToken.NOT_AVAILABLE) {
      String problem = tokens.next(token, parser);
      if (problem != null) {
        return problem;
      }
    }
    return null;
  }

  /** What a person calls the JSON type a value starts with: object, array, string, number, boolean or null. */
  static String kind(JsonToken token) {
    return switch (token) {
      case START_OBJECT -> "object";
      case START_ARRAY -> "array";
      case VALUE_STRING -> "string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "number";
      case VALUE_TRUE, VALUE_FALSE -> "boolean";
      case VALUE_NULL -> "null";
      default -> token.name().toLowerCase(java.util.Locale.ROOT);
    };
  }

  /** Whether the token begins a value (an object, an array or a scalar), rather than ending one or naming a field. */
  static boolean startsValue(JsonToken token) {
    return token.isScalarValue() || token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY;
  }

  /** "line 3, column 7" for a location, or an empty string when Jackson does not know one. */
  static String where(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return "";
    }
    return "line " + location.getLineNr() + ", column " + location.getColumnNr();
  }

  /** Jackson's message without its source excerpt, cut to a length fit for a findings detail. */
  static String message(JsonProcessingException e) {
    String message = e.getOriginalMessage();
    if (message == null) {
      return e.getClass().getSimpleName();
    }
    int excerpt = message.indexOf(" (start marker at");
    message = (excerpt > 0 ? message.substring(0, excerpt) : message).replace('\n', ' ');
    return message.length() > 200 ? message.substring(0, 200) + "…" : message;
  }
}

package dev.wharf.ingest.validate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.util.Map;

/**
 * Checks that a file is JSON Lines: every line one JSON object ({@code {...}}), reporting the first line that
 * is not. Lines end with a line feed; a carriage return before it, and whitespace around the object, are
 * allowed. One line feed at the very end of the file does not start another line. A line holding nothing
 * (or only whitespace) anywhere else is invalid ({@code line 4 is empty}): a blank line is where a record
 * was meant to be, and downstream readers disagree on skipping it. An empty file is valid and has no lines.
 *
 * <p>Each line is parsed as it streams by; a line longer than {@link ValidationLimits#maxJsonLineBytes}
 * (counting its bytes before the line feed, a carriage return included) is invalid as soon as it passes the
 * limit, without being held in memory. Nesting deeper than {@link ValidationLimits#maxJsonDepth} is invalid.
 *
 * <p>Applies when the declared type is a {@linkplain ContentFacts#JSON_LINES_TYPES JSON Lines type}, or when
 * the declared type names no format and the file name ends in {@code .jsonl} or {@code .ndjson}.
 *
 * <p>Learned: {@code lines}, the number of lines (records).
 */
public final class JsonLinesValidator implements Validator {

  private final int maxLineBytes;
  private final int maxDepth;
  private final JsonFactory factory;

  public JsonLinesValidator(ValidationLimits limits) {
    this.maxLineBytes = limits.maxJsonLineBytes();
    this.maxDepth = limits.maxJsonDepth();
    this.factory = JsonFeed.factory(maxDepth);
  }

  @Override
  public String name() {
    return "jsonl";
  }

  @Override
  public boolean appliesTo(ContentFacts facts) {
    return facts.isJsonLines();
  }

  @Override
  public Check start(ContentFacts facts) {
    return new LinesCheck();
  }

  private final class LinesCheck implements Check {

    private long line = 1;
    private long lineBytes;
    private JsonFeed feed;
    private int depth;
    private boolean started;
    private boolean complete;
    private String problem;

    @Override
    public void update(Buffer chunk) {
      byte[] bytes = chunk.getBytes();
      int from = 0;
      for (int i = 0; i < bytes.length && problem == null; i++) {
        if (bytes[i] == '\n') {
          parse(bytes, from, i);
          endLine();
          from = i + 1;
        }
      }
      parse(bytes, from, bytes.length);
    }

    @Override
    public Future<Findings> finish(RangeReader ranges) {
      if (feed != null) {
        endLine();
      }
      return Future.succeededFuture(problem != null
          ? Findings.invalid(name(), problem)
          : Findings.valid(name(), Map.of("lines", line - 1)));
    }

    private void parse(byte[] bytes, int from, int to) {
      if (problem != null || from == to) {
        return;
      }
      lineBytes += to - from;
      if (lineBytes > maxLineBytes) {
        problem = "line " + line + " exceeds " + maxLineBytes + " bytes";
        return;
      }
      if (feed == null) {
        feed = new JsonFeed(factory, this::next);
      }
      try {
        problem = feed.feed(bytes, from, to);
      } catch (IOException e) {
        problem = notAnObject(e);
      }
    }

    private void endLine() {
      if (problem != null) {
        return;
      }
      if (feed != null) {
        try {
          problem = feed.end();
        } catch (JsonEOFException e) {
          problem = "line " + line + " is not a complete JSON object";
        } catch (IOException e) {
          problem = notAnObject(e);
        }
      }
      if (problem == null && !started) {
        problem = "line " + line + " is empty";
      } else if (problem == null && !complete) {
        problem = "line " + line + " is not a complete JSON object";
      }
      if (problem == null) {
        line++;
        lineBytes = 0;
        feed = null;
        depth = 0;
        started = false;
        complete = false;
      }
    }

    private String next(JsonToken token, JsonParser parser) {
      if (depth == 0 && JsonFeed.startsValue(token)) {
        if (started) {
          return "line " + line + " holds more than one JSON value";
        }
        if (token != JsonToken.START_OBJECT) {
          return "line " + line + " is not a JSON object: it is " + withArticle(JsonFeed.kind(token));
        }
        started = true;
      }
      if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
        if (++depth > maxDepth) {
          return "line " + line + " is nested deeper than " + maxDepth + " levels";
        }
      } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
        depth--;
      }
      complete = depth == 0;
      return null;
    }

    private static String withArticle(String kind) {
      return switch (kind) {
        case "array" -> "an array";
        case "null" -> "null";
        default -> "a " + kind;
      };
    }

    private String notAnObject(IOException e) {
      String detail = e instanceof JsonProcessingException jpe ? JsonFeed.message(jpe) : e.getMessage();
      if (e instanceof JsonProcessingException jpe && jpe.getLocation() != null) {
        detail += " (column " + jpe.getLocation().getColumnNr() + ")";
      }
      return "line " + line + " is not a JSON object: " + detail;
    }
  }
}

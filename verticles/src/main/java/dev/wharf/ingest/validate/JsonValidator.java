package dev.wharf.ingest.validate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Checks that a file is one JSON document: exactly one top-level value, nothing but whitespace after it, no
 * nesting deeper than {@link ValidationLimits#maxJsonDepth}. The document is parsed as it streams by, so
 * memory does not grow with its size.
 *
 * <p>Applies when the declared type is {@code application/json} or a {@code +json} type; or, when the
 * declared type names no format, when the file name ends in {@code .json} or the content sniffs as JSON and
 * the file is not {@linkplain ContentFacts#isJsonLines() called JSON Lines}. A file picked up only by
 * sniffing that turns out to hold several values gets a hint to name it as JSON Lines.
 *
 * <p>Learned: {@code json_kind} (object, array, string, number, boolean or null) and, for a top-level array,
 * {@code json_items}, the number of its elements.
 */
public final class JsonValidator implements Validator {

  private final int maxDepth;
  private final JsonFactory factory;

  public JsonValidator(ValidationLimits limits) {
    this.maxDepth = limits.maxJsonDepth();
    this.factory = JsonFeed.factory(maxDepth);
  }

  @Override
  public String name() {
    return "json";
  }

  @Override
  public boolean appliesTo(ContentFacts facts) {
    return facts.declaresJson() || (facts.declaresNoFormat() && !facts.isJsonLines()
        && (facts.hasExtension(".json") || facts.sniffed() == SniffedType.JSON));
  }

  @Override
  public Check start(ContentFacts facts) {
    boolean onlySniffed = !facts.declaresJson() && !facts.hasExtension(".json");
    return new DocumentCheck(onlySniffed);
  }

  private final class DocumentCheck implements Check {

    private final boolean onlySniffed;
    private final JsonFeed feed;
    private String problem;
    private String kind;
    private long items;
    private int depth;
    private boolean complete;

    DocumentCheck(boolean onlySniffed) {
      this.onlySniffed = onlySniffed;
      this.feed = new JsonFeed(factory, this::next);
    }

    @Override
    public void update(Buffer chunk) {
      if (problem != null) {
        return;
      }
      byte[] bytes = chunk.getBytes();
      try {
        problem = feed.feed(bytes, 0, bytes.length);
      } catch (JsonProcessingException e) {
        problem = describe(e);
      } catch (IOException e) {
        problem = "unreadable JSON: " + e.getMessage();
      }
    }

    @Override
    public Future<Findings> finish(RangeReader ranges) {
      if (problem == null) {
        try {
          problem = feed.end();
        } catch (JsonProcessingException e) {
          problem = describe(e);
        } catch (IOException e) {
          problem = "unreadable JSON: " + e.getMessage();
        }
      }
      if (problem == null && kind == null) {
        problem = "no JSON value: the file is empty or only whitespace";
      } else if (problem == null && !complete) {
        problem = "the JSON document ends before its " + kind + " is closed";
      }
      if (problem != null) {
        return Future.succeededFuture(Findings.invalid(name(), problem));
      }
      Map<String, Object> learned = new HashMap<>();
      learned.put("json_kind", kind);
      if (kind.equals("array")) {
        learned.put("json_items", items);
      }
      return Future.succeededFuture(Findings.valid(name(), learned));
    }

    private String next(JsonToken token, JsonParser parser) {
      if (depth == 0 && JsonFeed.startsValue(token)) {
        if (kind != null) {
          return "more than one top-level JSON value: another starts at "
              + JsonFeed.where(parser.currentTokenLocation())
              + (onlySniffed ? " (if this is JSON Lines, name it .jsonl or declare application/x-ndjson)" : "");
        }
        kind = JsonFeed.kind(token);
      } else if (depth == 1 && kind.equals("array") && JsonFeed.startsValue(token)) {
        items++;
      }
      if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
        if (++depth > maxDepth) {
          return "JSON nested deeper than " + maxDepth + " levels at " + JsonFeed.where(parser.currentTokenLocation());
        }
      } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
        depth--;
      }
      complete = depth == 0;
      return null;
    }

    private String describe(JsonProcessingException e) {
      String where = JsonFeed.where(e.getLocation());
      long offset = e.getLocation() == null ? -1 : e.getLocation().getByteOffset();
      return "invalid JSON" + (where.isEmpty() ? "" : " at " + where)
          + (offset >= 0 ? " (byte " + offset + ")" : "") + ": " + JsonFeed.message(e);
    }
  }
}

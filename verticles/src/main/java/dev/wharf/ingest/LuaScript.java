package dev.wharf.ingest;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One Lua script from {@code src/main/resources/lua/}, loaded into Redis with {@code SCRIPT LOAD} and run
 * with {@code EVALSHA}. When Redis answers {@code NOSCRIPT} (it restarted, or someone ran
 * {@code SCRIPT FLUSH}) the script is loaded again and the call retried once. The SHA-1 of a script
 * depends only on its text, so a reload yields the same digest and this object never changes.
 */
final class LuaScript {

  private final String name;
  private final String source;
  private final String sha;

  private LuaScript(String name, String source, String sha) {
    this.name = name;
    this.source = source;
    this.sha = sha;
  }

  /**
   * Reads {@code lua/<name>.lua} from the class path on a worker thread and loads it into Redis.
   *
   * @return the loaded script; fails with the Redis or I/O error as is
   */
  static Future<LuaScript> load(Vertx vertx, RedisAPI redis, String name) {
    return vertx
        .executeBlocking(() -> readResource("lua/" + name + ".lua"), false)
        .compose(source -> redis.script(List.of("LOAD", source))
            .map(sha -> new LuaScript(name, source, sha.toString())));
  }

  /**
   * Runs the script with {@code EVALSHA}; on {@code NOSCRIPT} loads it again and retries once.
   *
   * @return the script's reply (null for a Lua nil); fails with the Redis error as is
   */
  Future<Response> call(RedisAPI redis, List<String> keys, List<String> args) {
    List<String> request = new ArrayList<>(2 + keys.size() + args.size());
    request.add(sha);
    request.add(Integer.toString(keys.size()));
    request.addAll(keys);
    request.addAll(args);
    return redis.evalsha(request).recover(err -> {
      if (!isNoScript(err)) {
        return Future.failedFuture(err);
      }
      return redis.script(List.of("LOAD", source)).compose(ignored -> redis.evalsha(request));
    });
  }

  String name() {
    return name;
  }

  private static boolean isNoScript(Throwable err) {
    String message = err.getMessage();
    return message != null && message.startsWith("NOSCRIPT");
  }

  private static String readResource(String path) {
    try (InputStream in = LuaScript.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("Lua script missing from the class path: " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Lua script " + path, e);
    }
  }
}

package dev.wharf.blob;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * A request body made up on demand: deterministic pseudo-random chunks, produced only while the reader
 * has demand, on one context, so a body of any size costs one chunk of memory. It can fail midway like a
 * client that goes away, and it hashes what it emitted.
 */
final class GeneratedBody implements ReadStream<Buffer> {

  static final int CHUNK = 64 * 1024;
  private static final int CHUNKS_PER_TURN = 16;

  private final Context context;
  private final long size;
  private final long failAfter;
  private final SplittableRandom random;
  private final MessageDigest sha256;

  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  private long demand = Long.MAX_VALUE;
  private long emitted;
  private int pauses;
  private String sha256Hex;
  private boolean scheduled;
  private boolean done;

  private GeneratedBody(Context context, long size, long failAfter, long seed) {
    this.context = context;
    this.size = size;
    this.failAfter = failAfter;
    this.random = new SplittableRandom(seed);
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A body of {@code size} bytes. */
  static GeneratedBody of(Context context, long size, long seed) {
    return new GeneratedBody(context, size, -1, seed);
  }

  /** A body that fails with an {@link IOException} after {@code failAfter} bytes. */
  static GeneratedBody failingAfter(Context context, long failAfter, long seed) {
    return new GeneratedBody(context, Long.MAX_VALUE, failAfter, seed);
  }

  /** The first {@code size} bytes a body with this seed produces, in memory (for small sizes). */
  static byte[] bytes(long size, long seed) {
    byte[] all = new byte[(int) size];
    SplittableRandom random = new SplittableRandom(seed);
    for (int pos = 0; pos < all.length; pos += CHUNK) {
      byte[] chunk = new byte[CHUNK];
      random.nextBytes(chunk);
      System.arraycopy(chunk, 0, all, pos, Math.min(CHUNK, all.length - pos));
    }
    return all;
  }

  long emitted() {
    return emitted;
  }

  /** How often the reader paused this body. */
  int pauses() {
    return pauses;
  }

  /** The SHA-256 of everything emitted; call once the body ended. */
  String sha256Hex() {
    if (sha256Hex == null) {
      sha256Hex = HexFormat.of().formatHex(sha256.digest());
    }
    return sha256Hex;
  }

  @Override
  public GeneratedBody handler(Handler<Buffer> handler) {
    this.handler = handler;
    schedule();
    return this;
  }

  @Override
  public GeneratedBody endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  @Override
  public GeneratedBody exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public GeneratedBody pause() {
    pauses++;
    demand = 0;
    return this;
  }

  @Override
  public GeneratedBody resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public GeneratedBody fetch(long amount) {
    demand = demand > Long.MAX_VALUE - amount ? Long.MAX_VALUE : demand + amount;
    schedule();
    return this;
  }

  private void schedule() {
    if (!scheduled && !done && handler != null && demand > 0) {
      scheduled = true;
      context.runOnContext(v -> {
        scheduled = false;
        emit();
      });
    }
  }

  private void emit() {
    for (int turn = 0; turn < CHUNKS_PER_TURN && demand > 0 && handler != null && !done; turn++) {
      if (failAfter >= 0 && emitted >= failAfter) {
        done = true;
        if (exceptionHandler != null) {
          exceptionHandler.handle(new IOException("client went away"));
        }
        return;
      }
      if (emitted >= size) {
        done = true;
        if (endHandler != null) {
          endHandler.handle(null);
        }
        return;
      }
      byte[] chunk = new byte[CHUNK];
      random.nextBytes(chunk);
      int length = (int) Math.min(CHUNK, size - emitted);
      sha256.update(chunk, 0, length);
      emitted += length;
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      handler.handle(Buffer.buffer(chunk).slice(0, length));
    }
    schedule();
  }
}

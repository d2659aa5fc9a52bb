package dev.wharf.blob;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A streamed body gathered into S3 parts, shared by the two streamed writes: {@link S3Upload} (a put, several
 * parts in flight) and the resumable upload's chunk append (a tus PATCH, one part in flight).
 *
 * <p>Bytes are copied once, from the body's buffers into a part array, and hashed there ({@link Hash}). A full
 * part waits until its owner has a free slot for it; meanwhile the body is paused, and resumed when the part
 * goes, so memory stays at the part being filled, the waiting one and those on the wire. Part arrays are
 * reused once their upload is done ({@link #recycle}). The first part array starts small and doubles up to
 * the part size, so a tiny body allocates little; once a part has filled, new arrays are allocated whole.
 *
 * <p>Not thread-safe: every call on the body's context, as its handlers are.
 */
public final class PartBuffer {

  /** Where the bytes are hashed as they are copied; {@link #partFilled} is told when a part's last byte went in. */
  public interface Hash {
    void update(byte[] bytes, int offset, int length);

    default void partFilled() {
    }
  }

  private final ReadStream<Buffer> body;
  private final int partSize;
  private final int firstAllocation;
  private final Hash hash;
  private final ArrayDeque<Buffer> backlog = new ArrayDeque<>();
  private final ArrayDeque<byte[]> spares = new ArrayDeque<>();

  private byte[] current;
  private int filled;
  private byte[] full;
  private boolean aPartFilled;
  private boolean paused;
  private boolean ended;

  public PartBuffer(ReadStream<Buffer> body, int partSize, int firstAllocation, Hash hash) {
    this.body = body;
    this.partSize = partSize;
    this.firstAllocation = Math.min(firstAllocation, partSize);
    this.hash = hash;
  }

  /** Bytes that precede the body in the first part (the resumable upload's pending tail), not hashed here. */
  public void prefill(Buffer bytes) {
    ensureCapacity(bytes.length());
    bytes.getBytes(0, bytes.length(), current, filled);
    filled += bytes.length();
  }

  /** Queues a buffer the body delivered; {@link #pump} moves it. */
  public void add(Buffer data) {
    backlog.add(data);
  }

  /** The body's end arrived. */
  public void bodyEnded() {
    ended = true;
  }

  /**
   * Copies waiting data into parts and hands each full part to {@code ship} while {@code slotFree} allows;
   * stops at once when {@code stopped} says so (a ship that failed). Then pauses the body while data or a full
   * part waits, and resumes it otherwise. True when the body ended and every byte of it is in the current
   * part or shipped: the owner finishes then.
   */
  public boolean pump(BooleanSupplier slotFree, Consumer<byte[]> ship, BooleanSupplier stopped) {
    while (true) {
      if (full != null) {
        if (!slotFree.getAsBoolean()) {
          break;
        }
        byte[] part = full;
        full = null;
        ship.accept(part);
      }
      Buffer next = backlog.poll();
      if (next == null || stopped.getAsBoolean()) {
        break;
      }
      absorb(next);
    }
    if (stopped.getAsBoolean()) {
      return false;
    }
    if (full != null || !backlog.isEmpty()) {
      pause();
      return false;
    }
    if (!ended) {
      resume();
      return false;
    }
    return true;
  }

  /** Copies {@code data} into the current part; when the part fills, parks it and puts back the rest. */
  private void absorb(Buffer data) {
    int pos = 0;
    int length = data.length();
    while (pos < length) {
      ensureCapacity(Math.min(partSize, filled + (length - pos)));
      int n = Math.min(current.length - filled, length - pos);
      data.getBytes(pos, pos + n, current, filled);
      hash.update(current, filled, n);
      filled += n;
      pos += n;
      if (filled == partSize) {
        full = current;
        current = null;
        filled = 0;
        aPartFilled = true;
        hash.partFilled();
        if (pos < length) {
          backlog.addFirst(data.slice(pos, length));
        }
        return;
      }
    }
  }

  private void ensureCapacity(int needed) {
    if (current == null) {
      byte[] spare = spares.poll();
      current = spare != null ? spare : new byte[aPartFilled ? partSize : Math.max(needed, firstAllocation)];
    }
    if (current.length < needed) {
      current = Arrays.copyOf(current, Math.min(partSize, Math.max(needed, current.length * 2)));
    }
  }

  /** A part array whose upload is done, for the next part; arrays shorter than a part are dropped. */
  public void recycle(byte[] part) {
    if (part.length == partSize) {
      spares.push(part);
    }
  }

  /** The part being filled: its array (null before the first byte) and how many bytes it holds. */
  public byte[] current() {
    return current;
  }

  public int filled() {
    return filled;
  }

  /** Takes the part being filled away (the last, short part), leaving none. */
  public void clearCurrent() {
    current = null;
    filled = 0;
  }

  /** Whether a full part waits for a slot. */
  public boolean hasFullPart() {
    return full != null;
  }

  /** Drops whatever waits (queued buffers, a full part, spare arrays); the current part is kept unless {@code all}. */
  public void discard(boolean all) {
    backlog.clear();
    full = null;
    spares.clear();
    if (all) {
      clearCurrent();
    }
  }

  public void pause() {
    if (!paused && !ended) {
      paused = true;
      body.pause();
    }
  }

  private void resume() {
    if (paused) {
      paused = false;
      body.resume();
    }
  }
}

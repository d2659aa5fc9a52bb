package dev.wharf.bench;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes every benchmark upload sends: one pseudo-random block of {@value #BLOCK} bytes, repeated. Byte
 * {@code i} of any upload is {@code block[i % BLOCK]}, so the gateway and the direct S3 client send the same
 * content, a body of any size costs one block of memory, and producing it costs nothing but slicing.
 */
final class GeneratedBytes {

  /** Block size; a part size that is a multiple of it makes every full part identical. */
  static final int BLOCK = 1 << 20;

  /** Buffer size handed to HTTP clients, like a socket read. */
  static final int CHUNK = 64 * 1024;

  private final byte[] block = new byte[BLOCK];

  /**
   * The block again, off-heap, for the streamed bodies: a socket write from a heap buffer first copies it
   * into a direct one, CPU that would be charged to the client on a machine the gateway shares with it.
   */
  private final ByteBuffer direct = ByteBuffer.allocateDirect(BLOCK);

  GeneratedBytes(long seed) {
    new SplittableRandom(seed).nextBytes(block);
    direct.put(block).flip();
  }

  /** The SHA-256 (hex) of the first {@code size} bytes, computed off the clock. */
  String sha256(long size) {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (long pos = 0; pos < size; pos += BLOCK) {
      digest.update(block, 0, (int) Math.min(BLOCK, size - pos));
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Bytes {@code [0, length)} as one array; {@code length} must be a multiple of {@link #BLOCK} or smaller than it. */
  byte[] prefix(int length) {
    byte[] out = new byte[length];
    for (int pos = 0; pos < length; pos += BLOCK) {
      System.arraycopy(block, 0, out, pos, Math.min(BLOCK, length - pos));
    }
    return out;
  }

  /** A publisher of the first {@code size} bytes in read-only {@value #CHUNK}-byte buffers, as demanded. */
  Flow.Publisher<ByteBuffer> publisher(long size) {
    return subscriber -> subscriber.onSubscribe(new Emitter(subscriber, size));
  }

  /**
   * Emits on whichever thread requests, as much as was requested. The usual work-in-progress counter keeps
   * one thread emitting at a time and stops {@code onNext → request} from recursing.
   */
  private final class Emitter implements Flow.Subscription {

    private final Flow.Subscriber<? super ByteBuffer> subscriber;
    private final long size;
    private final AtomicLong demand = new AtomicLong();
    private final AtomicInteger wip = new AtomicInteger();
    private long position;
    private volatile boolean done;

    Emitter(Flow.Subscriber<? super ByteBuffer> subscriber, long size) {
      this.subscriber = subscriber;
      this.size = size;
    }

    @Override
    public void request(long n) {
      if (n <= 0) {
        done = true;
        subscriber.onError(new IllegalArgumentException("request must be positive: " + n));
        return;
      }
      demand.accumulateAndGet(n, (a, b) -> a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b);
      if (wip.getAndIncrement() != 0) {
        return;
      }
      int missed = 1;
      do {
        while (!done && demand.get() > 0 && position < size) {
          int offset = (int) (position % BLOCK);
          int length = (int) Math.min(Math.min(CHUNK, BLOCK - offset), size - position);
          position += length;
          demand.decrementAndGet();
          subscriber.onNext(direct.slice(offset, length).asReadOnlyBuffer());
        }
        if (!done && position >= size) {
          done = true;
          subscriber.onComplete();
        }
        missed = wip.addAndGet(-missed);
      } while (missed != 0);
    }

    @Override
    public void cancel() {
      done = true;
    }
  }
}

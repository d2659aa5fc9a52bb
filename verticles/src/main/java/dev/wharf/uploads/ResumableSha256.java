package dev.wharf.uploads;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * SHA-256 (FIPS 180-4) whose running state can be saved and restored: a resumable upload hashes each
 * chunk as it arrives and stores the state next to the durable offset, so whichever gateway takes the next
 * chunk (after a restart, or on another replica) continues the same digest.
 *
 * <p>Two engines, one saved form. The JDK's SHA-256 is several times faster (HotSpot compiles it to the
 * CPU's SHA instructions) but has no API to export its state; when the JVM was started with
 * {@code --add-opens java.base/java.security=ALL-UNNAMED --add-opens java.base/sun.security.provider=ALL-UNNAMED}
 * (the {@code wharf} jars carry these in their manifest), its state is read and written through those
 * fields. Otherwise a plain Java implementation of the same algorithm runs. A state saved by one engine
 * restores into the other, so replicas started either way share sessions.
 *
 * <p>The saved form is {@value #STATE_BYTES} bytes or less: eight state words, the byte count, and the
 * unprocessed tail of the current 64-byte block.
 */
public final class ResumableSha256 {

  private static final int[] K = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

  private static final int[] INITIAL = {
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

  /** The largest saved state: 8 words, the count, one length byte and up to 63 pending bytes. */
  public static final int STATE_BYTES = 8 * 4 + 8 + 1 + 63;

  private final int[] h;
  private final byte[] block = new byte[64];
  private final int[] w = new int[64];
  private int pending;
  private long count;
  /** The JDK engine, when its state can be reached; then the fields above are unused. */
  private final MessageDigest jdk;

  public ResumableSha256() {
    this(JdkState.AVAILABLE);
  }

  /** A fresh digest on the JDK engine when {@code preferJdk} and it is reachable, else on the plain one. */
  static ResumableSha256 fresh(boolean preferJdk) {
    return new ResumableSha256(preferJdk && JdkState.AVAILABLE);
  }

  private ResumableSha256(boolean useJdk) {
    this.h = INITIAL.clone();
    this.jdk = useJdk ? JdkState.newDigest() : null;
  }

  private ResumableSha256(int[] h, long count, byte[] pendingBytes, boolean useJdk) {
    this.h = h;
    this.count = count;
    this.pending = pendingBytes.length;
    System.arraycopy(pendingBytes, 0, block, 0, pending);
    this.jdk = useJdk ? JdkState.restore(h, count, pendingBytes) : null;
  }

  /** Which engine digests run on in this JVM: {@code jdk} or {@code java}. */
  public static String engine() {
    return JdkState.AVAILABLE ? "jdk" : "java";
  }

  /** Restores a state saved by {@link #save()}; an empty or null state is a fresh digest. */
  public static ResumableSha256 restore(byte[] saved) {
    return restore(saved, JdkState.AVAILABLE);
  }

  static ResumableSha256 restore(byte[] saved, boolean preferJdk) {
    if (saved == null || saved.length == 0) {
      return fresh(preferJdk);
    }
    ByteBuffer in = ByteBuffer.wrap(saved);
    int[] h = new int[8];
    for (int i = 0; i < 8; i++) {
      h[i] = in.getInt();
    }
    long count = in.getLong();
    int pendingLength = in.get() & 0xff;
    if (pendingLength > 63 || in.remaining() != pendingLength || (count & 63) != pendingLength) {
      throw new IllegalArgumentException("not a saved SHA-256 state");
    }
    byte[] pendingBytes = new byte[pendingLength];
    in.get(pendingBytes);
    return new ResumableSha256(h, count, pendingBytes, preferJdk && JdkState.AVAILABLE);
  }

  /** The state after every byte given so far. */
  public byte[] save() {
    if (jdk != null) {
      return JdkState.save(jdk);
    }
    ByteBuffer out = ByteBuffer.allocate(8 * 4 + 8 + 1 + pending);
    for (int word : h) {
      out.putInt(word);
    }
    out.putLong(count);
    out.put((byte) pending);
    out.put(block, 0, pending);
    return out.array();
  }

  /** How many bytes have been hashed. */
  public long count() {
    return jdk != null ? JdkState.count(jdk) : count;
  }

  public ResumableSha256 copy() {
    return restore(save(), jdk != null);
  }

  public void update(byte[] data, int offset, int length) {
    if (jdk != null) {
      jdk.update(data, offset, length);
      return;
    }
    count += length;
    int pos = offset;
    int end = offset + length;
    if (pending > 0) {
      int n = Math.min(64 - pending, length);
      System.arraycopy(data, pos, block, pending, n);
      pending += n;
      pos += n;
      if (pending < 64) {
        return;
      }
      compress(block, 0);
      pending = 0;
    }
    while (end - pos >= 64) {
      compress(data, pos);
      pos += 64;
    }
    if (pos < end) {
      System.arraycopy(data, pos, block, 0, end - pos);
      pending = end - pos;
    }
  }

  /** The digest of everything hashed so far, as 64 lowercase hex digits; this digest is left as it was. */
  public String hex() {
    if (jdk != null) {
      try {
        return HexFormat.of().formatHex(((MessageDigest) jdk.clone()).digest());
      } catch (CloneNotSupportedException e) {
        throw new IllegalStateException(e);
      }
    }
    ResumableSha256 done = copy();
    long bits = done.count * 8;
    byte[] padding = new byte[(done.pending < 56 ? 56 : 120) - done.pending];
    padding[0] = (byte) 0x80;
    done.update(padding, 0, padding.length);
    byte[] length = ByteBuffer.allocate(8).putLong(bits).array();
    done.update(length, 0, 8);
    ByteBuffer out = ByteBuffer.allocate(32);
    for (int word : done.h) {
      out.putInt(word);
    }
    return HexFormat.of().formatHex(out.array());
  }

  private void compress(byte[] in, int offset) {
    int[] w = this.w;
    for (int i = 0; i < 16; i++) {
      int p = offset + i * 4;
      w[i] = (in[p] << 24) | ((in[p + 1] & 0xff) << 16) | ((in[p + 2] & 0xff) << 8) | (in[p + 3] & 0xff);
    }
    for (int i = 16; i < 64; i++) {
      int x = w[i - 15];
      int y = w[i - 2];
      int s0 = Integer.rotateRight(x, 7) ^ Integer.rotateRight(x, 18) ^ (x >>> 3);
      int s1 = Integer.rotateRight(y, 17) ^ Integer.rotateRight(y, 19) ^ (y >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    int a = h[0];
    int b = h[1];
    int c = h[2];
    int d = h[3];
    int e = h[4];
    int f = h[5];
    int g = h[6];
    int hh = h[7];
    for (int i = 0; i < 64; i++) {
      int t1 = hh + (Integer.rotateRight(e, 6) ^ Integer.rotateRight(e, 11) ^ Integer.rotateRight(e, 25))
          + ((e & f) ^ (~e & g)) + K[i] + w[i];
      int t2 = (Integer.rotateRight(a, 2) ^ Integer.rotateRight(a, 13) ^ Integer.rotateRight(a, 22))
          + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }

  @Override
  public String toString() {
    return "ResumableSha256[engine=" + (jdk != null ? "jdk" : "java") + ", count=" + count() + "]";
  }

  /** The JDK's SHA-256 state, through the fields of {@code sun.security.provider.SHA2} and {@code DigestBase}. */
  private static final class JdkState {

    static final boolean AVAILABLE;
    private static final Field SPI;
    private static final Field STATE;
    private static final Field BUFFER;
    private static final Field BUF_OFS;
    private static final Field BYTES_PROCESSED;

    static {
      Field spi = null;
      Field state = null;
      Field buffer = null;
      Field bufOfs = null;
      Field bytes = null;
      boolean ok;
      try {
        spi = Class.forName("java.security.MessageDigest$Delegate").getDeclaredField("digestSpi");
        spi.setAccessible(true);
        Class<?> sha2 = Class.forName("sun.security.provider.SHA2");
        Class<?> base = Class.forName("sun.security.provider.DigestBase");
        state = sha2.getDeclaredField("state");
        buffer = base.getDeclaredField("buffer");
        bufOfs = base.getDeclaredField("bufOfs");
        bytes = base.getDeclaredField("bytesProcessed");
        for (Field f : new Field[] {state, buffer, bufOfs, bytes}) {
          f.setAccessible(true);
        }
        // Prove the round trip on this JVM before trusting it.
        MessageDigest probe = MessageDigest.getInstance("SHA-256");
        ok = sha2.isInstance(spi.get(probe));
      } catch (ReflectiveOperationException | RuntimeException | java.security.NoSuchAlgorithmException e) {
        ok = false;
      }
      SPI = spi;
      STATE = state;
      BUFFER = buffer;
      BUF_OFS = bufOfs;
      BYTES_PROCESSED = bytes;
      AVAILABLE = ok && selfTest();
    }

    private static boolean selfTest() {
      try {
        byte[] data = new byte[200];
        for (int i = 0; i < data.length; i++) {
          data[i] = (byte) (i * 31);
        }
        MessageDigest first = newDigest();
        first.update(data, 0, 77);
        MessageDigest second = restoreFrom(save(first));
        second.update(data, 77, data.length - 77);
        return MessageDigest.isEqual(second.digest(), MessageDigest.getInstance("SHA-256").digest(data));
      } catch (RuntimeException | java.security.NoSuchAlgorithmException e) {
        return false;
      }
    }

    static MessageDigest newDigest() {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    private static Object spi(MessageDigest digest) throws IllegalAccessException {
      return SPI.get(digest);
    }

    static long count(MessageDigest digest) {
      try {
        return BYTES_PROCESSED.getLong(spi(digest));
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      }
    }

    static byte[] save(MessageDigest digest) {
      try {
        Object spi = spi(digest);
        int[] h = (int[]) STATE.get(spi);
        long count = BYTES_PROCESSED.getLong(spi);
        int pending = BUF_OFS.getInt(spi);
        byte[] buffer = (byte[]) BUFFER.get(spi);
        ByteBuffer out = ByteBuffer.allocate(8 * 4 + 8 + 1 + pending);
        for (int word : h) {
          out.putInt(word);
        }
        out.putLong(count);
        out.put((byte) pending);
        out.put(buffer, 0, pending);
        return out.array();
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      }
    }

    private static MessageDigest restoreFrom(byte[] saved) {
      ResumableSha256 parsed = ResumableSha256.restore(saved, false);
      return restore(parsed.h, parsed.count, Arrays.copyOf(parsed.block, parsed.pending));
    }

    static MessageDigest restore(int[] h, long count, byte[] pendingBytes) {
      try {
        MessageDigest digest = newDigest();
        Object spi = spi(digest);
        System.arraycopy(h, 0, (int[]) STATE.get(spi), 0, 8);
        System.arraycopy(pendingBytes, 0, (byte[]) BUFFER.get(spi), 0, pendingBytes.length);
        BUF_OFS.setInt(spi, pendingBytes.length);
        BYTES_PROCESSED.setLong(spi, count);
        return digest;
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}

package dev.wharf.uploads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ResumableSha256Test {

  private static String jdk(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void matchesTheJdkForEveryLengthAroundTheBlockEdges() throws Exception {
    Random random = new Random(7);
    for (int n = 0; n < 200; n++) {
      byte[] bytes = new byte[n];
      random.nextBytes(bytes);
      ResumableSha256 sha = new ResumableSha256();
      sha.update(bytes, 0, n);
      assertThat(sha.hex()).as("length %d", n).isEqualTo(jdk(bytes));
    }
    assertThat(new ResumableSha256().hex()).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  @Test
  void aSavedStateContinuesTheSameDigestAtAnyCut() throws Exception {
    byte[] bytes = new byte[10_000];
    new Random(8).nextBytes(bytes);
    for (int cut : new int[] {0, 1, 63, 64, 65, 4095, 9_999, 10_000}) {
      ResumableSha256 first = new ResumableSha256();
      first.update(bytes, 0, cut);
      byte[] saved = first.save();
      assertThat(saved.length).isLessThanOrEqualTo(ResumableSha256.STATE_BYTES);
      ResumableSha256 resumed = ResumableSha256.restore(saved);
      assertThat(resumed.count()).isEqualTo(cut);
      resumed.update(bytes, cut, bytes.length - cut);
      assertThat(resumed.hex()).as("cut at %d", cut).isEqualTo(jdk(bytes));
    }
  }

  @Test
  void aDamagedStateIsRefused() {
    ResumableSha256 sha = new ResumableSha256();
    sha.update(new byte[70], 0, 70);
    byte[] saved = sha.save();
    byte[] truncated = java.util.Arrays.copyOf(saved, saved.length - 1);
    assertThatThrownBy(() -> ResumableSha256.restore(truncated)).isInstanceOf(IllegalArgumentException.class);
  }
}

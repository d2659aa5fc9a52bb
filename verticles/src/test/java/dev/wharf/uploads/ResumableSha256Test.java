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
      for (boolean useJdk : new boolean[] {true, false}) {
        ResumableSha256 sha = ResumableSha256.fresh(useJdk);
        sha.update(bytes, 0, n);
        assertThat(sha.hex()).as("length %d, jdk %s", n, useJdk).isEqualTo(jdk(bytes));
      }
    }
    assertThat(new ResumableSha256().hex()).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  @Test
  void aSavedStateContinuesTheSameDigestAtAnyCut() throws Exception {
    byte[] bytes = new byte[10_000];
    new Random(8).nextBytes(bytes);
    for (int cut : new int[] {0, 1, 63, 64, 65, 4095, 9_999, 10_000}) {
      ResumableSha256 first = ResumableSha256.fresh(false);
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
  void theFastEngineIsInUseUnderTheProjectsJvmFlags() {
    // The surefire argLine opens the JDK's digest as the wharf jars' manifests do.
    assertThat(ResumableSha256.engine()).isEqualTo("jdk");
  }

  @Test
  void bothEnginesAgreeAndAStateSavedByOneRestoresIntoTheOther() throws Exception {
    byte[] bytes = new byte[100_003];
    new Random(9).nextBytes(bytes);
    for (boolean firstJdk : new boolean[] {true, false}) {
      for (int cut : new int[] {0, 5, 64, 1000, 77_777}) {
        ResumableSha256 first = ResumableSha256.fresh(firstJdk);
        first.update(bytes, 0, cut);
        ResumableSha256 second = ResumableSha256.restore(first.save(), !firstJdk);
        assertThat(second.count()).isEqualTo(cut);
        second.update(bytes, cut, bytes.length - cut);
        assertThat(second.hex()).as("jdk first %s, cut %d", firstJdk, cut).isEqualTo(jdk(bytes));
        // hex() leaves the digest as it was.
        assertThat(second.hex()).isEqualTo(jdk(bytes));
      }
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
